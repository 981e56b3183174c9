/** Lost hosts: three heartbeat periods of silence while connected, with the clock passed in. */
import assert from "node:assert/strict";
import { Liveness } from "../../controller/broadcast/liveness.ts";

Deno.test("a host is overdue after three silent heartbeat periods, counted from when it is followed", () => {
  const l = new Liveness();
  l.heard("b", 2500, 1000);
  assert.equal(l.overdue("a", 3000, 0, 1000), undefined);
  assert.equal(l.overdue("a", 3001, 0, 1000), 3001);
  assert.equal(l.overdue("b", 5500, 0), undefined, "b was heard at 2500");
  assert.equal(l.overdue("b", 5501, 0), 3001);
  assert.equal(l.overdue("a", 3001, 1000, 1000), undefined, "followed since 1000");
});

Deno.test("presence bodies set the period; 0 turns silence detection off", () => {
  const l = new Liveness();
  assert.equal(l.overdue("a", 14_000, 0), undefined, "default period 5 s");
  assert.equal(l.overdue("a", 15_001, 0), 15_001);
  l.heard("a", 0, 200);
  assert.equal(l.overdue("a", 601, 0), 601);
  l.heard("a", 700, 0);
  assert.equal(l.overdue("a", 1_000_000, 0), undefined);
  assert.equal(l.period("zz", 300), 300, "a period from the known-hosts cache");
});

Deno.test("after a reconnect the time spent disconnected does not count", () => {
  const l = new Liveness();
  l.heard("a", 0, 1000);
  l.restart(10_000);
  assert.equal(l.overdue("a", 12_000, 0), undefined);
  assert.equal(l.overdue("a", 13_001, 0), 3001);
});
