/**
 * The work queue's throughput: T tasks of `true` submitted with
 * `controller queue submit --slots 4` to N agents, from the submission to
 * the last task done (the tasks stored on JetStream, pulled a slot at a
 * time, each state written twice), beside the local limit of the same
 * number of processes, `xargs -P 4N` running `true` T times, and beside
 * GNU parallel spreading the same tasks over the same N hosts through the
 * loopback sshd (`parallel -S 4/host,...`: an ssh connection per task, as
 * its users run it), on fewer tasks (its rate is what is compared).
 *
 * Then the controller's memory while it queues 10T tasks (`--detach`, to a
 * host that is not there: the tasks stay queued and nothing runs them): its
 * peak resident memory at the end beside its peak halfway through. Flat
 * means the second half of the sweep adds at most 5 %. Its peak submitting
 * T tasks is shown beside it too; that submission ends while V8 is still
 * sizing its heap (about 1.5 s, some 15,000 tasks, on this machine), so it
 * says more about V8's warm-up than about growth with the sweep.
 */
import { DENO } from "./agents.ts";
import { timed, type TimedRun } from "./child.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { ratioAtMost, Recorder, type Row, row, series } from "./figures.ts";
import { ensurePackage } from "./apt.ts";

const SLOTS = 4;
/** GNU parallel's tasks: an ssh connection each, so fewer (it is its rate that counts). */
const PARALLEL_TASKS = 400;
const TIMEOUT_MS = 600_000;

export async function queueSection(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.opts.queueAgents;
  const t = ctx.opts.queueTasks;
  await ctx.pool.grow(n);
  const hosts = `b-[1-${n}]`;
  const list = await taskList(ctx, t);

  const tutti = new Recorder(
    `tutti: queue submit --slots ${SLOTS} of ${t} x true on ${n} agents`,
    "ms",
  );
  const local = new Recorder(`local limit: xargs -P ${n * SLOTS} running true ${t} times`, "ms");
  const tuttiOnce = (rec: Recorder) => async () => {
    const r = await submit(ctx, ["--hosts", hosts, "--slots", String(SLOTS), "--tasks", list]);
    if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
    else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
    else if (!r.output.includes(`${t} tasks: ${t} done`)) rec.fail(`no summary: ${r.output}`);
    else rec.add(r.ms);
  };
  const localOnce = (rec: Recorder) => async () => {
    const r = await timed(
      ctx.scope,
      "sh",
      ["-c", `xargs -P ${n * SLOTS} -n 1 true < ${list}`],
      { timeoutMs: TIMEOUT_MS },
    );
    if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
    else rec.add(r.ms);
  };
  const pt = Math.min(t, PARALLEL_TASKS);
  const gnu = new Recorder(
    `GNU parallel -S ${SLOTS}/host over ssh to the ${n} hosts, ${pt} x true`,
    "ms",
  );
  let parallel: string | null = null;
  try {
    if (typeof ctx.sshd === "string") throw new Error(ctx.sshd);
    parallel = await ensurePackage("parallel", ["/usr/bin/parallel"]);
  } catch (e) {
    gnu.fail(`GNU parallel not measured: ${(e as Error).message}`);
  }
  const parallelOnce = (rec: Recorder) => async () => {
    if (parallel === null || typeof ctx.sshd === "string") return;
    const logins = Array.from({ length: n }, (_, i) => `${SLOTS}/b-${i + 1}`).join(",");
    const r = await timed(ctx.scope, parallel, [
      "--ssh",
      `ssh -F ${ctx.sshd.clientConfig}`,
      "-S",
      logins,
      "true",
      ":::",
      ...Array.from({ length: pt }, (_, i) => String(i + 1)),
    ], { timeoutMs: TIMEOUT_MS });
    if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
    else rec.add(r.ms);
  };
  const rounds = ctx.opts.quick ? 1 : 3;
  say(`queue: ${t} tasks on ${n} agents x ${SLOTS} slots, ${rounds} round(s)`);
  await interleave(rounds, [tuttiOnce(tutti), localOnce(local), parallelOnce(gnu)]);
  const [memory, memoryBeside] = await submitMemory(ctx, t, list, rounds);
  const a = tutti.done();
  const b = local.done();
  const g = gnu.done();
  const rate = (ms: number) => Math.round(t / (ms / 1000));
  const perThousand = (x: typeof a, tasks: number, label: string) =>
    series(label, "ms", x.samples.map((ms) => ms / tasks * 1000), x.failures);
  const gRate = Math.round(pt / (g.summary.median / 1000));
  return [
    row(
      "queue",
      `work queue: ms per 1000 tasks of true on ${n} hosts x ${SLOTS}`,
      perThousand(a, t, `tutti: queue submit, ${t} tasks`),
      perThousand(g, pt, g.label),
      // At least ten times GNU parallel's rate.
      ratioAtMost(0.1),
      `${rate(a.summary.median)} vs ${gRate} tasks/s (medians)`,
    ),
    row(
      "queue",
      `work queue, ${t} tasks of true on ${n} agents x ${SLOTS} slots`,
      a,
      b,
      // At least half the local limit's rate: at most twice its time.
      ratioAtMost(2),
      `${rate(a.summary.median)} vs ${rate(b.summary.median)} tasks/s (medians)`,
    ),
    memory,
    memoryBeside,
  ];
}

/** A file of `tasks` lines, one argument each, written once per size. */
async function taskList(ctx: BenchContext, tasks: number): Promise<string> {
  const list = `${ctx.dir}/queue-tasks-${tasks}`;
  await Deno.writeTextFile(list, Array.from({ length: tasks }, (_, i) => `${i + 1}\n`).join(""));
  return list;
}

let submissions = 0;

/** `controller queue submit ARGS -- true` into a queue of its own: a fresh stream and bucket. */
function submit(ctx: BenchContext, args: string[], peak = false) {
  const name = `bench${Date.now().toString(36)}r${submissions++}`;
  return timed(ctx.scope, DENO, [
    "run",
    "-A",
    "--no-config",
    ctx.opts.controllerJs,
    "queue",
    "submit",
    "--name",
    name,
    ...args,
    "--",
    "true",
  ], { env: { NATS_URL: ctx.broker.url, NO_COLOR: "1" }, timeoutMs: TIMEOUT_MS, peak });
}

/** The VmHWM reading at half the run's time (the last one before it). */
function halfwayPeak(r: TimedRun): number | undefined {
  const before = (r.peakTrace ?? []).filter(([ms]) => ms <= r.ms / 2);
  return before.at(-1)?.[1];
}

/**
 * Peak memory of `queue submit --detach` of 10t tasks at its end beside
 * halfway through (flat), and beside a submission of t tasks.
 */
async function submitMemory(
  ctx: BenchContext,
  t: number,
  /** The file of t tasks. */
  list: string,
  rounds: number,
): Promise<[Row, Row]> {
  const lists = new Map([[t, list], [10 * t, await taskList(ctx, 10 * t)]]);
  const half = new Recorder(`controller peak VmHWM halfway through the same submission`, "MiB");
  const once = (tasks: number, rec: Recorder) => async () => {
    // Nobody takes them: the submission alone is measured, and nothing runs afterwards.
    const r = await submit(ctx, [
      "--hosts",
      "nobody-here",
      "--slots",
      "1",
      "--tasks",
      lists.get(tasks)!,
      "--detach",
    ], true);
    if (!r.output.includes(`${tasks} tasks queued`)) rec.fail(`not queued: ${r.output}`);
    else if (r.peakMiB === undefined) rec.fail("no VmHWM read");
    else rec.add(r.peakMiB);
    if (tasks === t) return;
    const halfway = halfwayPeak(r);
    if (halfway === undefined) half.fail("no VmHWM read in the first half");
    else half.add(halfway);
  };
  const small = new Recorder(`controller peak VmHWM, queue submit of ${t} tasks`, "MiB");
  const big = new Recorder(`controller peak VmHWM, queue submit of ${10 * t} tasks`, "MiB");
  say(`queue: controller memory submitting ${t} and ${10 * t} tasks`);
  await interleave(rounds, [once(t, small), once(10 * t, big)]);
  const b = big.done();
  return [
    row(
      "queue",
      `controller memory while ${10 * t} tasks are queued: at the end beside halfway`,
      b,
      half.done(),
      // Flat: the second half of the tasks adds at most 5 % to the peak.
      ratioAtMost(1.05),
      "peak VmHWM of queue submit --detach, read every 50 ms; halfway: the last reading " +
        "before half the run's time",
    ),
    row(
      "queue",
      `controller memory while ${10 * t} tasks are queued, beside a submission of ${t}`,
      b,
      small.done(),
      undefined,
      `the smaller submission ends while V8 still sizes its heap`,
    ),
  ];
}
