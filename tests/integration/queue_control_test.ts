/**
 * The work queue after its submission, on a real nats-server with
 * JetStream and several agents: cancel (running tasks killed on their
 * agents), retry-failed, drain and undrain, another controller attaching
 * (`queue watch`, the joblog), an agent that lost its lease killing its
 * own copy, an agent joining while the queue runs, and load limits.
 */
import assert from "node:assert/strict";
import { ask, until, type World } from "./harness.ts";
import { jetStreamWorld, opts } from "./transfer_support.ts";
import { results as queueResults } from "./queue_support.ts";

/** A task as `queue results` lists it, run or not. */
interface Task {
  id: string;
  args: string[];
  state: string;
  host: string | null;
  proc: string | null;
  attempt: number;
  code: number | null;
  signal: string | null;
  started: number | null;
  ended: number | null;
}

const results = (world: World, name: string) => queueResults<Task>(world, name);

async function status(world: World, name: string): Promise<Record<string, number>> {
  const r = await world.controller(["queue", "status", name, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The counts once the queue exists (it does not until the submission created it). */
async function counts(world: World, name: string): Promise<Record<string, number>> {
  const r = await world.controller(["queue", "status", name, "--json"]);
  return r.code === 0 ? JSON.parse(r.stdout) : {};
}

interface Proc {
  id: string;
  state: string;
  signal: string | null;
}

async function procs(world: World, host: string): Promise<Proc[]> {
  const ps = await ask(world, host, "ps", {});
  return (ps.body.procs ?? []) as Proc[];
}

function submitArgs(hosts: string, name: string, slots: number, extra: string[] = []): string[] {
  return ["queue", "submit", "--hosts", hosts, "--slots", String(slots), "--name", name, ...extra];
}

const range = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);

Deno.test("queue cancel: pending tasks never run, running ones are killed", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["c-1", "c-2"]);
    const out = `${world.dir}/out`;
    await Deno.mkdir(out);
    const c = world.spawnController([
      ...submitArgs("c-[1-2]", "cq", 2),
      "--",
      `sleep 30; touch ${out}/{}`,
      ":::",
      ...range(20, "t"),
    ]);
    await until("4 tasks running", async () => (await counts(world, "cq")).running === 4, 30_000);
    const cancel = await world.controller(["queue", "cancel", "cq"]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stderr, /queue cq: cancelled; 20 tasks cancelled/);
    const r = await c.result(30_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /20 tasks: 0 done, 20 cancelled in [\d.]+s on c-\[1-2\]/);
    const tasks = await results(world, "cq");
    assert.ok(tasks.every((t) => t.state === "cancelled"), JSON.stringify(tasks));
    assert.equal(tasks.filter((t) => t.attempt === 1).length, 4);
    // The four that ran were killed on their agents, as their process tables say.
    for (const host of ["c-1", "c-2"]) {
      const killed = await until(`${host}'s tasks killed`, async () => {
        const ps = await procs(world, host);
        return ps.every((p) => p.state !== "running") ? ps : null;
      }, 15_000);
      assert.equal(killed.length, 2, JSON.stringify(killed));
      assert.ok(killed.every((p) => p.signal === "SIGTERM"), JSON.stringify(killed));
    }
    assert.deepEqual([...Deno.readDirSync(out)], []);
  } finally {
    await close();
  }
});

Deno.test("queue retry-failed: failed tasks run again; watch and joblog", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    await world.agentsNamed(["r-1", "r-2"]);
    const m = `${world.dir}/marks`;
    await Deno.mkdir(m);
    const log1 = `${world.dir}/joblog1`;
    const first = await world.controller([
      ...submitArgs("r-[1-2]", "rq", 2, ["--joblog", log1]),
      "--",
      `[ -e ${m}/{} ] || { touch ${m}/{}; exit 3; }`,
      ":::",
      "a",
      "b",
      "c",
    ]);
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /3 tasks: 0 done, 3 failed/);
    const lines = (await Deno.readTextFile(log1)).trimEnd().split("\n");
    assert.equal(
      lines[0],
      "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand",
    );
    assert.equal(lines.length, 4);
    const rows = lines.slice(1).map((l) => l.split("\t")).sort((x, y) => +x[0] - +y[0]);
    assert.deepEqual(rows.map((r) => r[0]), ["1", "2", "3"]);
    for (const r of rows) {
      assert.match(r[1], /^r-[12]$/);
      assert.match(r[2], /^\d{10}\.\d{3}$/);
      assert.match(r[3], /^ *\d+\.\d{3}$/);
      assert.deepEqual(r.slice(4, 8), ["0", "0", "3", "0"]);
    }
    assert.equal(rows[1][8], `[ -e ${m}/b ] || { touch ${m}/b; exit 3; }`);

    const again = await world.controller(["queue", "retry-failed", "rq"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /queue rq: 3 tasks queued again/);
    // Another controller follows the queue to its end.
    const log2 = `${world.dir}/joblog2`;
    const w = await world.controller(["queue", "watch", "rq", "--joblog", log2]);
    assert.equal(w.code, 0, w.stderr);
    assert.match(
      w.stderr,
      /3 tasks: 3 done in [\d.]+s on r-\[1-2\]|3 tasks: 3 done in [\d.]+s on r-[12]/,
    );
    const tasks = await results(world, "rq");
    assert.deepEqual(tasks.map((t) => [t.state, t.attempt, t.code]), [
      ["done", 2, 0],
      ["done", 2, 0],
      ["done", 2, 0],
    ]);
    // Each attempt has its own process id: the first attempt's output is still there.
    assert.ok(tasks.every((t) => t.proc === `rq-${t.id}-2`));
    assert.equal((await Deno.readTextFile(log2)).trimEnd().split("\n").length, 4);
  } finally {
    await close();
  }
});

Deno.test(
  "queue drain: the host finishes its task and takes no more until undrained",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      const [, d2] = await world.agentsNamed(["d-1", "d-2"]);
      const c = world.spawnController([
        ...submitArgs("d-[1-2]", "dq", 1),
        "--",
        "sleep 0.3; echo {}",
        ":::",
        // Enough that d-1 alone cannot finish them all while d-2 is drained and undrained, on a
        // machine loaded by the whole suite (with 30 it once had).
        ...range(60, "t"),
      ]);
      await until("d-2 runs a task", async () => (await procs(world, "d-2")).length > 0, 30_000);
      const drain = await world.controller(["queue", "drain", "dq", "d-2"]);
      assert.equal(drain.code, 0, drain.stderr);
      assert.match(drain.stderr, /queue dq: d-2 drained \(drained: d-2\)/);
      await until("d-2 drained", () => d2.output.join("").includes("queue dq: drained"), 10_000);
      const drainedAt = Date.now();
      const before = (await status(world, "dq")).done;
      await until(
        "5 more tasks done",
        async () => (await status(world, "dq")).done >= before + 5,
        30_000,
      );
      const undrainAsked = Date.now();
      const undrain = await world.controller(["queue", "undrain", "dq", "d-2"]);
      assert.equal(undrain.code, 0, undrain.stderr);
      assert.match(undrain.stderr, /d-2 undrained \(drained: none\)/);
      await until(
        "d-2 undrained",
        () => d2.output.join("").includes("queue dq: undrained"),
        10_000,
      );
      const r = await c.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      const tasks = await results(world, "dq");
      const onD2 = tasks.filter((t) => t.host === "d-2");
      // A task claimed as the drain arrived may start just after it: none a second later.
      const whileDrained = onD2.filter((t) =>
        t.started! > drainedAt + 1000 && t.started! < undrainAsked
      );
      assert.deepEqual(whileDrained, []);
      assert.ok(onD2.some((t) => t.started! >= undrainAsked), "d-2 took nothing once undrained");
      assert.ok(tasks.every((t) => t.state === "done" && t.attempt === 1));
    } finally {
      await close();
    }
  },
);

Deno.test(
  "queue: a controller killed mid-queue, another attaches and sees it end",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agentsNamed(["a-1", "a-2"]);
      const c = world.spawnController([
        ...submitArgs("a-[1-2]", "aq", 2),
        "--",
        "sleep 0.2; echo {}",
        ":::",
        ...range(40, "t"),
      ]);
      let last = "";
      await until("5 tasks done", async () => {
        const s = await world.controller(["queue", "status", "aq", "--json"]);
        last = s.stdout + s.stderr;
        return s.code === 0 && JSON.parse(s.stdout).done >= 5;
      }, 90_000).catch((e) => {
        throw new Error(`${e.message}; last status: ${last}; controller: ${c.stderr}`);
      });
      await c.kill();
      const mid = await status(world, "aq");
      assert.equal(mid.total, 40);
      const log = `${world.dir}/joblog`;
      const w = await world.controller(["queue", "watch", "aq", "--json", "--joblog", log]);
      assert.equal(w.code, 0, w.stderr);
      const events = w.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const summary = events.at(-1);
      assert.equal(summary.type, "summary");
      assert.deepEqual(summary.counts, {
        pending: 0,
        running: 0,
        done: 40,
        failed: 0,
        cancelled: 0,
      });
      assert.deepEqual(summary.ran, ["a-1", "a-2"]);
      const seqs = (await Deno.readTextFile(log)).trimEnd().split("\n").slice(1).map((l) =>
        Number(l.split("\t")[0])
      );
      assert.deepEqual(seqs.sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
      const tasks = await results(world, "aq");
      assert.ok(tasks.every((t) => t.state === "done" && t.attempt === 1));
    } finally {
      await close();
    }
  },
);

Deno.test("queue: an agent that lost its lease kills its own copy", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    const agents = await world.agentsNamed(["l-1", "l-2"]);
    const out = `${world.dir}/out`;
    const c = world.spawnController([
      ...submitArgs("l-[1-2]", "lq", 1, ["--lease", "2s"]),
      "--",
      `sleep 6; echo $TUTTI_HOST {} >> ${out}`,
      ":::",
      "only",
    ]);
    const [first] = await until("the task runs", async () => {
      const ts = await results(world, "lq").catch(() => []);
      return ts.length === 1 && ts[0].state === "running" ? ts : null;
    }, 60_000).catch((e) => {
      // What the controller and the agents said, for a run where it never started.
      const said = agents.map((a) => `${a.name}:\n${a.output.join("").slice(-2000)}`).join("\n");
      const broker = world.broker.log.join("").slice(-2000);
      throw new Error(`${e.message}\ncontroller:\n${c.stderr}\n${said}\nbroker:\n${broker}`);
    });
    const holder = agents.find((a) => a.name === first.host)!;
    // Stopped, it cannot renew: the server gives the task to the other agent after the lease.
    Deno.kill(holder.pid, "SIGSTOP");
    let second: Task | undefined;
    try {
      [second] = await until("a second attempt", async () => {
        const ts = await results(world, "lq");
        return ts[0].attempt === 2 && ts[0].state === "running" ? ts : null;
      }, 30_000);
    } finally {
      Deno.kill(holder.pid, "SIGCONT");
    }
    assert.ok(second);
    assert.notEqual(second.host, first.host);
    // Back, the first agent sees another attempt holds the task and kills its copy.
    const killed = await until("the first copy killed", async () => {
      const p = (await procs(world, first.host!)).find((x) => x.id === first.proc);
      return p && p.state !== "running" ? p : null;
    }, 15_000);
    assert.equal(killed.signal, "SIGTERM");
    assert.match(holder.output.join(""), /attempt .*-2 took it; killing .*-1/);
    const r = await c.result(30_000);
    assert.equal(r.code, 0, r.stderr);
    const [done] = await results(world, "lq");
    assert.deepEqual([done.state, done.attempt, done.host], ["done", 2, second.host]);
    // Only the second copy ran to its end.
    assert.equal(await Deno.readTextFile(out), `${second.host} only\n`);
  } finally {
    await close();
  }
});

Deno.test(
  "queue: an agent that joins the node set while the queue runs takes tasks",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agent("s-1");
      const c = world.spawnController([
        ...submitArgs("s-*", "sq", 1),
        "--",
        "sleep 0.2; echo {}",
        ":::",
        ...range(30, "t"),
      ]);
      await until("a task done", async () => {
        const s = await world.controller(["queue", "status", "sq", "--json"]);
        return s.code === 0 && JSON.parse(s.stdout).done >= 1;
      }, 30_000);
      const late = await world.agent("s-2");
      const r = await c.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /30 tasks: 30 done in [\d.]+s on s-\[1-2\]/);
      const tasks = await results(world, "sq");
      assert.ok(tasks.some((t) => t.host === "s-2"), "s-2 took no task");
      assert.ok(tasks.every((t) => t.state === "done" && t.attempt === 1));
      assert.match(late.output.join(""), /queue sq: taking its tasks/);
    } finally {
      await close();
    }
  },
);

Deno.test("queue --min-free-mem: an agent over the limit takes nothing", opts, async () => {
  const { world, close } = await jetStreamWorld();
  try {
    const [m1] = await world.agentsNamed(["m-1"]);
    const sweep = ["--", "echo", ":::", ...range(5, "t")];
    const held = await world.controller([
      ...submitArgs("m-1", "mq", 2, ["--min-free-mem", "1000TiB", "--detach"]),
      ...sweep,
    ]);
    assert.equal(held.code, 0, held.stderr);
    await until("m-1 holds back", () => m1.output.join("").includes("not taking tasks"), 10_000);
    assert.match(m1.output.join(""), /queue mq: not taking tasks: available memory \d+ B below/);
    const s = await status(world, "mq");
    assert.deepEqual([s.pending, s.running, s.done], [5, 0, 0]);
    // The same sweep without the limit: the host takes the tasks.
    const r = await world.controller([...submitArgs("m-1", "mq", 2), ...sweep]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /5 tasks: 5 done/);
    const bad = await world.controller([
      ...submitArgs("m-1", "mq", 2, ["--min-free-mem", "lots"]),
      ...sweep,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--min-free-mem "lots": expected a size/);
  } finally {
    await close();
  }
});

Deno.test(
  "queue: agents stop pulling from a finished queue, and take it again for its next submission",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      const agents = await world.agentsNamed(["f-1", "f-2"]);
      // Every pull request of the queue's consumer (the agents' `next`), as the server sees it.
      let pulls = 0;
      const sub = world.nc.subscribe(
        `$JS.API.CONSUMER.MSG.NEXT.${world.subjects.queueStream("fq")}.agents`,
        {
          callback: () => {
            pulls++;
          },
        },
      );
      await world.nc.flush();
      const first = await world.controller([...submitArgs("f-[1-2]", "fq", 2), "--", "echo {}"]
        .concat([":::", ...range(6, "a")]));
      assert.equal(first.code, 0, first.stderr);
      assert.ok(pulls > 0, "the agents pulled");
      // Nothing left: each agent lets the queue go once a pull has found nothing.
      await until(
        "both agents let the finished queue go",
        () => agents.every((a) => /queue fq: no task left/.test(a.output.join(""))),
        30_000,
      );
      // From then on no agent asks for a task: over a whole pull period (10 s), none comes.
      pulls = 0;
      await new Promise((r) => setTimeout(r, 11_000));
      assert.equal(pulls, 0, "pull requests to a finished queue");
      // A new submission is asked of the agents, which open the queue again.
      const second = await world.controller([...submitArgs("f-[1-2]", "fq", 2), "--", "echo {}"]
        .concat([":::", ...range(6, "b")]));
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /6 tasks: 6 done/);
      const tasks = await results(world, "fq");
      assert.equal(tasks.filter((t) => t.state === "done").length, 12);
      sub.unsubscribe();
    } finally {
      await close();
    }
  },
);
