/** Lost hosts: three heartbeat periods of silence while connected, with the clock passed in. */
import assert from "node:assert/strict";
import { Liveness } from "../../controller/liveness.ts";

Deno.test("a host is lost after three silent heartbeat periods", () => {
  const l = new Liveness();
  l.watch("a", 0, 1000);
  l.watch("b", 0, 1000);
  l.heard("b", 2500);
  assert.deepEqual(l.silent(3000), []);
  assert.deepEqual(l.silent(3001), [{ host: "a", ms: 3001 }]);
  assert.deepEqual(l.silent(5501).map((s) => s.host), ["a", "b"]);
});

Deno.test("presence bodies set the period; 0 turns silence detection off", () => {
  const l = new Liveness();
  l.watch("a", 0);
  assert.deepEqual(l.silent(14_000), [], "default period 5 s");
  l.heard("a", 0, 200);
  assert.equal(l.silent(601).length, 1);
  l.heard("a", 700, 0);
  assert.deepEqual(l.silent(1_000_000), []);
});

Deno.test("after a reconnect the time spent disconnected does not count", () => {
  const l = new Liveness();
  l.watch("a", 0, 1000);
  l.restart(10_000);
  assert.deepEqual(l.silent(12_000), []);
  l.unwatch("a");
  assert.deepEqual(l.silent(100_000), []);
});
