/**
 * Agent cost at rest: CPU time and resident memory of an idle agent (fresh,
 * default heartbeat), with telemetry off and at 1 Hz, beside a bare `deno`
 * process that only waits, a Deno process that only holds a NATS connection
 * and beats, and an idle `supervisord` supervising one sleeping program; all
 * watched over the same window so that they share the machine's noise.
 */
import { DENO } from "./agents.ts";
import { start } from "./child.ts";
import { type BenchContext, say } from "./context.ts";
import { ratioBelow, type Row, row, type Series, series, valueBelow } from "./figures.ts";
import { clockTicks, cpuTicks, rssBytes } from "./proc_stat.ts";
import { Supervisord } from "./supervisord.ts";

const BARE_JS = new URL("./peers/idle.js", import.meta.url).pathname;
const BEAT_TS = new URL("./peers/beat.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const MiB = 1024 * 1024;

export async function idleSection(ctx: BenchContext): Promise<Row[]> {
  await ctx.pool.grow(1);
  const agent = ctx.pool.agents[0];
  // The wider benchmark also watches an agent publishing telemetry every second.
  const telemetry = await ctx.pool.extra("idle-telemetry", ["--telemetry", "1s"]);
  const bare = start(ctx.scope, DENO, ["run", "-A", "--no-config", BARE_JS], { service: true });
  // Run with the repository's configuration: it imports the NATS client from node_modules.
  const beat = start(ctx.scope, DENO, ["run", "-A", "--config", CONFIG, BEAT_TS, ctx.broker.url], {
    service: true,
  });
  // Not there (no root to install it, apt failed): the other figures are still measured.
  const supervisord = await Supervisord.start(ctx.scope).catch((e: Error) => e.message);
  if (typeof supervisord === "string") say(`idle: supervisord not measured: ${supervisord}`);
  try {
    await bare.stderr.waitFor(/ready/, "bare deno process", 30_000);
    await beat.stderr.waitFor(/ready/, "deno with a NATS connection", 30_000);
    // Start-up work (compilation, first GCs) is not idleness: let them settle first.
    const settleMs = Math.min(5_000, Math.max(1_000, ctx.opts.idleMs / 10));
    say(`idle: settling ${settleMs / 1000} s, then watching ${ctx.opts.idleMs / 1000} s`);
    await sleep(settleMs);
    const pids = [agent.pid, telemetry.pid, bare.child.pid, beat.child.pid];
    if (typeof supervisord !== "string") pids.push(supervisord.pid);
    const [a, t, b, n, sv] = await watch(pids, ctx.opts.idleMs);
    const s = sv ?? unmeasured(supervisord as string);
    const secs = `${Math.round(ctx.opts.idleMs / 1000)} s`;
    const bareLabel = "bare deno (setInterval)";
    const beatLabel = "deno + NATS connection, publish every 5 s";
    const supLabel = "supervisord -n, one program (sleep infinity)";
    return [
      row(
        "idle",
        `CPU of an idle agent over ${secs} (defaults: heartbeat 5 s, no telemetry)`,
        a.cpu("tutti agent"),
        b.cpu(bareLabel),
        valueBelow(0.1),
        "% of one core: utime + stime from /proc/<pid>/stat over the whole window " +
          `(one tick of 10 ms = ${(1000 / ctx.opts.idleMs).toFixed(3)} %)`,
      ),
      row(
        "idle",
        `RSS of an idle agent over ${secs} (defaults)`,
        a.rss("tutti agent"),
        b.rss(bareLabel),
        ratioBelow(1.5),
        "median of one VmRSS sample a second",
      ),
      row(
        "idle",
        `CPU of an idle agent over ${secs} (defaults)`,
        a.cpu("tutti agent"),
        n.cpu(beatLabel),
        undefined,
        "the floor for any Deno process holding a NATS connection and beating like the agent",
      ),
      row(
        "idle",
        `RSS of an idle agent over ${secs} (defaults)`,
        a.rss("tutti agent"),
        n.rss(beatLabel),
      ),
      row(
        "idle",
        `CPU of an idle agent over ${secs}, telemetry every 1 s`,
        t.cpu("tutti agent --telemetry 1s"),
        b.cpu(bareLabel),
      ),
      row(
        "idle",
        `RSS of an idle agent over ${secs}, telemetry every 1 s`,
        t.rss("tutti agent --telemetry 1s"),
        b.rss(bareLabel),
        ratioBelow(1.5),
      ),
      row(
        "idle",
        `CPU of an idle agent over ${secs}, telemetry off`,
        a.cpu("tutti agent"),
        s.cpu(supLabel),
        undefined,
        "supervisord's own process (its program is idle); it wakes every second by design",
      ),
      row(
        "idle",
        `RSS of an idle agent over ${secs}, telemetry off`,
        a.rss("tutti agent"),
        s.rss(supLabel),
      ),
      row(
        "idle",
        `CPU of an idle agent over ${secs}, telemetry every 1 s`,
        t.cpu("tutti agent --telemetry 1s"),
        s.cpu(supLabel),
        valueBelow(0.2),
      ),
      row(
        "idle",
        `RSS of an idle agent over ${secs}, telemetry every 1 s`,
        t.rss("tutti agent --telemetry 1s"),
        s.rss(supLabel),
        valueBelow(60),
      ),
    ];
  } finally {
    if (typeof supervisord !== "string") await supervisord.stop();
    for (const p of [bare, beat]) {
      try {
        p.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await p.child.status;
    }
    await ctx.pool.stopExtra(telemetry);
  }
}

/** A fixed wait is the measurement itself here, not a synchronisation. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Watched {
  cpu(label: string): Series;
  rss(label: string): Series;
}

/** A peer that could not be watched: its rows say why. */
function unmeasured(why: string): Watched {
  return {
    cpu: (label) => series(label, "%", [], [why]),
    rss: (label) => series(label, "MiB", [], [why]),
  };
}

/**
 * Samples RSS every second; CPU is the difference of utime + stime over the
 * whole window. The kernel derives those from the scheduler's exact run time
 * of every thread, dead ones included; only their unit (1/100 s) is coarse,
 * hence one long window rather than many short ones.
 */
async function watch(pids: number[], durationMs: number): Promise<Watched[]> {
  const hz = await clockTicks();
  const t0 = performance.now();
  const ticks0 = pids.map(cpuTicks);
  const rss: number[][] = pids.map(() => []);
  const end = t0 + durationMs;
  for (let now = t0; now < end; now = performance.now()) {
    await sleep(Math.min(1_000, end - now));
    pids.forEach((p, i) => rss[i].push(rssBytes(p) / MiB));
  }
  const seconds = (performance.now() - t0) / 1000;
  const ticks1 = pids.map(cpuTicks);
  return pids.map((_, i) => {
    const ticks = ticks1[i] - ticks0[i];
    return {
      cpu: (label) =>
        series(label, "%", [ticks / hz / seconds * 100], [], {
          ticks,
          clockTicksPerSecond: hz,
          seconds,
        }),
      rss: (label) => series(label, "MiB", rss[i]),
    };
  });
}
