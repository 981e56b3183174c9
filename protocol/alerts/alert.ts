/**
 * What every alert is, whoever sends it (an agent for its supervised
 * programs, a controller for a lost host or a failed plan step): a JSON
 * object with a kind, the host it is about, the time and a message for
 * people, plus the fields of its kind. The same object goes to every
 * destination (`--alert-exec`'s stdin, `--alert-webhook`'s body, the syslog
 * line), so one parser serves them all.
 */
export interface Alert {
  /** `exited`, `fatal` (an agent's programs); `lost`, `back` (a controller's hosts); ... */
  kind: string;
  host: string;
  /** ISO 8601, UTC. */
  time: string;
  message: string;
  /** Alerts of this kind left out by the rate limit since the last one sent. */
  suppressed: number;
}

/** Where the diagnostics of the sinks go (a failed webhook, an exec that timed out). */
export type AlertLog = (message: string) => void;
