/**
 * The hosts an operation follows: those that owe it an answer (a run's
 * exit, a watch's outcome, an acknowledged action's result). Each one is
 * lost (`ELOST`) when its agent says `bye` and the answer has not come
 * within the grace, or when nothing came from it for three heartbeats —
 * a silence confirmed by a round trip to the server first (presence.ts), so
 * that a controller that fell behind never loses a healthy host.
 */
import type { WireError } from "../../protocol/errors.ts";
import type { Presence } from "../../protocol/messages.ts";

/** What judging silences needs of the connection's presence tracker (presence.ts). */
export interface Silences {
  /** How long `host` has been silent at `now`, counted from `since`, when that is too long. */
  overdue(host: string, now: number, since: number): number | undefined;
  /** Resolves with the time a server round trip began, once everything sent before it is in. */
  roundTrip(): Promise<number>;
}

export interface FollowPolicy {
  /** After `bye`, how long the answer may still come. */
  byeGraceMs: number;
  /** What a host that said bye failed to do, for the message ("reporting an exit"). */
  owed: string;
}

interface Entry {
  since: number;
  byeAt?: number;
}

export class Followed {
  readonly #hosts = new Map<string, Entry>();
  #confirming = false;

  constructor(
    private readonly presence: Silences,
    private readonly policy: FollowPolicy,
    /** Told of each lost host, once; `after` runs deferred work through the operation's guard. */
    private readonly lost: (host: string, error: WireError) => void,
    private readonly after: (fn: () => void) => void,
  ) {}

  get size(): number {
    return this.#hosts.size;
  }

  add(host: string, now = Date.now()): void {
    if (!this.#hosts.has(host)) this.#hosts.set(host, { since: now });
  }

  delete(host: string): void {
    this.#hosts.delete(host);
  }

  /** A `bye` starts the grace of a followed host; a `hello` (it came back) ends it. */
  heard(host: string, p: Presence, now: number): void {
    const e = this.#hosts.get(host);
    if (e && p.type === "bye") e.byeAt ??= now;
    else if (e && p.type === "hello") e.byeAt = undefined;
  }

  /** Byes past their grace are lost now; silences are suspected, then confirmed. */
  check(now: number): void {
    for (const [host, e] of this.#hosts) {
      if (e.byeAt !== undefined && now - e.byeAt > this.policy.byeGraceMs) {
        this.#lose(host, `the agent stopped (bye) without ${this.policy.owed}`);
      }
    }
    if (this.#confirming || !this.#suspect(now)) return;
    this.#confirming = true;
    this.presence.roundTrip().then((at) => {
      this.#confirming = false;
      this.after(() => this.#confirm(at));
    }, () => {
      // The link went down meanwhile: silence proves nothing until it is back.
      this.#confirming = false;
    });
  }

  #suspect(now: number): boolean {
    for (const [host, e] of this.#hosts) {
      if (this.presence.overdue(host, now, e.since) !== undefined) return true;
    }
    return false;
  }

  /** Everything the server sent before `at` has been handled: a host silent then is lost. */
  #confirm(at: number): void {
    for (const [host, e] of [...this.#hosts]) {
      const ms = this.presence.overdue(host, at, e.since);
      if (ms !== undefined) {
        this.#lose(host, `no heartbeat from ${host} for ${(ms / 1000).toFixed(1)}s`);
      }
    }
  }

  #lose(host: string, message: string): void {
    if (!this.#hosts.delete(host)) return;
    this.lost(host, { code: "ELOST", message });
  }
}
