/**
 * The soak's supervising agent: 100 idle programs (`sleep 3600`, numprocs
 * 100) and 30 crash-looping ones (up for 2 s, past their start time, then
 * exit 3: restarted at once, again and again), from a programs file, with default
 * options otherwise. Once the 100 are RUNNING, the crash-loopers loop for a
 * window (20 s by default); then the RSS of the agent and of its keeper
 * (whichever of the two holds the programs) beside supervisord running the
 * same programs over the same window.
 *
 * Every program carries a marker in its environment, so that whatever
 * spawned it (agent, keeper, supervisord), none outlives the section.
 */
import { decodeMap } from "../protocol/codec.ts";
import type { RunningAgent } from "./agents.ts";
import { type BenchContext, say } from "./context.ts";
import { type Row, row, type Series, series, valueBelow } from "./figures.ts";
import { Keeper } from "./keeper.ts";
import { pidsWithEnv, rssMiB } from "./proc_stat.ts";
import { Supervisord, type SupervisordProgram } from "./supervisord.ts";

const HOST = "soak-programs";
const IDLE = 100;
const CRASHING = 30;
const IDLE_CMD = "sleep 3600";
const CRASH_CMD = "sh -c 'echo crash; sleep 2; exit 3'";
/**
 * tutti gives up on a process that crashes within 10 × starttime of its
 * start more than startretries times in a row (FATAL), where supervisord
 * restarts forever once a process has been RUNNING: this many keeps them
 * looping under both for the window.
 */
const RETRIES = 1000;
const MARKER = "TUTTI_BENCH_SOAK";
const READY_MS = 60_000;
const SAMPLE_MS = 1_000;

export async function programsSoak(ctx: BenchContext, targetMiB: number): Promise<Row[]> {
  const marker = { [MARKER]: crypto.randomUUID() };
  const config = `${ctx.dir}/soak-programs.yaml`;
  await Deno.writeTextFile(config, programsYaml(marker));
  let agent: RunningAgent | null = null;
  let keeper: Keeper | null = null;
  let supervisord: Supervisord | string = "not started";
  let stopped: Promise<void> | null = null;
  // On an interrupt as well as at the end: the scope runs it before it stops the pool's agents.
  const stop = () =>
    stopped ??= (async () => {
      if (agent) await ctx.pool.stopExtra(agent);
      if (await keeper?.gone()) say(`soak: the keeper of ${HOST} did not leave: killed`);
      if (typeof supervisord !== "string") await supervisord.stop();
      const left = pidsWithEnv(`${MARKER}=${marker[MARKER]}`);
      for (const pid of left) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* exited meanwhile */ }
      }
      if (left.length > 0) say(`soak: ${left.length} program process(es) left over: killed`);
    })();
  ctx.scope.defer("stop the soak's programs", stop);

  // The agent's state changes, from before it starts: which idle processes are RUNNING, and
  // how often the crash-loopers have been started.
  const running = new Set<string>();
  const allRunning = Promise.withResolvers<void>();
  let crashStarts = 0;
  let fatal = 0;
  const sub = ctx.nc.subscribe(ctx.pool.subjects.log(HOST), {
    callback: (_err, m) => {
      let e: Record<string, unknown>;
      try {
        e = decodeMap(m.data);
      } catch {
        return; // not ours to judge
      }
      if (e.type !== "state" || typeof e.process !== "string") return;
      if (e.to === "FATAL") fatal++;
      if (e.process.startsWith("crash:") && e.to === "STARTING") crashStarts++;
      if (e.process.startsWith("idle:") && e.to === "RUNNING") running.add(e.process);
      if (running.size === IDLE) allRunning.resolve();
    },
  });
  try {
    say(`soak: ${IDLE} idle + ${CRASHING} crash-looping programs under supervisord`);
    supervisord = await Supervisord.start(ctx.scope, supervisordPrograms(marker), ["idle"])
      .catch((e: Error) => e.message);
    if (typeof supervisord === "string") say(`soak: supervisord not measured: ${supervisord}`);
    let supervisordSpawns = 0;
    if (typeof supervisord !== "string") {
      supervisord.onLine((line) => {
        if (/spawned: 'crash_\d+'/.test(line)) supervisordSpawns++;
      });
    }
    say(`soak: the same under an agent (${HOST})`);
    agent = await ctx.pool.extra(HOST, ["--config", config]);
    keeper = Keeper.of(`${ctx.dir}/${HOST}`);
    await deadline(
      allRunning.promise,
      READY_MS,
      () => `${HOST}: ${running.size} of ${IDLE} idle programs RUNNING after ${READY_MS} ms`,
    );

    const windowMs = ctx.opts.soakWindowMs;
    say(`soak: the crash-loopers loop for ${windowMs / 1000} s`);
    const starts0 = crashStarts;
    const spawns0 = supervisordSpawns;
    const pids = [agent.pid, keeper.pid];
    if (typeof supervisord !== "string") pids.push(supervisord.pid);
    const samples: number[][] = pids.map(() => []);
    for (const end = performance.now() + windowMs; performance.now() < end;) {
      // A fixed wait is the measurement itself here (the window), not a synchronisation.
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, end - performance.now())));
      pids.forEach((pid, i) => samples[i].push(rssMiB(pid)));
    }
    const restarts = crashStarts - starts0;
    const supRestarts = supervisordSpawns - spawns0;
    if (restarts === 0) throw new Error(`${HOST}: the crash-loopers did not restart`);

    const [a, k, s] = samples;
    const sum = a.map((x, i) => x + k[i]);
    const peer: Series = typeof supervisord === "string"
      ? series("supervisord -n, the same programs", "MiB", [], [supervisord])
      : atEnd("supervisord -n, the same programs", s);
    const secs = `${Math.round(windowMs / 1000)} s`;
    const figure = (what: string) =>
      `${what} supervising ${IDLE} idle programs + ${CRASHING} crash-looping, after ${secs}`;
    const peak = (v: number[]) => `${Math.max(...v).toFixed(0)}`;
    return [
      row(
        "soak",
        figure("agent RSS"),
        atEnd("tutti agent", a),
        peer,
        valueBelow(targetMiB),
        `VmRSS at the end of the window (${IDLE} × \`${IDLE_CMD}\`, ${CRASHING} × ` +
          `\`${CRASH_CMD}\` restarted at once); ${restarts} restarts in the window ` +
          `(supervisord: ${supRestarts})${fatal > 0 ? `, ${fatal} FATAL` : ""}; ` +
          `peak: agent ${peak(a)}, keeper ${peak(k)}${s ? `, supervisord ${peak(s)}` : ""} MiB`,
      ),
      row("soak", figure("keeper RSS"), atEnd("its keeper", k), peer),
      row(
        "soak",
        figure("agent + keeper RSS"),
        atEnd("tutti agent + keeper", sum),
        peer,
        valueBelow(targetMiB),
      ),
    ];
  } finally {
    sub.unsubscribe();
    await stop();
  }
}

/** The last sample of a window (what the soak leaves behind); all of them in the JSON. */
function atEnd(label: string, v: number[]): Series {
  const last = v.at(-1);
  return series(label, "MiB", last !== undefined && Number.isFinite(last) ? [last] : [], [], {
    everySecond: v,
  });
}

function programsYaml(env: Record<string, string>): string {
  const e = JSON.stringify(env);
  return [
    "programs:",
    "  idle:",
    `    cmd: ${JSON.stringify(IDLE_CMD)}`,
    `    numprocs: ${IDLE}`,
    "    stoptime: 1",
    `    env: ${e}`,
    "  crash:",
    `    cmd: ${JSON.stringify(CRASH_CMD)}`,
    `    numprocs: ${CRASHING}`,
    "    autorestart: always",
    "    starttime: 1",
    `    startretries: ${RETRIES}`,
    "    stoptime: 1",
    `    env: ${e}`,
    "",
  ].join("\n");
}

function supervisordPrograms(environment: Record<string, string>): SupervisordProgram[] {
  return [
    { name: "idle", command: IDLE_CMD, numprocs: IDLE, stopwaitsecs: 1, environment },
    {
      name: "crash",
      command: CRASH_CMD,
      numprocs: CRASHING,
      startsecs: 1,
      startretries: RETRIES,
      stopwaitsecs: 1,
      asGroup: true,
      environment,
    },
  ];
}

/** `p`, or an error saying `why()` once `ms` have passed. */
async function deadline<T>(p: Promise<T>, ms: number, why: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
