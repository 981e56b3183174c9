/**
 * The widest fan-out: N agents (1000 by default) emulated in a few processes
 * (emulated_host.ts: the real agent class, one NATS connection and one name
 * each), too many to run as separate Deno processes on one machine. The b-*
 * agent processes are stopped first, so that the machine is theirs.
 *
 * - `ping` to all of them through the controller library, until the N-th
 *   reply, beside the same broadcast answered by N bare NATS responders (one
 *   connection each, in the same processes): the broker's own limit.
 * - `run true` on all of them, to the last exit status, through the library
 *   and through the controller CLI, beside N local `true` spawned by `xargs -P N`.
 */
import { createInbox } from "@nats-io/transport-node";
import { Controller } from "../controller/mod.ts";
import { encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import { DENO } from "./agents.ts";
import { start, type Started, timed } from "./child.ts";
import {
  type BenchContext,
  type Contender,
  interleave,
  interleaveContenders,
  say,
} from "./context.ts";
import { allOk } from "./fanout.ts";
import { ratioAtMost, Recorder, type Row, row, valueBelow } from "./figures.ts";

const HOST_TS = new URL("./emulated_host.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
/** The emulated agents' names: e-1 ... e-N. */
const EMULATED_PREFIX = "e";
/** The subject the bare responders of emulated_host.ts answer on. */
const RAW_PING = "bench.raw.ping";
const READY_MS = 180_000;
/** File descriptors the broker may hold (this machine's `ulimit -n`), less a margin. */
const BROKER_FDS = 19_000;

/**
 * Bare responders per connection: one (each its own connection, like an
 * agent) while agents and responders fit the broker's file descriptors
 * together; past that (10,000 agents), two per connection. That spares the
 * broker connections, so it can only make the peer faster: ratios err
 * against tutti, never for it.
 */
function rawPerConnection(n: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, BROKER_FDS - n)));
}
const TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

export async function emulatedSection(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of ctx.opts.emulated) rows.push(...await emulatedSize(ctx, n));
  return rows;
}

/**
 * Targets: ping within 500 ms at 1000 agents; from there on, a cost per
 * reply that stays flat: ping at most 2x the bare responders and `run true`
 * at most 3x the local limit, whatever N.
 */
async function emulatedSize(ctx: BenchContext, n: number): Promise<Row[]> {
  const width = Math.min(ctx.opts.emulatedProcs, n);
  say(`emulated: stopping the b-* agent processes, starting ${n} agents in ${width} processes`);
  await ctx.pool.release();
  const hosts = `${EMULATED_PREFIX}-[1-${n}]`;
  const fleet = await startFleet(ctx, n, width);
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  try {
    const ping = new Recorder(`tutti library: ping({hosts: '${hosts}'})`, "ms");
    const raw = new Recorder(`raw NATS: one request, ${n} bare responders`, "ms");
    const lib = new Recorder(`tutti library: run({hosts: '${hosts}', argv: ['true']})`, "ms");
    const cli = new Recorder(`tutti: controller run --hosts '${hosts}' -- true`, "ms");
    const limit = new Recorder(`local limit: xargs -P ${n} true`, "ms");
    // N spawns take seconds on a small machine: the runs get fewer rounds than the pings.
    const rounds = ctx.opts.rounds;
    const runRounds = Math.max(2, Math.ceil(rounds / 2));
    const contenders: Contender[] = [
      { rec: ping, once: (rec) => pingOnce(c, hosts, n, rec) },
      { rec: raw, once: (rec) => rawOnce(ctx, n, rec) },
      { rec: lib, once: (rec) => runOnce(c, hosts, n, rec), rounds: runRounds },
      { rec: limit, once: (rec) => limitOnce(ctx, n, rec), rounds: runRounds },
      { rec: cli, once: (rec) => cliOnce(ctx, hosts, n, rec), rounds: Math.ceil(rounds / 3) },
    ];
    say(`emulated ${n}: warm-up, then ${rounds} rounds of ping, ${runRounds} of run`);
    await interleave(1, contenders.map((k) => () => k.once(new Recorder("warm-up", "ms"))));
    await interleaveContenders(
      rounds,
      contenders.map((k) => ({ run: () => k.once(k.rec), rounds: k.rounds })),
    );
    const l = limit.done();
    const where = `${n} emulated agents (${width} processes)`;
    return [
      row(
        "emulated",
        `ping ${where}, broadcast → last reply`,
        ping.done(),
        raw.done(),
        n <= 1000 ? valueBelow(500) : ratioAtMost(2),
        "one broadcast; the bare responders answer the same broadcast with its own bytes",
      ),
      row(
        "emulated",
        `run true on ${where}, command → last exit status, library in-process`,
        lib.done(),
        l,
        n <= 1000 ? valueBelow(3000) : ratioAtMost(3),
      ),
      row("emulated", `run true on ${where}, command → last exit status`, cli.done(), l),
    ];
  } finally {
    await c.close();
    await fleet.stop();
  }
}

async function pingOnce(c: Controller, hosts: string, n: number, rec: Recorder): Promise<void> {
  const t0 = performance.now();
  try {
    const replies = await c.ping({ hosts }).done;
    const ms = performance.now() - t0;
    const ok = replies.filter((r) => r.ok).length;
    if (ok !== n) rec.fail(`${ok} of ${n} answered`);
    else rec.add(ms);
  } catch (e) {
    rec.fail((e as Error).message);
  }
}

/** One request on the bare responders' subject, until the n-th reply. */
async function rawOnce(ctx: BenchContext, n: number, rec: Recorder): Promise<void> {
  const inbox = createInbox();
  const { promise, resolve } = Promise.withResolvers<number>();
  let got = 0;
  const sub = ctx.nc.subscribe(inbox, {
    max: n,
    callback: () => {
      if (++got === n) resolve(performance.now());
    },
  });
  await ctx.nc.flush();
  const body = encode({ v: PROTOCOL_VERSION, target: { hosts: `${EMULATED_PREFIX}-[1-${n}]` } });
  const timer = setTimeout(() => resolve(NaN), TIMEOUT_MS);
  const t0 = performance.now();
  ctx.nc.publish(RAW_PING, body, { reply: inbox });
  const at = await promise;
  clearTimeout(timer);
  sub.unsubscribe();
  if (Number.isNaN(at)) rec.fail(`${got} of ${n} replies within ${TIMEOUT_MS} ms`);
  else rec.add(at - t0);
}

async function runOnce(c: Controller, hosts: string, n: number, rec: Recorder): Promise<void> {
  const t0 = performance.now();
  try {
    const summary = await c.run({ hosts, argv: ["true"] }).done;
    const ms = performance.now() - t0;
    const ok = summary.hosts.filter((h) => h.status === "ok").length;
    if (!summary.ok || ok !== n) rec.fail(`${ok} of ${n} ok`);
    else rec.add(ms);
  } catch (e) {
    rec.fail((e as Error).message);
  }
}

async function cliOnce(ctx: BenchContext, hosts: string, n: number, rec: Recorder): Promise<void> {
  const r = await timed(
    ctx.scope,
    DENO,
    ["run", "-A", "--no-config", ctx.opts.controllerJs, "run", "--hosts", hosts, "--", "true"],
    { env: { NATS_URL: ctx.broker.url, NO_COLOR: "1" }, timeoutMs: TIMEOUT_MS },
  );
  if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
  else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
  else if (!allOk(r.output, n)) rec.fail(`no "${n} hosts: ${n} ok" summary: ${r.output}`);
  else rec.add(r.ms);
}

async function limitOnce(ctx: BenchContext, n: number, rec: Recorder): Promise<void> {
  const r = await timed(ctx.scope, "sh", ["-c", `seq 1 ${n} | xargs -P ${n} -n 1 true`], {
    timeoutMs: TIMEOUT_MS,
  });
  if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
  else rec.add(r.ms);
}

interface Fleet {
  stop(): Promise<void>;
}

/**
 * `width` processes of about n/width agents each, started one after the
 * other: each is CPU-bound while it starts.
 */
async function startFleet(ctx: BenchContext, n: number, width: number): Promise<Fleet> {
  const hosts: Started[] = [];
  const stop = async () => {
    for (const h of hosts) {
      try {
        h.child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      for (const h of hosts) {
        try {
          h.child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }
    }, STOP_GRACE_MS);
    await Promise.all(hosts.map((h) => h.child.status));
    clearTimeout(timer);
    hosts.length = 0;
  };
  // Also on an interrupt: SIGTERM first, so that every agent stops its processes and says bye.
  ctx.scope.defer("stop emulated agents", stop);
  try {
    let first = 1;
    for (let i = 0; i < width; i++) {
      const count = Math.floor(n / width) + (i < n % width ? 1 : 0);
      const h = start(ctx.scope, DENO, [
        "run",
        "-A",
        "--config",
        CONFIG,
        HOST_TS,
        ctx.broker.url,
        EMULATED_PREFIX,
        String(first),
        String(count),
        `${ctx.dir}/emulated`,
        RAW_PING,
        String(rawPerConnection(n)),
      ], { service: true });
      hosts.push(h);
      await h.stderr.waitFor(
        /emulated: ready/,
        `emulated agents ${first}-${first + count - 1}`,
        READY_MS,
      );
      first += count;
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}
