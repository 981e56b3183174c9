/**
 * The wall clock with sub-millisecond precision. `Date.now()` is the system's
 * real-time clock (what `date +%s.%N` and every log of an experiment read)
 * but in whole milliseconds; `performance.now()` has microseconds but is
 * monotonic and counts from this process's start. A synchronised start
 * (`run --at`) needs the first at the precision of the second, so this
 * anchors one to the other: it watches `Date.now()` tick to its next
 * millisecond and reads `performance.now()` at that edge (a spin of at most
 * 1 ms), then reads the wall clock as `performance.now()` plus that anchor.
 *
 * The anchor is checked against `Date.now()` on every read: a wall clock
 * stepped (by NTP, by hand) by more than about a millisecond is re-anchored
 * at once. Slower divergence (NTP slewing the wall clock, at most 0.5 ms per
 * second) is caught by re-anchoring a read that asks for a fresh anchor
 * (`maxAgeMs`): the clock exchange and the wait for an instant ask for one
 * a few seconds old at most.
 */

/** performance.now() + this = ms since the epoch on the wall clock. */
let anchor: number | null = null;
/** When (performance.now()) the anchor was taken. */
let anchoredAt = -Infinity;

/** A clean edge: the two readings around it at most this far apart (ms). */
const EDGE_WIDTH_MS = 0.02;
const TRIES = 5;

/**
 * ms since the epoch, with a fraction: the system's wall clock at about a
 * microsecond. `maxAgeMs`: re-anchor first when the anchor is older (a spin
 * of up to 1 ms).
 */
export function preciseNow(maxAgeMs = Infinity): number {
  const p = performance.now();
  if (anchor === null || p - anchoredAt > maxAgeMs) reanchor();
  else {
    // Date.now() is the wall clock rounded down: the true time is in [wall, wall + 1).
    const wall = Date.now();
    const est = p + anchor;
    if (est < wall - 0.5 || est > wall + 1.5) reanchor();
  }
  return performance.now() + anchor!;
}

/** Takes the anchor at a tick of `Date.now()`; the narrowest of a few tries if none is clean. */
function reanchor(): void {
  let best: { width: number; anchor: number } | null = null;
  for (let i = 0; i < TRIES; i++) {
    const edge = tickEdge();
    if (best === null || edge.width < best.width) best = edge;
    if (edge.width <= EDGE_WIDTH_MS) break;
  }
  anchor = best!.anchor;
  anchoredAt = performance.now();
}

/**
 * Spins until `Date.now()` moves on. The new millisecond began after the
 * last reading that still gave the old one and before the one that gave the
 * new: the anchor is the new value at the middle of the two, and `width`
 * how far apart they were (a preemption in between makes it wide).
 */
function tickEdge(): { width: number; anchor: number } {
  // `lo` is always read just before the latest reading that gave the old millisecond.
  let lo = performance.now();
  const start = Date.now();
  for (;;) {
    const pre = performance.now();
    const wall = Date.now();
    const post = performance.now();
    if (wall !== start) return { width: post - lo, anchor: wall - (lo + post) / 2 };
    lo = pre;
  }
}

/** ms with a fraction → whole µs, as the wire carries precise times. */
export function toMicros(ms: number): number {
  return Math.round(ms * 1000);
}
