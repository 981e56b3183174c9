/**
 * Memory over time, with default options (issue targets: under 100 MiB):
 *
 * - runs: `seq 1 200` run on one agent through the controller library, one
 *   after another, thousands of times (3000 by default); the RSS of the agent
 *   and of its keeper every 500 runs. Every exited run stays in the agent's
 *   table (`--keep 1000`): an exited entry must be metadata, not buffers.
 * - programs: an agent supervising 100 idle programs and 30 crash-looping
 *   ones (soak_programs.ts), beside supervisord with the same programs.
 *
 * The keeper (agent/keeper/) is a second process per agent: its RSS is
 * reported on rows of its own and summed with the agent's, so that memory
 * moved from one to the other does not pass for memory saved.
 */
import { Controller } from "../controller/mod.ts";
import { type BenchContext, say } from "./context.ts";
import { type Row, row, series, valueBelow } from "./figures.ts";
import { Keeper } from "./keeper.ts";
import { rssMiB } from "./proc_stat.ts";
import { programsSoak } from "./soak_programs.ts";

const HOST = "soak-runs";
const ARGV = ["seq", "1", "200"];
/** What `seq 1 200` writes: every run's output is checked to the byte. */
const EXPECTED = Array.from({ length: 200 }, (_, i) => `${i + 1}\n`).join("").length;
const SAMPLE_EVERY = 500;
/** A run that takes longer has failed (the agent is stuck): the section stops. */
const RUN_TIMEOUT_MS = 30_000;
/** More failed runs than this: the figure would not be about the soak any more. */
const MAX_FAILURES = 10;
/** The target for both figures, with default options. */
const TARGET_MIB = 100;

export async function soakSection(ctx: BenchContext): Promise<Row[]> {
  return [...await runsSoak(ctx), ...await programsSoak(ctx, TARGET_MIB)];
}

async function runsSoak(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.opts.soakRuns;
  const agent = await ctx.pool.extra(HOST, []);
  let keeper: Keeper | null = null;
  let stopped: Promise<void> | null = null;
  // At the end, or first on an interrupt (the scope runs it before it stops the pool's agents):
  // the keeper leaves once its agent has stopped, and is killed if it does not.
  const stop = () =>
    stopped ??= (async () => {
      await ctx.pool.stopExtra(agent);
      if (await keeper?.gone()) say(`soak: the keeper of ${HOST} did not leave: killed`);
    })();
  ctx.scope.defer(`stop ${HOST} and its keeper`, stop);
  try {
    keeper = Keeper.of(`${ctx.dir}/${HOST}`);
  } catch (e) {
    await stop();
    throw e;
  }
  const k = keeper;
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  // Samples at 0 (fresh), every SAMPLE_EVERY runs, and after the last run.
  const at: number[] = [];
  const agentMiB: number[] = [];
  const keeperMiB: number[] = [];
  const sample = (runs: number) => {
    at.push(runs);
    agentMiB.push(rssMiB(agent.pid));
    keeperMiB.push(rssMiB(k.pid));
  };
  const failures: string[] = [];
  let seconds = 0;
  try {
    say(`soak: ${n} runs of ${ARGV.join(" ")} one after another on ${HOST}`);
    sample(0);
    const t0 = performance.now();
    for (let i = 1; i <= n; i++) {
      const why = await runOnce(c);
      if (why !== null) failures.push(`run ${i}: ${why}`);
      if (failures.length > MAX_FAILURES) {
        throw new Error(`${failures.length} failed runs, first: ${failures[0]}`);
      }
      if (i % SAMPLE_EVERY === 0 || i === n) sample(i);
    }
    seconds = (performance.now() - t0) / 1000;
  } finally {
    await c.close();
    await stop();
  }

  const last = agentMiB.length - 1;
  const sum = agentMiB.map((a, i) => a + keeperMiB[i]);
  const figure = (what: string) =>
    `${what} after ${n} runs of ${ARGV.join(" ")}, one after another (library, defaults)`;
  const end = (label: string, v: number[]) =>
    series(label, "MiB", Number.isFinite(v[last]) ? [v[last]] : [], failures, { at, mib: v });
  const fresh = (label: string, v: number[]) => series(label, "MiB", [v[0]]);
  const curve = (v: number[]) => v.map((x) => x.toFixed(0)).join(", ");
  return [
    row(
      "soak",
      figure("agent RSS"),
      end("tutti agent", agentMiB),
      fresh("the same agent, fresh, before any run", agentMiB),
      valueBelow(TARGET_MIB),
      `VmRSS after ${at.join(", ")} runs: agent ${curve(agentMiB)} MiB; ` +
        `${n} runs in ${seconds.toFixed(0)} s, every output checked to the byte`,
    ),
    row(
      "soak",
      figure("keeper RSS"),
      end("its keeper", keeperMiB),
      fresh("the same keeper, fresh", keeperMiB),
      undefined,
      `VmRSS after ${at.join(", ")} runs: keeper ${curve(keeperMiB)} MiB`,
    ),
    row(
      "soak",
      figure("agent + keeper RSS"),
      end("tutti agent + keeper", sum),
      fresh("the same two, fresh", sum),
      valueBelow(TARGET_MIB),
    ),
  ];
}

/** One run to its end: null when it exited 0 with every byte, else why not. */
async function runOnce(c: Controller): Promise<string | null> {
  const run = c.run({ hosts: HOST, argv: ARGV });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`not done within ${RUN_TIMEOUT_MS} ms`), RUN_TIMEOUT_MS);
  });
  const ran = (async () => {
    let got = 0;
    for await (const e of run) {
      if (e.type === "output" && e.stream === "stdout") got += e.data.length;
    }
    const summary = await run.done;
    if (!summary.ok) return `failed: ${JSON.stringify(summary.hosts[0])}`;
    return got === EXPECTED ? null : `${got} bytes of output, ${EXPECTED} written`;
  })();
  try {
    return await Promise.race([ran, late]);
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}
