/**
 * Broadcasts on `P.all.<verb>`: agents inside the target answer, the others
 * stay silent, and a target that does not parse is EBADSEL from everyone.
 */
import assert from "node:assert/strict";
import { broadcast, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const NAMES = ["n1", "n2", "n3", "web-1"];

function hosts(replies: { body: Record<string, unknown> }[]): string[] {
  return replies.map((r) => r.body.host as string).sort();
}

Deno.test("a broadcast ping is answered by exactly the targeted agents", opts, async () => {
  const world = await World.create();
  try {
    await Promise.all([
      world.agent("n1", { labels: { cluster: "gros", rack: "1" } }),
      world.agent("n2", { labels: { cluster: "gros", rack: "2" } }),
      world.agent("n3", { labels: { cluster: "grappe", rack: "1" } }),
      world.agent("web-1", { labels: { role: "web" } }),
    ]);
    const ask = (target?: Record<string, unknown>) =>
      broadcast(world, "ping", target ? { target } : {}, NAMES);

    assert.deepEqual(hosts(await ask()), NAMES, "no target: everyone");
    assert.deepEqual(hosts(await ask({ hosts: "n[1-2]" })), ["n1", "n2"]);
    assert.deepEqual(hosts(await ask({ hosts: "n*", exclude: "n2" })), ["n1", "n3"]);
    assert.deepEqual(hosts(await ask({ where: { cluster: "gros" } })), ["n1", "n2"]);
    assert.deepEqual(hosts(await ask({ where: { cluster: "gr*", rack: "1" } })), ["n1", "n3"]);
    assert.deepEqual(hosts(await ask({ hosts: "web-*,n3" })), ["n3", "web-1"]);
    assert.deepEqual(hosts(await ask({ hosts: "nobody-[1-9]" })), []);

    const replies = await ask({ hosts: "n1" });
    assert.equal(replies[0].body.ok, true);
    assert.equal(replies[0].headers["Tutti-Type"], "ping");

    const bad = await ask({ hosts: "n[1-" });
    assert.deepEqual(hosts(bad), NAMES, "a bad selector is answered by every agent");
    for (const r of bad) {
      assert.equal(r.body.ok, false);
      assert.equal((r.body.error as { code: string }).code, "EBADSEL");
      assert.equal(r.headers["Tutti-Error"], "EBADSEL");
    }
  } finally {
    await world.close();
  }
});

Deno.test("a broadcast run starts the command on the targeted agents only", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["n1", "n2", "n3"]);
    const replies = await broadcast(
      world,
      "run",
      {
        target: { hosts: "n[1,3]" },
        id: "fan",
        argv: ["true"],
      },
      ["n1", "n2", "n3"],
      10_000,
      2,
    );
    assert.deepEqual(hosts(replies), ["n1", "n3"]);
    for (const r of replies) {
      assert.equal(r.body.ok, true);
      assert.equal((r.body.proc as { id: string }).id, "fan");
      assert.equal(r.headers["Tutti-Proc"], "fan");
    }
    const ps = await broadcast(world, "ps", { procs: ["fan"] }, ["n1", "n2", "n3"]);
    const counts = Object.fromEntries(
      ps.map((r) => [r.body.host, (r.body.procs as unknown[]).length]),
    );
    assert.deepEqual(counts, { n1: 1, n2: 0, n3: 1 });
  } finally {
    await world.close();
  }
});
