/**
 * Streaming throughput: one process writing B bytes (1 GiB by default) to
 * stdout, read to its last byte by a consumer in this Deno process:
 *
 * - tutti: `head -c B /dev/zero` run on one agent through the controller
 *   library, every `output` byte counted until `done`. The agent may skip
 *   live output when the controller falls behind (flow control); the library
 *   then fetches the gap from the agent's spool with `logs`, so the count is
 *   of bytes delivered to the consumer, and must equal B exactly. The agent's
 *   peak RSS meanwhile (VmRSS every 100 ms).
 * - `ssh host head -c B /dev/zero` through the loopback sshd, read here.
 * - the physical limit: `head -c B /dev/zero` on a local pipe, read here;
 *   and the same pipe into `cat > /dev/null`, which no Deno reader reaches.
 * - the broker's limit: B bytes published by another Deno process in messages
 *   of the agent's size (LIVE_CHUNK_MAX) with its flow control, received here.
 *
 * Figures in MB/s (10^6 bytes per second), from spawn (or request) to the
 * last byte.
 */
import { LIVE_CHUNK_MAX } from "../agent/live_output.ts";
import { Controller } from "../controller/mod.ts";
import { decodeMap } from "../protocol/codec.ts";
import { DENO } from "./agents.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { ratioAtLeast, Recorder, type Row, row, valueBelow } from "./figures.ts";
import { rssBytes } from "./proc_stat.ts";

const HOST = "stream-1";
const TIMEOUT_MS = 120_000;
const RSS_POLL_MS = 100;
const MiB = 1024 * 1024;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const PUBLISH_TS = new URL("./peers/publish.ts", import.meta.url).pathname;
/** The raw peer's message size: what the agent publishes when a process writes fast. */
const NATS_CHUNK = LIVE_CHUNK_MAX;
/** The warm-up streams this much: enough to warm caches and connections, short enough to spare time. */
const WARM_UP_BYTES = 64 * MiB;

export async function streamingSection(ctx: BenchContext): Promise<Row[]> {
  const bytes = ctx.opts.streamBytes;
  const rounds = ctx.opts.quick ? 2 : 3;
  const gen = (size: number) => ["head", "-c", String(size), "/dev/zero"];
  const shown = gen(bytes).join(" ");
  // Its own agent: a fresh process whose RSS is this section's alone. It keeps one exited
  // process (the one whose gaps may still be fetched), so at most two spool files are on disk.
  const agent = await ctx.pool.extra(HOST, ["--keep", "1"]);
  const c = await Controller.connect({ servers: [ctx.broker.url], stateDir: false });
  const tutti = new Recorder(`tutti: run ${shown} on one agent (library)`, "MB/s");
  const ssh = new Recorder(`ssh host ${shown}`, "MB/s");
  const pipe = new Recorder(`local pipe: ${shown}, read by Deno`, "MB/s");
  const cat = new Recorder(`local pipe: ${shown} | cat > /dev/null`, "MB/s");
  const nats = new Recorder(
    `raw NATS: another Deno process publishes it in ${NATS_CHUNK / 1024} KiB messages`,
    "MB/s",
  );
  const peak = new Recorder("tutti agent, peak VmRSS while streaming", "MiB");
  const fresh = new Recorder("the same agent, idle before any stream", "MiB");
  fresh.add(rssBytes(agent.pid) / MiB);
  const fetched: number[] = [];
  let n = 0;

  /** One stream of `size` bytes through the agent; recorded when `record`. */
  const tuttiOnce = async (size: number, record: boolean) => {
    const id = `stream-${Date.now().toString(36)}-${n++}`;
    let top = rssBytes(agent.pid) / MiB;
    const poll = setInterval(() => {
      try {
        top = Math.max(top, rssBytes(agent.pid) / MiB);
      } catch { /* the agent is gone: the run fails below */ }
    }, RSS_POLL_MS);
    // Skipped live ranges, announced by the agent; the library fetches them with `logs`.
    let dropped = 0;
    const sub = ctx.nc.subscribe(ctx.pool.subjects.proc(HOST, id, "dropped"), {
      callback: (_err, m) => {
        try {
          dropped += decodeDropped(m.data);
        } catch { /* not ours to judge */ }
      },
    });
    await ctx.nc.flush();
    const t0 = performance.now();
    let got = 0;
    let missing = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const run = c.run({ hosts: HOST, argv: gen(size), id });
      timer = setTimeout(() => c.kill({ hosts: HOST }, [id], { grace: 0 }), TIMEOUT_MS);
      for await (const e of run) {
        if (e.type === "output" && e.stream === "stdout") got += e.data.length;
        else if (e.type === "missing") missing += e.bytes;
      }
      const summary = await run.done;
      const ms = performance.now() - t0;
      if (!summary.ok) throw new Error(`run failed: ${JSON.stringify(summary.hosts[0])}`);
      if (missing > 0) throw new Error(`${missing} bytes reported missing`);
      if (got !== size) throw new Error(`${got} bytes delivered, ${size} written`);
      if (record) {
        tutti.add(size / 1e6 / (ms / 1000));
        peak.add(top);
        fetched.push(dropped);
      }
    } catch (e) {
      if (!record) throw e;
      tutti.fail((e as Error).message);
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      sub.unsubscribe();
    }
  };

  /** `cmd args` writing `size` bytes to its stdout, read here to the end. */
  const readOnce = async (rec: Recorder | null, size: number, cmd: string, args: string[]) => {
    const t0 = performance.now();
    const child = ctx.scope.track(
      new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "null" }).spawn(),
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    let got = 0;
    try {
      for await (const chunk of child.stdout) got += chunk.length;
      const status = await child.status;
      const ms = performance.now() - t0;
      if (!status.success) rec?.fail(`${cmd} exited with ${status.code}`);
      else if (got !== size) rec?.fail(`${got} bytes read, ${size} written`);
      else rec?.add(size / 1e6 / (ms / 1000));
    } finally {
      clearTimeout(timer);
    }
  };
  const catOnce = async (rec: Recorder | null, size: number) => {
    const t0 = performance.now();
    const child = ctx.scope.track(
      new Deno.Command("sh", {
        args: ["-c", `${gen(size).join(" ")} | cat > /dev/null`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
    const status = await child.status;
    if (status.success) rec?.add(size / 1e6 / ((performance.now() - t0) / 1000));
    else rec?.fail(`sh exited with ${status.code}`);
  };

  /** The broker's own limit: a Deno process publishing `size` bytes, received here. */
  const natsOnce = async (rec: Recorder | null, size: number) => {
    const subject = `bench.stream.${n++}`;
    let got = 0;
    const all = Promise.withResolvers<void>();
    const sub = ctx.nc.subscribe(subject, {
      callback: (_err, m) => {
        got += m.data.length;
        if (got >= size) all.resolve();
      },
    });
    await ctx.nc.flush();
    const t0 = performance.now();
    const child = ctx.scope.track(
      new Deno.Command(DENO, {
        args: ["run", "-A", "--config", CONFIG, PUBLISH_TS, ctx.broker.url, subject, String(size)]
          .concat(String(NATS_CHUNK)),
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn(),
    );
    const stderr = new Response(child.stderr).text();
    const timer = setTimeout(
      () => all.reject(new Error(`not done within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    try {
      const status = await child.status;
      if (!status.success) throw new Error(`publisher exited with ${status.code}: ${await stderr}`);
      await all.promise;
      const ms = performance.now() - t0;
      if (got !== size) throw new Error(`${got} bytes received, ${size} published`);
      rec?.add(size / 1e6 / (ms / 1000));
    } catch (e) {
      rec?.fail((e as Error).message);
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
  };

  const steps = (size: number, record: boolean) => {
    const r = (rec: Recorder) => record ? rec : null;
    const g = gen(size);
    const list = [
      () => tuttiOnce(size, record),
      () => readOnce(r(pipe), size, g[0], g.slice(1)),
      () => catOnce(r(cat), size),
      () => natsOnce(r(nats), size),
    ];
    const sshd = ctx.sshd;
    if (typeof sshd !== "string") list.push(() => readOnce(r(ssh), size, "ssh", sshd.args(...g)));
    return list;
  };
  try {
    say(`streaming ${sizeText(bytes)}: a short warm-up, then ${rounds} rounds`);
    await interleave(1, steps(Math.min(bytes, WARM_UP_BYTES), false));
    await interleave(rounds, steps(bytes, true));
  } finally {
    await c.close();
    await ctx.pool.stopExtra(agent);
  }
  if (typeof ctx.sshd === "string") ssh.fail(ctx.sshd);

  const size = sizeText(bytes);
  const t = tutti.done({ fetchedFromSpool: fetched });
  const figure = `stream ${size} of stdout from one agent to the controller`;
  const fetchedNote = fetched.length > 0
    ? `; skipped live and fetched from the spool: ${
      fetched.map((b) => `${(b / MiB).toFixed(0)} MiB`).join(", ")
    } per round`
    : "";
  return [
    row(
      "streaming",
      figure,
      t,
      ssh.done(),
      ratioAtLeast(1),
      "MB/s = 10^6 bytes/s, from the request (or spawn) to the last byte at the consumer, " +
        `byte-exact${fetchedNote}`,
    ),
    row("streaming", figure, t, pipe.done(), ratioAtLeast(0.5)),
    row("streaming", figure, t, cat.done()),
    row(
      "streaming",
      figure,
      t,
      nats.done(),
      undefined,
      "the same broker without tutti, with the agent's flow control (peers/publish.ts): " +
        "what the NATS client allows between two Deno processes; its start is included",
    ),
    row(
      "streaming",
      `agent RSS while streaming ${size}`,
      peak.done(),
      fresh.done(),
      valueBelow(120),
      `peak of VmRSS sampled every ${RSS_POLL_MS} ms, per round`,
    ),
  ];
}

function sizeText(bytes: number): string {
  const GiB = 1024 * MiB;
  if (bytes % GiB === 0) return `${bytes / GiB} GiB`;
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes} bytes`;
}

/** The `bytes` of a `dropped` event body. */
function decodeDropped(data: Uint8Array): number {
  const body = decodeMap(data);
  return typeof body.bytes === "number" ? body.bytes : 0;
}
