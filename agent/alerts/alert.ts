/**
 * An alert: a supervised process that died unexpectedly, or a program that
 * the supervisor gave up on (FATAL). The same JSON object goes to every
 * destination (`--alert-exec`'s stdin, `--alert-webhook`'s body, the syslog
 * line's message), so one parser serves them all.
 */
import type { ProgramEvent } from "../../protocol/program_messages.ts";

/** `exited`: an unexpected death (not in `exitcodes`, or killed, or dead while starting). */
export type AlertKind = "exited" | "fatal";

export interface Alert {
  kind: AlertKind;
  host: string;
  /** ISO 8601, UTC. */
  time: string;
  program: string;
  process: string;
  /** The state the process entered: EXITED, BACKOFF or FATAL. */
  state: string;
  from: string;
  pid: number | null;
  code: number | null;
  signal: string | null;
  message: string;
  /** Alerts of this kind left out by the rate limit since the last one sent. */
  suppressed: number;
}

/** The alert a supervision event is, or null when it is none. */
export function alertOf(host: string, e: ProgramEvent): Omit<Alert, "suppressed"> | null {
  if (e.type !== "state") return null;
  const died = (e.to === "EXITED" && e.expected === false) ||
    // Died before starttime: a run ended (it had a pid), it did not fail to spawn.
    (e.to === "BACKOFF" && e.pid !== undefined);
  if (!died && e.to !== "FATAL") return null;
  return {
    kind: e.to === "FATAL" ? "fatal" : "exited",
    host,
    time: new Date(e.time).toISOString(),
    program: e.program,
    process: e.process,
    state: e.to,
    from: e.from,
    pid: e.pid ?? null,
    code: e.code ?? null,
    signal: e.signal ?? null,
    message: e.message,
  };
}
