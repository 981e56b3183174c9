/**
 * Doing something at an instant of the wall clock, to a fraction of a
 * millisecond (`run` with `startUs`): a timer sleeps until shortly before
 * it (a timer wakes up a millisecond or more late, and later on a busy
 * machine), then the thread sleeps in a futex wait (Atomics.wait: woken
 * within about 0.1 ms, without a core spent on it) until just before the
 * instant, and a busy loop on `performance.now()` waits out the last
 * SPIN_MS. One waiter alone on a loaded 2-core machine: this and a 2 ms
 * spin after the timer were as precise (a few µs at the median), a timer
 * alone 0.6 ms late; and several keepers on one machine (a test bed) do
 * not burn the cores their neighbours need at the same instant. The
 * instant is read again before each timer is armed, so a long wait follows
 * a wall clock that was stepped or slewed meanwhile.
 */
import { preciseNow } from "../protocol/runtime/precise_clock.ts";
import { setLongTimeout } from "../protocol/runtime/timers.ts";

/**
 * The timer wakes this long before the instant; the rest is a futex wait,
 * then a spin. Long enough to absorb a late timer on a busy machine, short
 * enough that the event loop it blocks (the keeper's pipes, the agent's
 * requests) does not mind.
 */
const NAP_MS = 20;
/** The last stretch is waited for by spinning: it costs this much of a core per instant. */
export const SPIN_MS = 0.3;
/** What Atomics.wait sleeps on: nobody ever wakes it, its timeout does. */
const CELL = new Int32Array(new SharedArrayBuffer(4));
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
    if (left > NAP_MS) {
      const sleep = left > RECHECK_MS + NAP_MS ? left - RECHECK_MS : left - NAP_MS;
      cancelTimer = setLongTimeout(arm, sleep);
      return;
    }
    const end = performance.now() + left;
    const nap = end - SPIN_MS - performance.now();
    if (nap > 0) Atomics.wait(CELL, 0, 0, nap);
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
