/**
 * Which hosts have gone quiet: a host is lost when nothing at all came from
 * it (presence, a reply, an event, output) for three of its heartbeat
 * periods while the controller itself was connected (PROTOCOL.md,
 * Presence). One `Liveness` per connection, fed by every message of every
 * operation; an operation asks about the hosts it follows, from the moment
 * it began to follow them. Time is passed in, so the rule is tested without
 * a clock.
 *
 * The times are when the client *handled* a message, not when the host sent
 * it: a controller that falls behind hears everyone late. So a silence seen
 * here is only a suspicion; `presence.ts` confirms it with a round trip to
 * the server (whatever the server sent before it has been handled once the
 * answer is in) before anyone is declared lost.
 */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** Heartbeat periods of silence after which a host is lost. */
export const MISSED_BEATS = 3;

export class Liveness {
  readonly #last = new Map<string, number>();
  readonly #period = new Map<string, number>();
  #restarted = -Infinity;

  /** Anything from `host`; a presence body also names its period (0: beats are off). */
  heard(host: string, now: number, periodMs?: number): void {
    this.#last.set(host, now);
    if (periodMs !== undefined) this.#period.set(host, periodMs);
  }

  /** After a reconnect: the time spent disconnected does not count against anyone. */
  restart(now: number): void {
    this.#restarted = now;
  }

  /** The heartbeat period of `host` as last announced, else `fallback`, else the default. */
  period(host: string, fallback?: number): number {
    return this.#period.get(host) ?? fallback ?? DEFAULT_HEARTBEAT_MS;
  }

  /**
   * How long `host` has been silent at `now`, counting from `since` at the
   * earliest (when the asker began to follow it), when that is past
   * MISSED_BEATS periods; else undefined.
   */
  overdue(host: string, now: number, since: number, fallbackPeriod?: number): number | undefined {
    const period = this.period(host, fallbackPeriod);
    if (period <= 0) return undefined;
    const from = Math.max(this.#last.get(host) ?? -Infinity, since, this.#restarted);
    const ms = now - from;
    return ms > MISSED_BEATS * period ? ms : undefined;
  }
}
