/**
 * `controller run --detach --id X` then `controller kill`/`signal`: whole
 * process groups end, background grandchildren included, with SIGKILL after
 * the grace period for what ignores SIGTERM; `ps` shows how they ended.
 */
import assert from "node:assert/strict";
import { groupMembers, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** `host → pid` from `--detach` output lines `t-1: started X (pid 123)`. */
function startedPids(stdout: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const m of stdout.matchAll(/^(\S+): started (\S+) \(pid (\d+)\)$/gm)) {
    pids.set(m[1], Number(m[3]));
  }
  return pids;
}

Deno.test(
  "kill of a shell with a background grandchild leaves nothing of its group",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["k-1", "k-2"]);
      const watches = await Promise.all(["k-1", "k-2"].map((h) => ProcWatch.open(world, h, "grp")));
      const r = await world.controller([
        "run",
        "--hosts",
        "k-[1-2]",
        "--detach",
        "--id",
        "grp",
        "--",
        "sh",
        "-c",
        "sleep 600 & sleep 600 & wait",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "2 hosts: 2 started");
      const pids = startedPids(r.stdout);
      assert.deepEqual([...pids.keys()].sort(), ["k-1", "k-2"]);
      // No event says "the shell has forked its children": look at the process table.
      for (const pid of pids.values()) {
        await until("the shell and its two sleeps", () => groupMembers(pid).length === 3);
      }

      const ps = await world.controller(["ps", "--hosts", "k-*"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(
        ps.stdout,
        /^k-1\s+grp\s+\d+\s+running\s+-\s+\S+\s+sh -c 'sleep 600 & sleep 600 & wait'$/m,
      );

      const k = await world.controller(["kill", "--hosts", "k-[1-2]", "grp"]);
      assert.equal(k.code, 0, k.stderr);
      assert.equal(k.stdout, "k-[1-2]: grp: sent SIGTERM, SIGKILL after 5s\n");
      for (const w of watches) {
        const exit = await w.exit("grp");
        assert.equal(exit.signal, "SIGTERM");
      }
      for (const pid of pids.values()) assert.deepEqual(groupMembers(pid), []);

      const after = await world.controller(["ps", "--hosts", "k-[1-2]", "--all", "--json"]);
      const rows = after.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(rows.map((p) => [p.host, p.id, p.state, p.signal]), [
        ["k-1", "grp", "exited", "SIGTERM"],
        ["k-2", "grp", "exited", "SIGTERM"],
      ]);
    } finally {
      await world.close();
    }
  },
);

Deno.test("a group that ignores SIGTERM gets SIGKILL after the grace period", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("k-1");
    const watch = await ProcWatch.open(world, "k-1", "stubborn");
    const r = await world.controller([
      "run",
      "--hosts",
      "k-1",
      "--detach",
      "--id",
      "stubborn",
      "--shell",
      "--",
      "trap '' TERM; sleep 600 & sleep 600 & wait",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pid = startedPids(r.stdout).get("k-1")!;
    await until("the shell and its two sleeps", () => groupMembers(pid).length === 3);
    const k = await world.controller(["kill", "--hosts", "k-1", "--grace", "500ms", "stubborn"]);
    assert.equal(k.code, 0, k.stderr);
    assert.equal((await watch.exit("stubborn")).signal, "SIGKILL");
    assert.deepEqual(groupMembers(pid), []);
  } finally {
    await world.close();
  }
});

Deno.test("signal sends one signal; unknown ids are ESRCH on named hosts", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["s-1", "s-2"]);
    const watch = await ProcWatch.open(world, "s-1", "usr");
    const r = await world.controller([
      "run",
      "--hosts",
      "s-1",
      "--detach",
      "--id",
      "usr",
      "--shell",
      "--",
      "trap 'echo got USR1; exit 7' USR1; while :; do sleep 0.1; done",
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The trap is set once the shell runs its loop: its first sleep child shows that.
    const pid = startedPids(r.stdout).get("s-1")!;
    await until("the loop's first sleep", () => groupMembers(pid).length >= 2);
    // A glob selects hosts: the one without the process is named, not failed.
    const s = await world.controller(["signal", "--hosts", "s-*", "--signal", "USR1", "usr"]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout, "s-1: usr: sent SIGUSR1\n");
    assert.equal(s.stderr, "s-2: no process usr there\n1 host: 1 ok\n");
    const exit = await watch.exit("usr");
    assert.equal(exit.code, 7);
    assert.equal(watch.text("usr"), "got USR1\n");
    // Named hosts are asked about the process: not having it is an error.
    const named = await world.controller(["signal", "--hosts", "s-[1-2]", "--signal", "1", "usr"]);
    assert.equal(named.code, 1);
    assert.equal(named.stdout, "s-1: usr: sent SIGHUP\n", "an exited process: ok, nothing to do");
    assert.equal(
      named.stderr,
      's-2: ESRCH usr: no process "usr" on s-2\n2 hosts: 1 ok, 1 failed (s-2)\n',
    );
  } finally {
    await world.close();
  }
});
