/**
 * Which hosts a broadcast waits for and until when, with the clock passed
 * in: named hosts until the ack timeout, globs over the known hosts until
 * discovery goes quiet, and "nobody listens" ending everything at once.
 */
import assert from "node:assert/strict";
import { Expectation } from "../../controller/broadcast/expectation.ts";
import { KnownHosts } from "../../controller/known_hosts.ts";
import { resolveTarget } from "../../controller/target.ts";

const times = { ackTimeoutMs: 5000, quietMs: 300, minWindowMs: 1000 };

function known(hosts: Record<string, Record<string, string>>): KnownHosts {
  const k = KnownHosts.memory("tutti");
  for (const [h, labels] of Object.entries(hosts)) k.seen(h, { labels }, 1);
  return k;
}

Deno.test("a node set expects exactly its hosts until the ack timeout", () => {
  const e = new Expectation(resolveTarget({ hosts: "t-[1-4]" }), known({}), times, 0);
  assert.ok(e.explicit);
  assert.deepEqual([...e.hosts], ["t-1", "t-2", "t-3", "t-4"]);
  for (const h of ["t-1", "t-2", "t-3"]) assert.ok(e.answer(h, 10));
  assert.equal(e.answer("t-9", 10), false, "a host the set does not name is ignored");
  assert.equal(e.complete(4999), false);
  assert.ok(e.complete(5000));
  assert.deepEqual(e.silent(), ["t-4"]);
  e.answer("t-4", 20);
  const all = new Expectation(resolveTarget({ hosts: "t-[1-2]" }), known({}), times, 0);
  all.answer("t-1", 1);
  all.answer("t-2", 2);
  assert.ok(all.complete(3), "complete as soon as every named host answered");
});

Deno.test("exclude is applied to the named hosts", () => {
  const e = new Expectation(
    resolveTarget({ hosts: "n[1-5]", exclude: "n[2-3]" }),
    known({}),
    times,
    0,
  );
  assert.deepEqual([...e.hosts], ["n1", "n4", "n5"]);
});

Deno.test("a glob expects the known hosts it matches plus whoever answers, until quiet", () => {
  const k = known({ "web-1": {}, "web-2": {}, "db-1": {} });
  const e = new Expectation(resolveTarget({ hosts: "web-*" }), k, times, 0);
  assert.equal(e.explicit, false);
  assert.deepEqual([...e.hosts].sort(), ["web-1", "web-2"]);
  e.answer("web-1", 100);
  e.answer("web-9", 900); // not known before: expected from now on
  assert.deepEqual([...e.hosts].sort(), ["web-1", "web-2", "web-9"]);
  assert.equal(e.settledAt(), 1200, "300 ms after the last answer (past the 1 s minimum)");
  assert.equal(e.complete(1199), false);
  assert.ok(e.complete(1200));
  assert.deepEqual(e.silent(), ["web-2"]);
});

Deno.test("discovery lasts at least the minimum window and at most the ack timeout", () => {
  const e = new Expectation(resolveTarget({ hosts: "x-*" }), known({}), times, 0);
  assert.equal(e.settledAt(), 1000);
  for (let t = 100; t < 9000; t += 200) e.answer(`x-${t}`, t);
  assert.equal(e.settledAt(), 5000);
});

Deno.test("label conditions match the cached labels of known hosts", () => {
  const k = known({ a: { rack: "r1" }, b: { rack: "r2" }, c: {} });
  const e = new Expectation(resolveTarget({ where: { rack: "r1" } }), k, times, 0);
  assert.deepEqual([...e.hosts], ["a"]);
  const named = new Expectation(
    resolveTarget({ hosts: "a,b", where: { rack: "r*" } }),
    k,
    times,
    0,
  );
  assert.equal(
    named.explicit,
    false,
    "labels decide: the named hosts that do not match stay silent",
  );
  assert.deepEqual([...named.hosts].sort(), ["a", "b"]);
});

Deno.test("when nobody listens, everything is settled and overdue at once", () => {
  const e = new Expectation(resolveTarget({ hosts: "t-[1-2]" }), known({}), times, 0);
  e.nobody();
  assert.ok(e.complete(1));
  assert.ok(e.nobodyListens);
});

Deno.test("a restart gives the silent hosts a new ack timeout", () => {
  const e = new Expectation(resolveTarget({ hosts: "t-1" }), known({}), times, 0);
  e.restart(4000);
  assert.equal(e.complete(5000), false);
  assert.ok(e.complete(9000));
});
