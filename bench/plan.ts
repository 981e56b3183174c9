/**
 * A plan's wall time beside its critical path: a plan of `sleep` steps of
 * known lengths on the pool's agents, with a diamond of dependencies and
 * independent branches, brought up through the library. The longest
 * dependency chain is 2.0 s of sleeping; everything else runs beside it.
 * What the plan adds on top is its own cost: runs, their exits, the
 * dependency checks and the state written after each step.
 */
import { Controller, parsePlan, planDown, planUp } from "../controller/mod.ts";
import { type BenchContext, say } from "./context.ts";
import { type Goal, Recorder, type Row, row } from "./figures.ts";

/** a (0.5 s) → b (1.0 s) → d (0.5 s): the critical path. */
const CRITICAL_MS = 2000;
const TARGET = 1.1;

const PLAN = `name: bench
components:
  a: {hosts: "b-[1-4]", steps: [{run: sleep 0.5}]}
  b: {hosts: "b-[1-2]", after: {a: completed}, steps: [{run: sleep 0.6}, {run: sleep 0.4}]}
  c: {hosts: "b-[3-4]", after: {a: completed}, steps: [{run: sleep 0.3}]}
  f: {hosts: "b-[3-4]", after: {c: completed}, steps: [{run: sleep 0.4}]}
  d: {hosts: "b-1", after: {b: completed, c: completed}, steps: [{run: sleep 0.5}]}
  e: {hosts: "b-[5-8]", steps: [{run: sleep 1.5}]}
`;

export async function planSection(ctx: BenchContext): Promise<Row[]> {
  await ctx.pool.grow(8);
  const plan = parsePlan(PLAN, { source: "bench" });
  const stateDir = await ctx.scope.tempDir("tutti-bench-plan-");
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  const wall = new Recorder("tutti: plan up, 6 components on 8 agents", "ms");
  const path = new Recorder("its critical path: a 0.5 s → b 1.0 s → d 0.5 s", "ms");
  try {
    say(`plan: warm-up, then ${ctx.opts.rounds} rounds`);
    for (let r = 0; r <= ctx.opts.rounds; r++) {
      const t0 = performance.now();
      const summary = await planUp(c, plan, { stateDir }).done;
      const took = performance.now() - t0;
      await planDown(c, plan, { stateDir }).done;
      if (r === 0) continue;
      if (!summary.ok) {
        wall.fail(JSON.stringify(summary.failures[0] ?? summary.components));
        continue;
      }
      wall.add(took);
      path.add(CRITICAL_MS);
    }
  } finally {
    await c.close();
  }
  const within: Goal = (r) => ({ text: `≤ ${TARGET}`, met: r.ratio <= TARGET });
  return [
    row(
      "plan",
      "plan up: wall time beside the longest dependency chain",
      wall.done(),
      path.done(),
      within,
      "independent components run side by side; each step is a run on its hosts",
    ),
  ];
}
