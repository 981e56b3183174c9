/**
 * A start at one instant (`run --at`) on N agent processes: how close
 * together the processes really start, read from the processes themselves
 * (each runs `date +%s%N`, its first reading of the clock: exec included).
 * Every agent shares this machine's clock, so the readings compare directly.
 *
 * - the spread of one round: the latest reading minus the earliest, beside
 *   the same N processes started by a plain `run` (at once, no instant);
 * - each process's reading after the instant, beside the start its agent
 *   reported (the keeper's reading as it started it, on the controller's
 *   clock): the difference is the exec and the clock's error.
 *
 * Rounds go through the controller library over one connection, each with
 * `at` = 2 s ahead, as `controller run --at +2s` would.
 */
import { Controller, type RunEvent } from "../controller/mod.ts";
import { type BenchContext, say } from "./context.ts";
import { type Goal, Recorder, type Row, row } from "./figures.ts";

const AHEAD_MS = 2000;
/** The target: the starts of a round within this of each other, at the 99th percentile. */
const TARGET_P99_MS = 5;

export async function syncSection(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.opts.syncAgents;
  say(`sync: starting agents up to ${n}`);
  await ctx.pool.grow(n);
  const hosts = `b-[1-${n}]`;
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  const spread = new Recorder(`tutti: run --at +2s on ${n} agents, latest − earliest start`, "ms");
  const atOnce = new Recorder(`the same run at once (no --at), latest − earliest start`, "ms");
  const late = new Recorder(`each process's own start after the instant`, "ms");
  const reported = new Recorder(
    `its start as reported (the keeper's, on the controller's clock)`,
    "ms",
  );
  const bounds: number[] = [];
  const reportedSkews: number[] = [];
  try {
    say(`sync: ${n} agents, warm-up, then ${ctx.opts.rounds} rounds`);
    for (let r = 0; r <= ctx.opts.rounds; r++) {
      const warm = r === 0;
      const at = Date.now() + AHEAD_MS;
      const synced = await startsOf(c, hosts, n, at);
      const plain = await startsOf(c, hosts, n);
      if (warm) continue;
      for (const [res, rec] of [[synced, spread], [plain, atOnce]] as const) {
        if (typeof res === "string") rec.fail(res);
        else rec.add(Math.max(...res.own) - Math.min(...res.own));
      }
      if (typeof synced === "string") continue;
      for (const t of synced.own) late.add(t - at);
      for (const t of synced.reported) reported.add(t - at);
      bounds.push(synced.bound);
      reportedSkews.push(synced.skew);
    }
  } finally {
    await c.close();
  }
  const skew = { p50: percentile(spread.samples, 0.5), p99: percentile(spread.samples, 0.99) };
  const s = spread.done({ ...skew, reportedSkews, clockBounds: bounds });
  const lateP = { p50: percentile(late.samples, 0.5), p99: percentile(late.samples, 0.99) };
  const l = late.done(lateP);
  const figure = `run --at on ${n} agents: start skew`;
  return [
    row(
      "sync",
      `${figure} (p50 ${fmt(skew.p50)}, p99 ${fmt(skew.p99)} ms)`,
      s,
      atOnce.done({ p50: percentile(atOnce.samples, 0.5), p99: percentile(atOnce.samples, 0.99) }),
      p99Below(TARGET_P99_MS, s.samples),
      `clock bounds ±${fmt(Math.max(0, ...bounds))} ms at most; the processes' own clock readings`,
    ),
    row(
      "sync",
      `run --at on ${n} agents: a process's start after the instant (p50 ${fmt(lateP.p50)}, ` +
        `p99 ${fmt(lateP.p99)} ms)`,
      l,
      reported.done(),
      undefined,
      "own: the process's first clock reading (date +%s%N); reported: the keeper's, before the exec",
    ),
  ];
}

interface Starts {
  /** Each process's own first clock reading, ms since the epoch. */
  own: number[];
  /** The starts the controller reported (run --at only). */
  reported: number[];
  skew: number;
  bound: number;
}

/** One run of `date +%s%N` on every host, at `at` or at once; a string says why it failed. */
async function startsOf(
  c: Controller,
  hosts: string,
  n: number,
  at?: number,
): Promise<Starts | string> {
  try {
    const run = c.run({ hosts, argv: ["date", "+%s%N"], ...(at !== undefined && { at }) });
    const text = new Map<string, string>();
    const d = new TextDecoder();
    for await (const e of run as AsyncIterable<RunEvent>) {
      if (e.type === "output") text.set(e.host, (text.get(e.host) ?? "") + d.decode(e.data));
    }
    const summary = await run.done;
    const ok = summary.hosts.filter((h) => h.status === "ok").length;
    if (!summary.ok || ok !== n) {
      const bad = summary.hosts.find((h) => h.status !== "ok");
      return `${ok} of ${n} ok${
        bad ? `: ${bad.host} ${bad.error?.code} ${bad.error?.message}` : ""
      }`;
    }
    const own = [...text.values()].map((t) => Number(BigInt(t.trim()) / 1000n) / 1000);
    if (own.length !== n || own.some((x) => !Number.isFinite(x))) return `outputs: ${[...text]}`;
    return {
      own,
      reported: summary.hosts.map((h) => h.sync?.start ?? NaN).filter(Number.isFinite),
      skew: summary.sync?.skew ?? NaN,
      bound: summary.sync?.bound ?? NaN,
    };
  } catch (e) {
    return (e as Error).message;
  }
}

/** Nearest-rank percentile. */
function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** tutti's own 99th percentile below `max` ms. */
function p99Below(max: number, samples: number[]): Goal {
  const goal: Goal = () => ({ text: `p99 < ${max} ms`, met: percentile(samples, 0.99) < max });
  goal.ownValue = true;
  return goal;
}

function fmt(x: number): string {
  return x.toFixed(2);
}
