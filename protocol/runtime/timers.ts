/**
 * Timers that keep their word for any delay a user may give. `setTimeout`
 * holds its delay in a signed 32-bit integer: past 2^31−1 ms (24.8 days) it
 * fires at once, so `run --timeout 30d` would kill at once. Every timer that
 * takes a user-given duration goes through `setLongTimeout`; every wait for
 * "this, or give up after a while" through `withTimeout`.
 */

/** setTimeout's largest delay; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What setLongTimeout arms its timers with: the global ones, or a test's fake. */
export interface TimerClock {
  /** Answers an id for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** The longest delay one timer may be given. */
  max: number;
}

type SystemTimerId = ReturnType<typeof setTimeout>;

const SYSTEM_CLOCK: TimerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as SystemTimerId),
  max: MAX_TIMER_MS,
};

/** The system's timers, unreferenced: they do not keep the process alive (Deno.unrefTimer). */
export const UNREF_CLOCK: TimerClock = {
  setTimeout: (fn, ms) => {
    const id = setTimeout(fn, ms);
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (id) => clearTimeout(id as SystemTimerId),
  max: MAX_TIMER_MS,
};

/**
 * Calls `fn` once `ms` have passed, chaining timers of at most `clock.max`
 * ms; `Infinity` never fires. Returns a function that cancels it (calling
 * it after `fn` ran does nothing).
 */
export function setLongTimeout(
  fn: () => void,
  ms: number,
  clock: TimerClock = SYSTEM_CLOCK,
): () => void {
  let left = Math.max(0, ms);
  let id: unknown;
  const arm = () => {
    const step = Math.min(left, clock.max);
    left -= step;
    id = clock.setTimeout(left > 0 ? arm : fn, step);
  };
  arm();
  return () => clock.clearTimeout(id);
}

/** Calls `fn` every `ms`, however long; returns a function that stops it. */
export function setLongInterval(
  fn: () => void,
  ms: number,
  clock: TimerClock = SYSTEM_CLOCK,
): () => void {
  let cancel = () => {};
  const tick = () => {
    cancel = setLongTimeout(tick, ms, clock);
    fn();
  };
  cancel = setLongTimeout(tick, ms, clock);
  return () => cancel();
}

/**
 * The error of a wait that ran out. It is made when the wait starts, so its
 * stack names who waited (as nats.js's `timeout()` does); an error that
 * reports it to users carries it as `cause`.
 */
export class TimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms}ms`);
    this.name = "TimeoutError";
  }
}

/**
 * What `p` settles to, or, if `ms` pass first, what `late` returns (or
 * throws); without `late`, a rejection with a TimeoutError. The timer is
 * cleared either way, so it never holds the process open; `p` itself goes on.
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T>;
export function withTimeout<T, U>(
  p: Promise<T>,
  ms: number,
  late: (timeout: TimeoutError) => U,
): Promise<T | U>;
export async function withTimeout<T, U>(
  p: Promise<T>,
  ms: number,
  late?: (timeout: TimeoutError) => U,
): Promise<T | U> {
  const timeout = new TimeoutError(ms);
  let cancel = () => {};
  const ran = new Promise<U>((resolve, reject) => {
    cancel = setLongTimeout(() => {
      if (!late) return reject(timeout);
      try {
        resolve(late(timeout));
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
  try {
    return await Promise.race([p, ran]);
  } finally {
    cancel();
  }
}
