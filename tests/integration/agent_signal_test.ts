/**
 * `signal` reaches the whole process group: a shell's background grandchild
 * dies with it, and a group that ignores SIGTERM is killed after the grace.
 */
import assert from "node:assert/strict";
import { alive, ask, groupGone, groupMembers, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function startTree(world: World, id: string, shell: string): Promise<number> {
  const r = await ask(world, "a1", "run", { id, shell });
  assert.equal(r.body.ok, true, JSON.stringify(r.body));
  const pgid = (r.body.proc as { pid: number }).pid;
  // No event says the shell has forked both sleeps: watch the group fill up.
  await until("sh and two sleeps in the group", () => groupMembers(pgid).length === 3);
  return pgid;
}

Deno.test(
  "SIGTERM with grace to a shell and its background grandchild leaves nothing",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1");
      const watch = await ProcWatch.open(world, "a1");
      const pgid = await startTree(world, "tree", "sleep 1000 & sleep 1000");
      const r = await ask(world, "a1", "signal", { procs: ["tree"], signal: "SIGTERM", grace: 2 });
      assert.deepEqual(r.body.results, [{ proc: "tree", ok: true }]);
      const exit = await watch.exit("tree");
      assert.equal(exit.signal, "SIGTERM");
      await groupGone(pgid);
      assert.equal(alive(exit.pid as number), false);
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test("a group that ignores SIGTERM is killed after the grace", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    const pgid = await startTree(world, "deaf", "trap '' TERM; sleep 1000 & sleep 1000");
    const r = await ask(world, "a1", "signal", { procs: ["deaf"], signal: "TERM", grace: 0.5 });
    assert.deepEqual(r.body.results, [{ proc: "deaf", ok: true }]);
    const exit = await watch.exit("deaf");
    assert.equal(exit.signal, "SIGKILL");
    await groupGone(pgid);
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test(
  "signal answers per id: ESRCH for unknown, ok for exited, EINVAL for a bad signal",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1");
      const watch = await ProcWatch.open(world, "a1");
      await ask(world, "a1", "run", { id: "done", argv: ["true"] });
      await watch.exit("done");
      const r = await ask(world, "a1", "signal", { procs: ["done", "ghost"], signal: 9 });
      const results = r.body.results as { proc: string; ok: boolean; error?: { code: string } }[];
      assert.deepEqual(results[0], { proc: "done", ok: true });
      assert.equal(results[1].ok, false);
      assert.equal(results[1].error?.code, "ESRCH");

      const bad = await ask(world, "a1", "signal", { procs: ["done"], signal: "SIGNOPE" });
      assert.equal((bad.body.error as { code: string }).code, "EINVAL");
      watch.close();
    } finally {
      await world.close();
    }
  },
);
