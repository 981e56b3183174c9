/**
 * Doing something at an instant of the wall clock, to a fraction of a
 * millisecond (`run` with `startUs`): a timer sleeps until shortly before
 * it, and a busy loop on `performance.now()` waits out the last SPIN_MS, as
 * a timer alone wakes up a few milliseconds late on a busy machine. The
 * instant is read again before each timer is armed, so a long wait follows
 * a wall clock that was stepped or slewed meanwhile.
 */
import { preciseNow } from "../protocol/runtime/precise_clock.ts";
import { setLongTimeout } from "../protocol/runtime/timers.ts";

/** The last stretch is waited for by spinning: it costs this much of a core per instant. */
export const SPIN_MS = 2;
/** A long wait is checked against the wall clock again this long before the end. */
const RECHECK_MS = 1000;
/** The anchor of the precise clock is at most this old when the wait is decided. */
export const ANCHOR_AGE_MS = 5000;

/**
 * Calls `fn` at `atMs` (ms since the epoch on this host's wall clock), or at
 * once when it has passed. Returns the cancellation (false once `fn` ran).
 */
export function atInstant(atMs: number, fn: () => void): () => boolean {
  let cancelTimer = () => {};
  let done = false;
  const arm = () => {
    const left = atMs - preciseNow(ANCHOR_AGE_MS);
    if (left > SPIN_MS) {
      const sleep = left > RECHECK_MS + SPIN_MS ? left - RECHECK_MS : left - SPIN_MS;
      cancelTimer = setLongTimeout(arm, sleep);
      return;
    }
    const end = performance.now() + left;
    while (performance.now() < end) {
      // The last stretch: no timer is that precise.
    }
    done = true;
    fn();
  };
  arm();
  return () => {
    if (done) return false;
    cancelTimer();
    done = true;
    return true;
  };
}
