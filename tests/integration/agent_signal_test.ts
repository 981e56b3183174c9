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

Deno.test("a grace past setTimeout's limit (30 days) sends no SIGKILL at once", opts, async () => {
  // setTimeout fires at once past 2^31-1 ms: the SIGKILL used to follow the SIGTERM at once,
  // cutting the process's own clean exit short.
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    const shell =
      "trap 'sleep 1; echo clean; exit 0' TERM; echo ready; while :; do sleep 0.1; done";
    const r = await ask(world, "a1", "run", { id: "slow-stop", shell });
    assert.equal(r.body.ok, true, JSON.stringify(r.body));
    await until("the trap is set", () => watch.text("slow-stop").includes("ready"));
    const days30 = 30 * 86_400;
    const s = await ask(world, "a1", "signal", {
      procs: ["slow-stop"],
      signal: "SIGTERM",
      grace: days30,
    });
    assert.deepEqual(s.body.results, [{ proc: "slow-stop", ok: true }]);
    const exit = await watch.exit("slow-stop");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.match(watch.text("slow-stop"), /clean/);

    // The same through a run's timeout: SIGTERM at the timeout, then a 30-day grace.
    await ask(world, "a1", "run", { id: "timed", shell, timeout: 0.5, grace: days30 });
    const timed = await watch.exit("timed");
    assert.deepEqual([timed.code, timed.signal, timed.timedOut], [0, null, true]);
    watch.close();
  } finally {
    await world.close();
  }
});
