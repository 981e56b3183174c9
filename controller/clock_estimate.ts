/**
 * How far a host's clock is from the controller's, from the samples of a
 * `clock` exchange (NTP's on-wire calculation). One sample is four
 * readings: t0 the controller's clock as it sent the request, t1 the host's
 * as it came, t2 the host's as it answered, t3 the controller's as the
 * answer came. Whatever the network did, the request took a non-negative
 * time and so did the answer, so the host's clock is ahead by an offset θ
 * with
 *
 *     t2 − t3  ≤  θ  ≤  t1 − t0
 *
 * an interval of width `delay` = (t3 − t0) − (t2 − t1), the round trip
 * without the host's own time; its middle is NTP's ((t1 − t0) + (t2 − t3)) / 2
 * and its half-width the error bound, delay / 2. A sample that queued
 * anywhere is wide, so only the lowest-delay samples are kept, and θ lies in
 * each of their intervals: the estimate is the middle of their
 * intersection, its bound half its width (with one sample kept, exactly
 * NTP's). An empty intersection (a clock was stepped during the exchange)
 * falls back to the best sample alone. Pure: tested with made-up samples.
 */

/** One sample, every time in ms since the epoch (with a fraction). */
export interface ClockSample {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
}

export interface ClockEstimate {
  /** The host's clock minus the controller's, ms. */
  offset: number;
  /** The offset is within ± this of the truth, ms. */
  bound: number;
  /** The smallest round trip of the samples (without the host's own time), ms. */
  delay: number;
  /** Samples used, of `samples` received. */
  used: number;
  samples: number;
}

/** The round trip of a sample, without the time the host took to answer. */
export function delayOf(s: ClockSample): number {
  return (s.t3 - s.t0) - (s.t2 - s.t1);
}

/** What one sample says: the offset and its bound (NTP's). */
export function offsetOf(s: ClockSample): { offset: number; bound: number } {
  return { offset: ((s.t1 - s.t0) + (s.t2 - s.t3)) / 2, bound: delayOf(s) / 2 };
}

/**
 * The estimate from `samples`, keeping the `keep` fraction with the lowest
 * delay (at least one); null when no sample is usable (none, or only ones
 * whose host answered before it was asked: a clock stepped meanwhile).
 */
export function estimateOffset(samples: ClockSample[], keep = 0.5): ClockEstimate | null {
  const usable = samples.filter((s) => delayOf(s) >= 0 && [s.t0, s.t1, s.t2, s.t3].every(isFinite));
  if (usable.length === 0) return null;
  const best = [...usable].sort((a, b) => delayOf(a) - delayOf(b))
    .slice(0, Math.max(1, Math.ceil(usable.length * keep)));
  let low = -Infinity;
  let high = Infinity;
  for (const s of best) {
    low = Math.max(low, s.t2 - s.t3);
    high = Math.min(high, s.t1 - s.t0);
  }
  const delay = delayOf(best[0]);
  const common = { delay, used: best.length, samples: samples.length };
  if (low > high) return { ...offsetOf(best[0]), ...common, used: 1 };
  return { offset: (low + high) / 2, bound: (high - low) / 2, ...common };
}

/** A run at an instant is sent at least this long before it. */
export const MIN_LEAD_MS = 250;
/** The clocks are measured until this long before an instant given, at the latest. */
export const CLOCK_END_MS = 400;
/** An instant given must be this far ahead: time to measure the clocks, then to send the run. */
export const MIN_AHEAD_MS = 500;

/**
 * How long before its instant a run must go out to reach every host in
 * time: a few of the slowest typical round trips (a loaded host or broker
 * answers in bursts), never less than MIN_LEAD_MS.
 */
export function leadFor(roundTrip: number): number {
  return Math.max(MIN_LEAD_MS, 50 + 4 * roundTrip);
}
