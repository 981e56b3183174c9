/**
 * The work queue on a real nats-server with JetStream and several agents:
 * every task done exactly once with its output, never more than K at once
 * on a host, the tasks of a SIGKILLed agent run elsewhere after their
 * lease, retries, and precise errors (queue name, placeholder, no
 * JetStream).
 */
import assert from "node:assert/strict";
import { ask, reapKeeper, until, World } from "./harness.ts";
import { jetStreamWorld, opts } from "./transfer_support.ts";
import { maxConcurrency, results } from "./queue_support.ts";

Deno.test(
  "queue: 210 tasks over 3 agents x 2 slots, each done once, slots respected",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agentsNamed(["q-1", "q-2", "q-3"]);
      const out = `${world.dir}/out`;
      await Deno.mkdir(out);
      const args = Array.from({ length: 210 }, (_, i) => `a${i}`);
      const r = await world.controller([
        "queue",
        "submit",
        "--hosts",
        "q-[1-3]",
        "--slots",
        "2",
        "--name",
        "sweep",
        "--",
        `echo out-{}; echo {} >> ${out}/{}; sleep 0.0$(( {#} % 3 ))`,
        ":::",
        ...args,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /queue sweep: 210 tasks submitted/);
      assert.match(r.stderr, /210 tasks: 210 done in [\d.]+s on q-\[1-3\]/);
      // Exactly once: each task appended its argument to its own file one time.
      for (const a of args) assert.equal(await Deno.readTextFile(`${out}/${a}`), `${a}\n`, a);
      const tasks = await results(world, "sweep");
      assert.equal(tasks.length, 210);
      assert.deepEqual(tasks.map((t) => t.args[0]).sort(), [...args].sort());
      assert.ok(tasks.every((t) => t.state === "done" && t.code === 0 && t.attempt === 1));
      const conc = maxConcurrency(tasks);
      assert.deepEqual([...conc.keys()].sort(), ["q-1", "q-2", "q-3"]);
      for (const [host, n] of conc) assert.ok(n <= 2, `${host} ran ${n} at once`);
      // Each task's output is in its host's spool, under the process id results give.
      const t = tasks[17];
      const logs = await world.controller(["logs", t.host, t.proc]);
      assert.equal(logs.stdout, `out-${t.args[0]}\n`);
      const status = await world.controller(["queue", "status", "--name", "sweep", "--json"]);
      assert.deepEqual(JSON.parse(status.stdout), {
        name: "sweep",
        total: 210,
        pending: 0,
        running: 0,
        done: 210,
        failed: 0,
        cancelled: 0,
      });
      // The same sweep again: the tasks are there, nothing runs twice.
      const again = await world.controller([
        "queue",
        "submit",
        "--hosts",
        "q-[1-3]",
        "--slots",
        "2",
        "--name",
        "sweep",
        "--",
        `echo out-{}; echo {} >> ${out}/{}; sleep 0.0$(( {#} % 3 ))`,
        ":::",
        ...args,
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /210 already there/);
      assert.equal(await Deno.readTextFile(`${out}/a5`), "a5\n");
    } finally {
      await close();
    }
  },
);

Deno.test("queue: the tasks of a SIGKILLed agent run elsewhere after the lease", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    const [, , victim] = await world.agentsNamed(["k-1", "k-2", "k-3"]);
    const out = `${world.dir}/out`;
    await Deno.mkdir(out);
    const c = world.spawnController([
      "queue",
      "submit",
      "--hosts",
      "k-[1-3]",
      "--slots",
      "2",
      "--name",
      "kq",
      "--lease",
      "2s",
      "--json",
      "--",
      `sleep 1; echo $TUTTI_HOST > ${out}/{}`,
      ":::",
      ...Array.from({ length: 40 }, (_, i) => `t${i}`),
    ]);
    // Kill the victim (and its processes) while it runs a task, as its own process table says.
    await until("k-3 runs a task", async () => {
      const ps = await ask(world, "k-3", "ps", {});
      const procs = (ps.body.procs ?? []) as { state: string }[];
      return procs.some((p) => p.state === "running");
    }, 30_000);
    await victim.kill();
    reapKeeper(victim.stateDir);
    const killedAt = Date.now();
    const r = await c.result(90_000);
    assert.equal(r.code, 0, r.stderr);
    const tasks = await results(world, "kq");
    assert.equal(tasks.length, 40);
    assert.ok(tasks.every((t) => t.state === "done"), JSON.stringify(tasks));
    for (let i = 0; i < 40; i++) assert.ok((await Deno.stat(`${out}/t${i}`)).isFile);
    // What the victim held came back: a second attempt, on another host, after the lease.
    const rerun = tasks.filter((t) => t.attempt > 1);
    assert.ok(rerun.length >= 1, "no task was re-run");
    for (const t of rerun) {
      assert.notEqual(t.host, "k-3");
      assert.ok(t.started >= killedAt, `${t.id} re-ran before the kill`);
    }
    // The bound: the lease (2 s) after the death, plus the wait for a free slot elsewhere
    // (the others' tasks last 1 s), plus scheduling slack on a loaded machine.
    const worst = Math.max(...rerun.map((t) => t.started - killedAt));
    console.log(`re-run ${rerun.length} task(s) of the killed agent at most ${worst} ms after`);
    assert.ok(worst <= 2000 + 1000 + 2000, `re-run ${worst} ms after the kill`);
  } finally {
    await close();
  }
});

Deno.test(
  "queue: failed tasks are retried with backoff, then failed with their exit",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agentsNamed(["r-1", "r-2"]);
      const m = `${world.dir}/marks`;
      await Deno.mkdir(m);
      const r = await world.controller([
        "queue",
        "submit",
        "--hosts",
        "r-[1-2]",
        "--slots",
        "2",
        "--name",
        "rq",
        "--retries",
        "2",
        "--backoff",
        "100ms",
        "--",
        `[ {} = bad ] && exit 4; [ -e ${m}/{} ] || { touch ${m}/{}; exit 3; }`,
        ":::",
        "x",
        "y",
        "bad",
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /\(bad\): exit 4\n/);
      assert.match(r.stderr, /3 tasks: 2 done, 1 failed/);
      const tasks = await results(world, "rq");
      const by = new Map(tasks.map((t) => [t.args[0], t]));
      assert.deepEqual([by.get("x")!.state, by.get("x")!.attempt], ["done", 2]);
      assert.deepEqual([by.get("y")!.state, by.get("y")!.attempt], ["done", 2]);
      assert.deepEqual([by.get("bad")!.state, by.get("bad")!.attempt, by.get("bad")!.code], [
        "failed",
        3,
        4,
      ]);
    } finally {
      await close();
    }
  },
);

Deno.test(
  "queue: an attempt ended by a lost agent does not use up a retry; failures do",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      const agents = await world.agentsNamed(["f-1", "f-2"]);
      const m = `${world.dir}/marks`;
      await Deno.mkdir(m);
      // The first attempt marks its start and waits to be killed with its agent; every later
      // attempt fails. With one retry: the lost attempt, then two failures, then failed.
      const c = world.spawnController([
        "queue",
        "submit",
        "--hosts",
        "f-[1-2]",
        "--slots",
        "1",
        "--name",
        "fq",
        "--lease",
        "2s",
        "--retries",
        "1",
        "--backoff",
        "100ms",
        "--",
        `: {}; [ -e ${m}/started ] && exit 5; echo $TUTTI_HOST > ${m}/started; sleep 60`,
        ":::",
        "only",
      ]);
      await until("the first attempt started", async () => {
        try {
          return (await Deno.readTextFile(`${m}/started`)).trim() !== "";
        } catch {
          return false;
        }
      }, 30_000);
      const holder = (await Deno.readTextFile(`${m}/started`)).trim();
      const victim = agents.find((a) => a.name === holder)!;
      await victim.kill();
      reapKeeper(victim.stateDir);
      const r = await c.result(90_000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /1 task: 0 done, 1 failed/);
      const [t] = await results<Record<string, unknown>>(world, "fq");
      assert.deepEqual(
        [t.state, t.attempt, t.failures, t.code],
        ["failed", 3, 2, 5],
        "the lost attempt, then a failure and its one retry",
      );
      assert.notEqual(t.host, holder);
    } finally {
      await close();
    }
  },
);

Deno.test("queue: tasks from a file and from stdin", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["f-1"]);
    await Deno.writeTextFile(`${world.dir}/list`, "one two\nthree\n");
    const a = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "f-1",
      "--slots",
      "1",
      "--name",
      "fq",
      "--tasks",
      `${world.dir}/list`,
      "--",
      "echo",
    ]);
    assert.equal(a.code, 0, a.stderr);
    const b = await world.controller(
      ["queue", "submit", "--hosts", "f-1", "--slots", "1", "--name", "fq", "--", "echo", "[{1}]"],
      { stdin: "four\n" },
    );
    assert.equal(b.code, 0, b.stderr);
    const tasks = await results(world, "fq");
    const outs: string[] = [];
    for (const t of tasks) outs.push((await world.controller(["logs", t.host, t.proc])).stdout);
    assert.deepEqual(outs.sort(), ["[four]\n", "one two\n", "three\n"]);
    const status = await world.controller(["queue", "status", "--name", "fq"]);
    assert.equal(status.stdout, "queue fq: 3 tasks: 3 done\n");
  } finally {
    await close();
  }
});

Deno.test("queue: a bad name or placeholder is refused before anything is sent", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    const name = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "x",
      "--slots",
      "1",
      "--name",
      "a.b",
      "--",
      "echo",
      ":::",
      "1",
    ]);
    assert.equal(name.code, 2);
    assert.match(name.stderr, /EINVAL queue name "a\.b" is not a subject token/);
    const ph = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "x",
      "--slots",
      "1",
      "--",
      "echo",
      "{2}",
      ":::",
      "1",
    ]);
    assert.equal(ph.code, 2);
    assert.match(ph.stderr, /EINVAL placeholder \{2\}: there is 1 input list/);
    const dot = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "x",
      "--slots",
      "1",
      "--",
      "echo",
      "{.}",
      ":::",
      "1",
    ]);
    assert.equal(dot.code, 2);
    assert.match(dot.stderr, /placeholder \{\.\} is not supported/);
    const missing = await world.controller(["queue", "status", "--name", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT no queue "nope"/);
    // A task whose state cannot fit in a message of the server (1 MiB by default).
    const big = await world.controller(
      ["queue", "submit", "--hosts", "x", "--slots", "1", "--name", "bigq", "--", "echo"],
      { stdin: "ok\n" + "x".repeat(1 << 20) + "\n" },
    );
    assert.equal(big.code, 1);
    assert.match(
      big.stderr,
      /EMSGSIZE task 2 \(t[0-9a-f]+\) takes \d+ bytes .* max_payload of 1048576/,
    );
    const none = await world.controller(["queue", "status", "bigq"]);
    assert.match(none.stderr, /ENOENT no queue "bigq"/);
  } finally {
    await close();
  }
});

Deno.test("queue: a server without JetStream is named, with how to enable it", opts, async () => {
  const world = await World.create();
  try {
    const r = await world.controller([
      "queue",
      "submit",
      "--hosts",
      "x",
      "--slots",
      "1",
      "--",
      "echo",
      ":::",
      "1",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ENOTSUP the work queue needs JetStream .*-js -sd DIR/);
  } finally {
    await world.close();
  }
});

Deno.test("queue: the same sweep in two queues on the same agents runs in both", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["tw-1"]);
    for (const name of ["first", "second"]) {
      const r = await world.controller([
        "queue",
        "submit",
        "--hosts",
        "tw-1",
        "--slots",
        "2",
        "--name",
        name,
        "--",
        "echo {} in $TUTTI_QUEUE",
        ":::",
        "a",
        "b",
        "c",
      ]);
      // The tasks have the same ids in both queues (their command lines are the same); the
      // second queue's must not meet the first's processes, which the agent keeps.
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /3 tasks: 3 done/);
      for (const t of await results(world, name)) {
        assert.equal(t.proc, `${name}-${t.id}-1`);
        const out = await world.controller(["logs", t.host, t.proc]);
        assert.match(out.stdout, new RegExp(`^[abc] in ${name}\n$`));
      }
    }
  } finally {
    await close();
  }
});

Deno.test("queue --record: every task's outcome and host; record show and diff", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["rd-1", "rd-2"]);
    const flag = `${world.dir}/fixed`;
    const records = `${world.dir}/records`;
    const paths: string[] = [];
    for (const name of ["first", "second"]) {
      const r = await world.controller([
        "queue",
        "submit",
        "--hosts",
        "rd-[1-2]",
        "--slots",
        "2",
        "--name",
        name,
        "--record",
        records,
        "--",
        `[ {} != 2 ] || [ -e ${flag} ]`,
        ":::",
        "1",
        "2",
        "3",
      ]);
      assert.equal(r.code, name === "first" ? 1 : 0, r.stderr);
      paths.push(/record: (\S+)/.exec(r.stderr)![1]);
      await Deno.writeTextFile(flag, "");
    }
    const show = await world.controller(["record", "show", paths[0]]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^queue first-\w+: FAILED, /);
    assert.match(show.stdout, /queue: first, 3 tasks: 2 done, 1 failed \(.* 2 slots, 0 retries\)/);
    assert.match(show.stdout, /#2\/2 +rd-[12] +failed +1 /);
    const record = JSON.parse(await Deno.readTextFile(paths[0]));
    assert.equal(record.kind, "queue");
    assert.deepEqual(record.queue.tasks.map((t: { seq: number }) => t.seq), [1, 2, 3]);
    assert.ok(record.queue.tasks.every((t: { host: string }) => /^rd-[12]$/.test(t.host)));
    const diff = await world.controller(["record", "diff", paths[0], paths[1]]);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /#2\/2.*status.*failed.*done/);
    assert.doesNotMatch(diff.stdout, /#1\/1.*status/);
  } finally {
    await close();
  }
});
