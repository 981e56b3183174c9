/**
 * Idempotent runs and the spool: a retried `run --id X` starts one process
 * and reports the same output and status; `controller logs` returns the
 * spooled bytes exactly; `controller sub` decodes what it sees.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "a retried run --id X starts one process; logs returns the spool byte-exact",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("r-1");
      const count = `${world.dir}/starts`;
      // 1.5 MB of binary stdout (several logs chunks), a line of stderr, one start recorded.
      const script = `echo start >> ${count}; head -c 1500000 /dev/urandom; echo warn >&2; exit 4`;
      const args = ["run", "--hosts", "r-1", "--id", "same", "--", "sh", "-c", script];
      const first = await world.controller(args);
      assert.equal(first.code, 1);
      assert.equal(first.stderr.trimEnd().split("\n").at(-1), "1 host: 0 ok, 1 failed (r-1)");
      const second = await world.controller(args);
      assert.equal(second.code, 1);
      assert.equal(await Deno.readTextFile(count), "start\n", "one process for two requests");
      // The retry found an exited process: its whole output came from the spool, identically.
      assert.deepEqual(second.stdoutBytes, first.stdoutBytes);
      assert.equal(second.stderr, first.stderr);
      assert.match(second.stderr, /^r-1: warn\nr-1: exit 4\n/);

      const spool = await Deno.readFile(`${agent.stateDir}/spool/same.stdout`);
      assert.equal(spool.length, 1_500_000);
      const logs = await world.controller(["logs", "r-1", "same"]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.deepEqual(logs.stdoutBytes, spool);
      const err = await world.controller(["logs", "r-1", "same", "--stream", "stderr"]);
      assert.equal(err.stdout, "warn\n");

      const other = await world.controller(["run", "--hosts", "r-1", "--id", "same", "--", "true"]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /^r-1: EEXIST process id same is already used on r-1/m);
      const missing = await world.controller(["logs", "r-1", "nope"]);
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, 'controller logs: ESRCH no process "nope" on r-1\n');
    } finally {
      await world.close();
    }
  },
);

Deno.test("a detached run retried while running answers the same process", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("r-1");
    const args = ["run", "--hosts", "r-1", "--id", "long", "--detach", "--", "sleep", "600"];
    const first = await world.controller(args);
    const second = await world.controller(args);
    const pid = /\(pid (\d+)\)/.exec(first.stdout)![1];
    assert.equal(first.stdout, `r-1: started long (pid ${pid})\n`);
    assert.equal(second.stdout, `r-1: long already running (pid ${pid})\n`);
    const k = await world.controller(["kill", "--hosts", "r-1", "long"]);
    assert.equal(k.code, 0, k.stderr);
  } finally {
    await world.close();
  }
});

Deno.test("sub prints every message on a subject as a decoded JSON line", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("u-1");
    const sub = world.spawnController(["sub", `${world.prefix}.proc.u-1.>`, "--count", "3"]);
    await sub.waitFor("the subscription", (_out, err) => err.includes("subscribed to"));
    const r = await world.controller(["run", "--hosts", "u-1", "--id", "hi", "--", "echo", "hi"]);
    assert.equal(r.code, 0, r.stderr);
    const done = await sub.result();
    assert.equal(done.code, 0);
    const lines = done.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.subject), [
      `${world.prefix}.proc.u-1.hi.started`,
      `${world.prefix}.proc.u-1.hi.stdout`,
      `${world.prefix}.proc.u-1.hi.exit`,
    ]);
    assert.equal(lines[1].body, "hi\n");
    assert.equal(lines[1].headers["Tutti-Offset"], "0");
    assert.equal(lines[2].headers["Tutti-Type"], "exit");
    assert.equal(lines[2].body.code, 0);
    assert.deepEqual(lines[2].body.argv, ["echo", "hi"]);
  } finally {
    await world.close();
  }
});
