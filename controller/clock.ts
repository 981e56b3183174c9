/**
 * The `clock` exchange, a strategy on the broadcast core: how far each
 * selected host's clock is from this controller's (clock_estimate.ts), for a
 * run that starts on every host at one instant (synced_run.ts).
 *
 * - Rounds: a round is one `clock` broadcast carrying `t0`, this
 *   controller's clock as it goes out; each host answers with it and its own
 *   `t1`, `t2`, and the answer's arrival is `t3`. The next round goes out
 *   once every host known to answer has answered this one, or after
 *   ROUND_WAIT_MS. ROUNDS rounds at least; while the selection is still
 *   being discovered (a glob) or a named host is silent, one more every
 *   ROUND_WAIT_MS, up to MAX_ROUNDS.
 * - The end: once the rounds are done and the expectation is complete
 *   (every named host answered, or discovery ended, or the silent ones are
 *   overdue), or at `endBy` (a start instant must leave time to send the
 *   run) with whatever samples came by then.
 * - A host that answers with an error is not measured: an agent that does
 *   not know `clock` (ENOSYS) is older than this controller and would start
 *   a process at once instead of at the instant, so it is left out of the
 *   run. A host with no sample at all is ENORESPONSE.
 */
import type { Msg } from "@nats-io/transport-node";
import { parseClockReply } from "../protocol/clock_messages.ts";
import type { WireError } from "../protocol/errors.ts";
import { preciseNow, toMicros } from "../protocol/runtime/precise_clock.ts";
import { Broadcast, type RawReply } from "./broadcast/broadcast.ts";
import { silenceReason } from "./broadcast/expectation.ts";
import type { Scope } from "./broadcast/scope.ts";
import { type ClockEstimate, type ClockSample, delayOf, estimateOffset } from "./clock_estimate.ts";
import { errorStatus, type HostOutcome } from "./events.ts";
import type { ResolvedTarget } from "./target.ts";

/** Rounds of samples every host is asked for. */
const ROUNDS = 8;
/** Rounds at most, while waiting for hosts to be discovered or to answer. */
const MAX_ROUNDS = 16;
/** A round is over after this, whoever has not answered it. */
const ROUND_WAIT_MS = 200;
/** A reading of the precise clock re-anchors it when its anchor is older. */
const ANCHOR_AGE_MS = 5000;

export interface ClockOptions {
  /** Stop measuring by then (ms since the epoch): hosts with a sample are measured. */
  endBy?: number;
}

export interface ClockResult {
  /** Each measured host's clock against this controller's. */
  estimates: Map<string, ClockEstimate>;
  /** Hosts that could not be measured, and why (ENOSYS, ENORESPONSE, ...). */
  failures: HostOutcome[];
  /** The slowest host's typical round trip (the median of its samples), ms. */
  roundTrip: number;
}

export class ClockOperation extends Broadcast<never, ClockResult> {
  readonly #samples = new Map<string, ClockSample[]>();
  readonly #errors = new Map<string, WireError>();
  /** The `t0` of each round sent: an answer must carry one of them. */
  readonly #sent = new Set<number>();
  #rounds = 0;
  #roundT0 = 0;
  #roundAt = 0;
  /** Hosts (measurable ones) that answered the current round. */
  readonly #answeredRound = new Set<string>();
  readonly #endBy: number;

  constructor(scope: Scope, resolved: ResolvedTarget, opts: ClockOptions = {}) {
    super(scope, resolved, {
      verb: "clock",
      body: {},
      byeGraceMs: 0,
      owed: "answering",
      presence: false,
    });
    this.#endBy = opts.endBy ?? Infinity;
    this.open();
  }

  protected override begin(): void {
    this.#round();
  }

  #round(): void {
    this.#rounds++;
    this.#answeredRound.clear();
    this.#roundAt = Date.now();
    // Read last, as it goes out: anything later counts as network delay.
    this.#roundT0 = toMicros(preciseNow(ANCHOR_AGE_MS));
    this.#sent.add(this.#roundT0);
    this.send("clock", { t0: this.#roundT0 }, this.resolved.target);
  }

  protected onReply(kind: string, r: RawReply, m: Msg): void {
    const t3 = preciseNow();
    if (kind !== "clock" || !this.answering(r.host, m.subject)) return;
    if (!r.ok) {
      this.#errors.set(r.host, clockError(r.error));
      return this.changed();
    }
    const c = parseClockReply(r);
    if (!this.#sent.has(c.t0)) {
      return this.ignore(m.subject, r.host, {
        code: "EBADMSG",
        message: `a clock reply for a t0 (${c.t0}) this controller did not send`,
      });
    }
    let samples = this.#samples.get(r.host);
    if (!samples) this.#samples.set(r.host, samples = []);
    samples.push({ t0: c.t0 / 1000, t1: c.t1 / 1000, t2: c.t2 / 1000, t3 });
    if (c.t0 === this.#roundT0 && !this.#errors.has(r.host)) this.#answeredRound.add(r.host);
    this.changed();
  }

  protected decide(now: number): void {
    if (now >= this.#endBy) return this.#finish();
    const measurable = this.exp.hosts.size - this.#errors.size;
    const roundOver = now >= this.#roundAt + ROUND_WAIT_MS ||
      (measurable > 0 && this.#answeredRound.size >= measurable);
    const expected = this.exp.complete(now);
    // Every host answered with an error (agents too old, say): nothing to measure.
    if (expected && measurable === 0) return this.#finish();
    if (roundOver && this.#rounds >= ROUNDS && expected) return this.#finish();
    if (roundOver && this.#rounds < MAX_ROUNDS) {
      // Past the first ROUNDS, only paced rounds while hosts are still awaited.
      if (this.#rounds < ROUNDS || now >= this.#roundAt + ROUND_WAIT_MS) this.#round();
    }
    if (roundOver && this.#rounds >= MAX_ROUNDS && expected) return this.#finish();
    this.wakeAt(Math.min(this.#roundAt + ROUND_WAIT_MS, this.#endBy));
  }

  /** After a reconnect: a new round (the core's default would re-send a request without `t0`). */
  protected override onReconnect(): void {
    this.exp.restart(Date.now());
    this.#round();
    this.changed();
  }

  protected lost(): void {
    // Nothing is followed: a host that does not answer is simply not measured.
  }

  #finish(): void {
    const estimates = new Map<string, ClockEstimate>();
    const failures: HostOutcome[] = [];
    let roundTrip = 0;
    const silence = Date.now() >= this.#endBy
      ? "no answer to clock in time to start at the instant"
      : silenceReason(this.exp, this.began, this.scope.link.subjects.prefix);
    for (const host of this.exp.hosts) {
      const error = this.#errors.get(host);
      const estimate = error ? null : estimateOffset(this.#samples.get(host) ?? []);
      if (estimate) {
        estimates.set(host, estimate);
        roundTrip = Math.max(roundTrip, median(this.#samples.get(host)!.map(delayOf)));
        continue;
      }
      const why: WireError = error ?? { code: "ENORESPONSE", message: silence };
      failures.push({ host, status: errorStatus(why), error: why });
    }
    this.finish({ estimates, failures, roundTrip });
  }
}

/** An agent that does not know `clock` would start the process at once: it is left out. */
function clockError(e: WireError): WireError {
  if (e.code !== "ENOSYS") return e;
  return {
    code: "ENOSYS",
    message: 'the agent does not know "clock" (it is older than this controller): ' +
      "it cannot start a process at an instant, so it was not asked to",
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[(s.length - 1) >> 1];
}
