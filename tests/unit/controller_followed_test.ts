/** Followed hosts: lost after a bye and its grace, or after a silence the server confirms. */
import assert from "node:assert/strict";
import type { WireError } from "../../protocol/errors.ts";
import type { Presence } from "../../protocol/messages.ts";
import { Followed, type Silences } from "../../controller/broadcast/followed.ts";

/** Silence as the test says, and a round trip that completes when the test says. */
class FakeSilences implements Silences {
  silent = new Map<string, number>();
  trips: PromiseWithResolvers<number>[] = [];
  overdue(host: string): number | undefined {
    return this.silent.get(host);
  }
  roundTrip(): Promise<number> {
    const p = Promise.withResolvers<number>();
    this.trips.push(p);
    return p.promise;
  }
}

function setup(byeGraceMs = 1000) {
  const silences = new FakeSilences();
  const lost: [string, WireError][] = [];
  const f = new Followed(
    silences,
    { byeGraceMs, owed: "reporting an exit" },
    (host, error) => lost.push([host, error]),
    (fn) => fn(),
  );
  return { silences, lost, f };
}

const presence = (type: "bye" | "hello") => ({ type } as Pick<Presence, "type"> as Presence);

Deno.test("a bye is lost only past its grace, and a hello in between cancels it", () => {
  const { lost, f } = setup(1000);
  f.add("a", 0);
  f.add("b", 0);
  f.heard("a", presence("bye"), 100);
  f.heard("b", presence("bye"), 100);
  f.check(1100);
  assert.equal(lost.length, 0);
  f.heard("b", presence("hello"), 1050);
  f.check(1101);
  assert.deepEqual(lost.map(([h, e]) => [h, e.code, e.message]), [
    ["a", "ELOST", "the agent stopped (bye) without reporting an exit"],
  ]);
  assert.equal(f.size, 1);
});

Deno.test("a silence is only suspected until the server round trip confirms it", async () => {
  const { silences, lost, f } = setup();
  f.add("a", 0);
  f.add("b", 0);
  silences.silent.set("a", 20_000);
  silences.silent.set("b", 20_000);
  f.check(20_000);
  f.check(20_100);
  assert.equal(silences.trips.length, 1, "one round trip at a time");
  assert.equal(lost.length, 0, "nothing lost before the round trip is back");
  // Meanwhile the backlog was read: b's heartbeats were in it.
  silences.silent.delete("b");
  silences.trips[0].resolve(20_000);
  await Promise.resolve();
  assert.deepEqual(lost.map(([h, e]) => [h, e.message]), [["a", "no heartbeat from a for 20.0s"]]);
  assert.equal(f.size, 1);
});

Deno.test("a round trip that fails (the link went down) loses nobody and allows the next", async () => {
  const { silences, lost, f } = setup();
  f.add("a", 0);
  silences.silent.set("a", 20_000);
  f.check(20_000);
  silences.trips[0].reject(new Error("disconnected"));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(lost.length, 0);
  f.check(20_500);
  assert.equal(silences.trips.length, 2);
});
