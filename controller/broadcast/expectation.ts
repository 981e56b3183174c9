/**
 * Which hosts a broadcast waits for, and until when.
 *
 * - A selector that names its hosts exactly expects exactly those; each one
 *   that has not answered `ackTimeoutMs` after the request is overdue
 *   ("no response").
 * - A glob or label selector expects the known hosts it matches plus every
 *   host that answers. Discovery ends once no new answer came for `quietMs`,
 *   at least `minWindowMs` after the request (and at the latest at
 *   `ackTimeoutMs`); a known host that has not answered by then is overdue.
 *
 * Time is passed in (`now`) so the rules are tested without a clock. An
 * overdue host that answers before the operation ends is simply answered.
 *
 * Every question asked per reply (`answer`, `complete`) is O(1): a
 * broadcast to 10,000 hosts asks them 10,000 times. Only `silent()` walks
 * the hosts, and it is asked once, at the end or on a re-send.
 */
import type { KnownHosts } from "../known_hosts.ts";
import type { ResolvedTarget } from "../target.ts";

export interface ExpectationTimes {
  /** A named host that has not answered by then is "no response" (default 5 s). */
  ackTimeoutMs: number;
  /** Discovery: silence that ends it (default 300 ms) ... */
  quietMs: number;
  /** ... but not before this (default 1 s). */
  minWindowMs: number;
}

export const DEFAULT_TIMES: ExpectationTimes = {
  ackTimeoutMs: 5000,
  quietMs: 300,
  minWindowMs: 1000,
};

export class Expectation {
  /** Every host expected or answered. */
  readonly hosts = new Set<string>();
  readonly answered = new Set<string>();
  readonly explicit: boolean;
  #sent: number;
  #lastAnswer: number;
  #closed = false;

  constructor(
    resolved: ResolvedTarget,
    known: KnownHosts,
    readonly times: ExpectationTimes,
    now: number,
  ) {
    this.#sent = now;
    this.#lastAnswer = now;
    this.explicit = resolved.explicit !== null;
    if (resolved.explicit !== null) {
      for (const h of resolved.explicit) this.hosts.add(h);
    } else {
      for (const [h, info] of known.entries()) {
        if (resolved.matches(h, info.labels)) this.hosts.add(h);
      }
    }
  }

  /** Records an answer; false when the host is not one this selector names (ignore it). */
  answer(host: string, now: number): boolean {
    if (this.explicit && !this.hosts.has(host)) return false;
    if (!this.answered.has(host)) {
      this.answered.add(host);
      this.hosts.add(host);
      this.#lastAnswer = now;
    }
    return true;
  }

  /** Nobody listens on the subject at all ("503 no responders"): nothing more will answer. */
  nobody(): void {
    this.#closed = true;
  }

  /** Whether the broker said that nobody listens. */
  get nobodyListens(): boolean {
    return this.#closed;
  }

  /** The request went out again (after a reconnect): the clock starts over for the silent ones. */
  restart(now: number): void {
    if (this.#closed) return;
    this.#sent = now;
    this.#lastAnswer = now;
  }

  /** When the set of hosts is final: at once for a named set, else the end of discovery. */
  settledAt(): number {
    if (this.#closed) return -Infinity;
    if (this.explicit) return this.#sent;
    const t = this.times;
    const end = Math.max(this.#sent + t.minWindowMs, this.#lastAnswer + t.quietMs);
    return Math.min(end, this.#sent + t.ackTimeoutMs);
  }

  settled(now: number): boolean {
    return now >= this.settledAt();
  }

  /** When a host still silent counts as "no response". */
  overdueAt(): number {
    if (this.#closed) return -Infinity;
    return this.explicit ? this.#sent + this.times.ackTimeoutMs : this.settledAt();
  }

  /** The expected hosts that have not answered (overdue or not). */
  silent(): string[] {
    if (this.silentCount === 0) return [];
    return [...this.hosts].filter((h) => !this.answered.has(h));
  }

  /** How many expected hosts have not answered (every answered host is in `hosts`). */
  get silentCount(): number {
    return this.hosts.size - this.answered.size;
  }

  /** Whether nothing more is worth waiting for, given that every answered host is done. */
  complete(now: number): boolean {
    return this.settled(now) && (now >= this.overdueAt() || this.silentCount === 0);
  }
}

/** The message of an `ENORESPONSE`: why the silent hosts are reported. */
export function silenceReason(exp: Expectation, sent: number, prefix: string): string {
  if (exp.nobodyListens) return `no agent with prefix "${prefix}" is connected to the broker`;
  return `no answer within ${((Date.now() - sent) / 1000).toFixed(1)}s`;
}
