/**
 * Nothing dies with the agent: 50 processes writing output while their agent
 * is SIGKILLed and restarted, or upgraded in place, go on running, lose no
 * byte and end with their exact statuses; processes that end while no agent
 * runs have their real status recorded and published by the next agent; a
 * state file that is not the agent's is refused by name, never wiped.
 */
import assert from "node:assert/strict";
import { alive, ask, groupGone, groupMembers, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const N = 50;
const LINES = 120;

/**
 * What process `i` writes: LINES numbered lines, one every 20 ms; halfway it
 * also waits for `release` to exist (so that every process is surely running
 * across the restart), then exits with i % 7.
 */
function script(i: number, release: string): string {
  return `n=1; while [ $n -le ${LINES} ]; do echo "p${i} line $n of ${LINES}"; ` +
    `if [ $n -eq ${LINES / 2} ]; then while [ ! -e ${release} ]; do sleep 0.02; done; fi; ` +
    `n=$((n+1)); sleep 0.02; done; exit ${i % 7}`;
}
function expected(i: number): string {
  let s = "";
  for (let n = 1; n <= LINES; n++) s += `p${i} line ${n} of ${LINES}\n`;
  return s;
}

/** The whole stdout of `id` from the agent's spool, through `logs`. */
async function spooled(world: World, host: string, id: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (;;) {
    const r = await ask(world, host, "logs", { proc: id, stream: "stdout", offset });
    assert.equal(r.body.ok, true, JSON.stringify(r.body.error));
    const data = r.body.data as Uint8Array;
    parts.push(data);
    offset += data.length;
    if (r.body.complete === true) break;
  }
  return parts.map((p) => new TextDecoder().decode(p)).join("");
}

async function startFifty(world: World, host: string): Promise<number[]> {
  const pids: number[] = [];
  for (let i = 0; i < N; i++) {
    const argv = ["sh", "-c", script(i, `${world.dir}/release`)];
    const r = await ask(world, host, "run", { id: `w${i}`, argv });
    assert.equal(r.body.ok, true, JSON.stringify(r.body.error));
    pids.push((r.body.proc as { pid: number }).pid);
  }
  return pids;
}

/** `contiguous`: after a restart in place, numbering goes on without a gap (after a kill, past a margin). */
async function checkFifty(
  world: World,
  host: string,
  watch: ProcWatch,
  contiguous = false,
): Promise<void> {
  for (let i = 0; i < N; i++) {
    const exit = await watch.exit(`w${i}`, 60_000);
    assert.equal(exit.code, i % 7, `w${i} exit code`);
    assert.equal(exit.signal, null);
    assert.equal(exit.stdout, expected(i).length, `w${i}: bytes counted`);
    assert.equal(await spooled(world, host, `w${i}`), expected(i), `w${i}: spool byte-exact`);
    // Event numbers go on across the restart: never the same number twice.
    const seqs = watch.of(`w${i}`).map((e) => e.seq);
    assert.equal(new Set(seqs).size, seqs.length, `w${i}: seq repeated: ${seqs}`);
    if (contiguous) {
      const sorted = [...seqs].sort((a, b) => a - b);
      assert.deepEqual(sorted, sorted.map((_, n) => n), `w${i}: seq not contiguous: ${seqs}`);
    }
  }
  const ps = await ask(world, host, "ps", {});
  const procs = ps.body.procs as { id: string; state: string; code: number }[];
  assert.equal(procs.filter((p) => p.id.startsWith("w") && p.state === "exited").length, N);
}

Deno.test(
  "agent SIGKILL + restart under 50 processes writing output: all run on, 0 bytes lost, 50 exact statuses",
  opts,
  async () => {
    const world = await World.create();
    try {
      const a = await world.agent("k-1");
      const watch = await ProcWatch.open(world, "k-1");
      const pids = await startFifty(world, "k-1");
      await a.kill();
      const survivors = pids.filter(alive);
      assert.equal(survivors.length, N, "every process outlives its agent");
      await world.agent("k-1");
      await Deno.writeTextFile(`${world.dir}/release`, "");
      await checkFifty(world, "k-1", watch);
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "upgrade under 50 processes writing output: same pid, all run on, 0 bytes lost, 50 exact statuses",
  opts,
  async () => {
    const world = await World.create();
    try {
      const a = await world.agent("u-1");
      const watch = await ProcWatch.open(world, "u-1");
      const pids = await startFifty(world, "u-1");
      const hello = world.nc.subscribe(world.subjects.presence("u-1"));
      const back = (async () => {
        for await (const m of hello) if (new TextDecoder().decode(m.data).includes("hello")) return;
      })();
      const up = await world.controller(["upgrade", "--hosts", "u-1"]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout, "u-1: restarting in place\n");
      await back;
      hello.unsubscribe();
      assert.ok(alive(a.pid), "the agent keeps its pid");
      assert.equal(pids.filter(alive).length, N, "every process runs on");
      await Deno.writeTextFile(`${world.dir}/release`, "");
      await checkFifty(world, "u-1", watch, true);
      assert.match(a.output.join(""), /adopted \d+ running process\(es\)/);
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a process that ends while no agent runs: its real status and end time, published by the next agent",
  opts,
  async () => {
    const world = await World.create();
    try {
      const a = await world.agent("g-1");
      const watch = await ProcWatch.open(world, "g-1");
      const fifo = `${world.dir}/go`;
      await new Deno.Command("mkfifo", { args: [fifo] }).output();
      // It waits for a line on the fifo, then dies of SIGTERM sent to itself.
      const r = await ask(world, "g-1", "run", {
        id: "later",
        argv: ["sh", "-c", `read x < ${fifo}; echo "got $x"; kill -TERM $$`],
      });
      assert.equal(r.body.ok, true);
      await a.kill();
      const before = Date.now();
      await Deno.writeTextFile(fifo, "go\n");
      const pid = (r.body.proc as { pid: number }).pid;
      while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
      await world.agent("g-1");
      const exit = await watch.exit("later");
      assert.equal(exit.signal, "SIGTERM");
      assert.equal(exit.code, null);
      assert.ok(
        (exit.ended as number) >= before,
        "the end time is when it ended, not when it was found",
      );
      assert.equal(await spooled(world, "g-1", "later"), "got go\n");
      // Published once: a third agent does not announce it again.
      const again = await ProcWatch.open(world, "g-1");
      await world.agents.at(-1)!.kill();
      await world.agent("g-1");
      const ps = await ask(world, "g-1", "ps", { procs: ["later"] });
      assert.equal((ps.body.procs as { signal: string }[])[0].signal, "SIGTERM");
      assert.equal(again.of("later", "exit").length, 0);
      again.close();
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a state file that is not a process record is refused by name and left in place",
  opts,
  async () => {
    const world = await World.create();
    try {
      const dir = `${world.dir}/agent-bad-1/procs`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(`${dir}/x1.json`, "{ this is not json");
      const r = await world.agentFailing("bad-1");
      assert.equal(r.code, 1);
      assert.match(r.stderr, /procs\/x1\.json: not a tutti process record/);
      assert.equal(await Deno.readTextFile(`${dir}/x1.json`), "{ this is not json");
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "after a restart: kill reaches an adopted group, grandchildren included; --keep still expires, spool too",
  opts,
  async () => {
    const world = await World.create();
    try {
      const a = await world.agent("x-1", { args: ["--keep", "2"] });
      const watch = await ProcWatch.open(world, "x-1");
      for (const id of ["e1", "e2", "e3"]) {
        const r = await ask(world, "x-1", "run", { id, argv: ["sh", "-c", `echo ${id}`] });
        assert.equal(r.body.ok, true);
        await watch.exit(id);
      }
      const r = await ask(world, "x-1", "run", {
        id: "tree",
        argv: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"],
      });
      const pgid = (r.body.proc as { pid: number }).pid;
      await a.kill();
      await world.agent("x-1", { args: ["--keep", "2"] });
      assert.equal(groupMembers(pgid).length, 3, "the shell and its two children run on");
      const k = await world.controller(["kill", "--hosts", "x-1", "tree"]);
      assert.equal(k.code, 0, k.stderr);
      await groupGone(pgid);
      assert.equal((await watch.exit("tree")).signal, "SIGTERM");
      // Two exited entries are kept (e3 and tree), across the restart; e1's and e2's spools are gone.
      const ps = await ask(world, "x-1", "ps", {});
      const ids = (ps.body.procs as { id: string }[]).map((p) => p.id).sort();
      assert.deepEqual(ids, ["e3", "tree"]);
      // The keeper removes the expired files after the agent told it to: awaited, not assumed.
      const names = (dir: string) =>
        [...Deno.readDirSync(`${world.dir}/agent-x-1/${dir}`)].map((e) => e.name).sort().join();
      await until("e2's spool is removed", () => names("spool") === "e3.stdout");
      await until("e2's record is removed", () => names("procs") === "e3.json,tree.json");
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "the keeper's own V8 setting reaches neither the processes it runs nor their environment",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("v-1");
      const watch = await ProcWatch.open(world, "v-1");
      const r = await ask(world, "v-1", "run", { id: "env", argv: ["env"] });
      assert.equal(r.body.ok, true);
      await watch.exit("env");
      const env = await spooled(world, "v-1", "env");
      assert.match(env, /^TUTTI_HOST=v-1$/m);
      assert.doesNotMatch(env, /DENO_V8_FLAGS|TUTTI_AGENT_DENO_V8_FLAGS/);
      // ...while the keeper itself runs with it.
      const pid = Number(Deno.readTextFileSync(`${world.dir}/agent-v-1/keeper.lock`).trim());
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
      assert.ok(environ.includes("DENO_V8_FLAGS=--max-semi-space-size=1"), environ.join(" "));
      watch.close();
    } finally {
      await world.close();
    }
  },
);
