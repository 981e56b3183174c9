// Timers past setTimeout's limit (2^31-1 ms, 24.8 days) chain instead of firing at once; the
// chaining is checked with a fake clock whose longest timer is 10 ms, so nothing waits.
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { TuttiError } from "../../protocol/errors.ts";
import {
  MAX_TIMER_MS,
  setLongInterval,
  setLongTimeout,
  TimeoutError,
  type TimerClock,
  withTimeout,
} from "../../protocol/runtime/timers.ts";

/** A clock that records the delays asked for and fires only when told to. */
class FakeClock implements TimerClock {
  readonly delays: number[] = [];
  readonly pending = new Map<number, () => void>();
  #next = 1;
  constructor(readonly max: number) {}
  setTimeout(fn: () => void, ms: number): number {
    ok(ms <= this.max, `a timer of ${ms} ms exceeds the clock's ${this.max}`);
    this.delays.push(ms);
    this.pending.set(this.#next, fn);
    return this.#next++;
  }
  clearTimeout(id: unknown): void {
    this.pending.delete(id as number);
  }
  /** Fires every pending timer once (those it arms wait for the next call). */
  fire(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const fn of due) fn();
  }
}

Deno.test("setLongTimeout: a delay past the clock's limit is chained, fired once at its end", () => {
  const clock = new FakeClock(10);
  let fired = 0;
  setLongTimeout(() => fired++, 35, clock);
  for (let i = 0; i < 3; i++) {
    clock.fire();
    strictEqual(fired, 0, `not after ${clock.delays.slice(0, i + 1).join("+")} ms`);
  }
  clock.fire();
  strictEqual(fired, 1);
  deepStrictEqual(clock.delays, [10, 10, 10, 5]);
  strictEqual(clock.pending.size, 0);
});

Deno.test("setLongTimeout: 30 days with the real limit takes two timers, none above it", () => {
  const clock = new FakeClock(MAX_TIMER_MS);
  let fired = false;
  setLongTimeout(() => fired = true, 30 * 86_400_000, clock);
  clock.fire();
  strictEqual(fired, false);
  clock.fire();
  strictEqual(fired, true);
  deepStrictEqual(clock.delays, [MAX_TIMER_MS, 30 * 86_400_000 - MAX_TIMER_MS]);
});

Deno.test("setLongTimeout: cancel stops it between links; Infinity never fires", () => {
  const clock = new FakeClock(10);
  let fired = false;
  const cancel = setLongTimeout(() => fired = true, 25, clock);
  clock.fire();
  cancel();
  strictEqual(clock.pending.size, 0);
  clock.fire();
  strictEqual(fired, false);
  const forever = setLongTimeout(() => fired = true, Infinity, clock);
  for (let i = 0; i < 100; i++) clock.fire();
  strictEqual(fired, false);
  forever();
  strictEqual(clock.pending.size, 0);
});

Deno.test("setLongInterval: fires every period, each one chained; stops when told", () => {
  const clock = new FakeClock(10);
  let ticks = 0;
  const stop = setLongInterval(() => ticks++, 20, clock);
  for (let i = 0; i < 6; i++) clock.fire();
  strictEqual(ticks, 3);
  stop();
  strictEqual(clock.pending.size, 0);
});

Deno.test("withTimeout: the promise's value when it settles first, and the timer is cleared", async () => {
  // A pending timer would fail this test: Deno's sanitizer reports leaked timers.
  strictEqual(await withTimeout(Promise.resolve(7), 60_000), 7);
  await rejects(withTimeout(Promise.reject(new Error("boom")), 60_000), /boom/);
});

Deno.test("withTimeout: late's value, or a TimeoutError, when time runs out first", async () => {
  const never = new Promise<number>(() => {});
  strictEqual(await withTimeout(never, 1, () => "late"), "late");
  await rejects(withTimeout(never, 1), (e: unknown) => e instanceof TimeoutError && e.ms === 1);
});

Deno.test("withTimeout: an error made from the timeout carries it as cause", async () => {
  const never = new Promise<number>(() => {});
  await rejects(
    withTimeout(never, 1, (timeout) => {
      throw new TuttiError("ETIMEDOUT", "still in progress", { cause: timeout });
    }),
    (e: unknown) =>
      e instanceof TuttiError && e.code === "ETIMEDOUT" && e.cause instanceof TimeoutError,
  );
});
