/**
 * The wall clock to a µs (protocol/runtime/precise_clock.ts) and the wait
 * for an instant (agent/instant.ts): readings agree with Date.now()'s
 * milliseconds, a wait never ends before its instant, a cancelled one never
 * runs, one already past runs at once.
 */
import assert from "node:assert/strict";
import { preciseNow, toMicros } from "../../protocol/runtime/precise_clock.ts";
import { atInstant } from "../../agent/instant.ts";

Deno.test("preciseNow reads the wall clock: between Date.now() before and after", () => {
  for (let i = 0; i < 50; i++) {
    const before = Date.now();
    const t = preciseNow(i % 10 === 0 ? 0 : Infinity); // re-anchored now and then
    const after = Date.now() + 1; // Date.now() rounds down
    // The anchor sits within a few µs of a tick: allow that much on either side.
    assert.ok(t >= before - 0.05 && t <= after + 0.05, `${t} not in [${before}, ${after}]`);
  }
  assert.equal(toMicros(1796456505123.4567), 1796456505123457);
});

Deno.test("preciseNow never goes back between two reads", () => {
  let last = preciseNow();
  for (let i = 0; i < 10_000; i++) {
    const t = preciseNow();
    assert.ok(t >= last, `${t} < ${last}`);
    last = t;
  }
});

Deno.test("atInstant runs at the instant, never before it", async () => {
  for (const ahead of [1, 5, 30, 100]) {
    const at = preciseNow() + ahead;
    const ran = await new Promise<number>((resolve) => atInstant(at, () => resolve(preciseNow())));
    assert.ok(ran >= at, `ran ${at - ran} ms early`);
  }
});

Deno.test("atInstant: an instant past runs at once; a cancelled wait never runs", async () => {
  let ran = false;
  const cancel = atInstant(preciseNow() - 10, () => ran = true);
  assert.ok(ran, "ran synchronously");
  assert.equal(cancel(), false, "too late to cancel");
  let late = false;
  // Far enough ahead for a timer (a nearer one is waited for at once, blocking).
  const stop = atInstant(preciseNow() + 200, () => late = true);
  assert.equal(stop(), true);
  // Past the instant and the timer that would have fired: nothing ran.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(late, false);
});
