/**
 * Which hosts have gone quiet: a host is lost when no presence message came
 * from it for three of its heartbeat periods while the controller itself was
 * connected (PROTOCOL.md, Presence). Time is passed in, so the rule is
 * tested without a clock.
 */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** Heartbeat periods of silence after which a host is lost. */
export const MISSED_BEATS = 3;

interface Watched {
  last: number;
  period: number;
}

export class Liveness {
  readonly #hosts = new Map<string, Watched>();

  /** Starts watching `host` as if it had just been heard (period from a cache or presence). */
  watch(host: string, now: number, periodMs = DEFAULT_HEARTBEAT_MS): void {
    if (!this.#hosts.has(host)) this.#hosts.set(host, { last: now, period: periodMs });
  }

  unwatch(host: string): void {
    this.#hosts.delete(host);
  }

  /** A presence message from `host`; its body names the period (0: beats are off). */
  heard(host: string, now: number, periodMs?: number): void {
    const w = this.#hosts.get(host);
    if (!w) return;
    w.last = now;
    if (periodMs !== undefined) w.period = periodMs;
  }

  /** After a reconnect: the time spent disconnected does not count against anyone. */
  restart(now: number): void {
    for (const w of this.#hosts.values()) w.last = now;
  }

  /** Hosts silent for too long, with how long. */
  silent(now: number): { host: string; ms: number }[] {
    const out: { host: string; ms: number }[] = [];
    for (const [host, w] of this.#hosts) {
      if (w.period > 0 && now - w.last > MISSED_BEATS * w.period) {
        out.push({ host, ms: now - w.last });
      }
    }
    return out;
  }
}
