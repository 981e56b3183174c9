/**
 * Fan-out of `true` to N agent processes, from the command to the last exit
 * status: the controller CLI (its process start included) beside the ssh
 * family on the loopback sshd (ssh_peers.ts) and the physical limit: N local
 * `true` spawned in parallel by `xargs -P`, plus one start of the controller
 * CLI (the target's measure), and the spawns alone; and the controller
 * library in this process, which shows the fan-out without the CLI's start.
 */
import { DENO } from "./agents.ts";
import { timed } from "./child.ts";
import {
  type BenchContext,
  type Contender,
  interleave,
  interleaveContenders,
  say,
} from "./context.ts";
import { type Goal, ratioAtMost, Recorder, type Row, row } from "./figures.ts";
import { libraryContender } from "./library_fanout.ts";
import { sshPeers } from "./ssh_peers.ts";

const CLI_TIMEOUT_MS = 60_000;

/** Targets by size: issue 3 sets the one at 50, the wider benchmark those at 100. */
const SSH_GOALS: Record<number, Goal> = { 50: ratioAtMost(0.1), 100: ratioAtMost(1 / 15) };
const LIMIT_GOALS: Record<number, Goal> = { 100: ratioAtMost(3) };

export async function fanoutSection(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of ctx.opts.sizes) rows.push(...await fanoutOf(ctx, n));
  return rows;
}

/** `N hosts: N ok`: a CLI that exits 0 without reaching every host must not look fast. */
export function allOk(output: string, n: number): boolean {
  const m = /(\d+) hosts?: (\d+) ok/.exec(output);
  return m !== null && Number(m[1]) === n && Number(m[2]) === n;
}

async function fanoutOf(ctx: BenchContext, n: number): Promise<Row[]> {
  say(`fan-out: starting agents up to ${n}`);
  const t0 = performance.now();
  await ctx.pool.grow(n);
  say(`fan-out: ${n} agents up (${((performance.now() - t0) / 1000).toFixed(1)} s to start)`);
  const hosts = `b-[1-${n}]`;
  const env = { NATS_URL: ctx.broker.url, NO_COLOR: "1" };

  const tutti: Contender = {
    rec: new Recorder(`tutti: controller run --hosts '${hosts}' -- true`, "ms"),
    once: async (rec) => {
      const r = await timed(
        ctx.scope,
        DENO,
        ["run", "-A", "--no-config", ctx.opts.controllerJs, "run", "--hosts", hosts, "--", "true"],
        { env, timeoutMs: CLI_TIMEOUT_MS },
      );
      if (r.timedOut) rec.fail(`killed after ${CLI_TIMEOUT_MS} ms`);
      else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
      else if (!allOk(r.output, n)) rec.fail(`no "${n} hosts: ${n} ok" summary: ${r.output}`);
      else rec.add(r.ms);
    },
  };
  const spawns = `seq 1 ${n} | xargs -P ${n} -n 1 true`;
  const local = (name: string, script: string, goal?: Goal): Contender => ({
    rec: new Recorder(name, "ms"),
    goal,
    once: async (rec) => {
      const r = await timed(ctx.scope, "sh", ["-c", script], {
        env: { DENO, CONTROLLER_JS: ctx.opts.controllerJs },
        timeoutMs: CLI_TIMEOUT_MS,
      });
      if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
      else rec.add(r.ms);
    },
  });
  const limit = local(`local limit: xargs -P ${n} true`, spawns);
  // The physical limit of a command-line fan-out: the processes, and one start of the CLI.
  const physical = local(
    `physical limit: xargs -P ${n} true, then one controller --help`,
    `${spawns} && "$DENO" run -A --no-config "$CONTROLLER_JS" --help > /dev/null`,
    LIMIT_GOALS[n],
  );
  const peers = [...await sshPeers(ctx, n, SSH_GOALS[n]), limit, physical];
  const library = await libraryContender(ctx, n);
  const all = [tutti, library.contender, ...peers];

  // One unrecorded round first: caches, first connections. The ssh family needs none (sshd
  // was probed with one login at its start) and would spend long on it.
  say(`fan-out to ${n}: warm-up, then ${ctx.opts.rounds} rounds`);
  const warm = all.filter((c) => c.warmUp ?? true);
  try {
    await interleave(1, warm.map((c) => () => c.once(new Recorder("warm-up", "ms"))));
    await interleaveContenders(
      ctx.opts.rounds,
      all.map((c) => ({ run: () => c.once(c.rec), rounds: c.rounds })),
    );
  } finally {
    await library.close();
  }

  const t = tutti.rec.done();
  const figure = `run true on ${n} agents, command → last exit status`;
  const l = limit.rec.done();
  return [
    ...peers.map((p) => row("fanout", figure, t, p === limit ? l : p.rec.done(), p.goal)),
    row(
      "fanout",
      `${figure}, library in-process`,
      library.contender.rec.done(),
      l,
      undefined,
      "the controller library over an open connection: the fan-out without the CLI's start",
    ),
  ];
}
