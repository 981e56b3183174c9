/**
 * The one-file agent (packaging/one_file.sh) beside the bundle it carries:
 * its size beside the runtime and bundle it replaces, and its start, warm
 * (the cache unpacked) and first (unpacking into an empty cache), to
 * `--help` and to the first `hello` on the broker, beside
 * `deno run -A --no-config agent.js`.
 */
import { decodeMap } from "../protocol/codec.ts";
import { Subjects } from "../protocol/subjects.ts";
import { DENO } from "./agents.ts";
import { start, timed } from "./child.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { Recorder, type Row, row, series } from "./figures.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TIMEOUT_MS = 60_000;
const MiB = 1024 * 1024;

export async function oneFileSection(ctx: BenchContext): Promise<Row[]> {
  const dir = `${ctx.dir}/one-file`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/tutti-agent`;
  say("one-file agent: building it from the bundle");
  const built = await new Deno.Command("bash", {
    args: [
      `${ROOT}packaging/one_file.sh`,
      "--bundle",
      ctx.opts.agentJs,
      "--runtime",
      DENO,
      "-o",
      file,
    ],
    stdin: "null",
  }).output();
  if (!built.success) {
    throw new Error(`packaging/one_file.sh failed: ${new TextDecoder().decode(built.stderr)}`);
  }
  const warmCache = `${dir}/cache`;
  let n = 0;
  const fresh = () => `${dir}/cache-${++n}`;

  const help = (rec: Recorder, cmd: string, args: string[], cache?: () => string) => async () => {
    const dirUsed = cache?.();
    const r = await timed(ctx.scope, cmd, [...args, "--help"], {
      env: { TUTTI_CACHE_DIR: dirUsed ?? warmCache },
      timeoutMs: TIMEOUT_MS,
    });
    if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
    else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
    else rec.add(r.ms);
    if (dirUsed) await Deno.remove(dirUsed, { recursive: true });
  };
  const hello = (rec: Recorder, cmd: string, args: string[]) => async () => {
    const name = `one-file-${++n}`;
    const subjects = new Subjects();
    const said = Promise.withResolvers<void>();
    const sub = ctx.nc.subscribe(subjects.presence(name), {
      callback: (_e, m) => {
        if (decodeMap(m.data).type === "hello") said.resolve();
      },
    });
    await ctx.nc.flush();
    const t0 = performance.now();
    const s = start(ctx.scope, cmd, [
      ...args,
      "--server",
      ctx.broker.url,
      "--name",
      name,
      "--state-dir",
      `${dir}/${name}`,
    ], { env: { TUTTI_CACHE_DIR: warmCache } });
    const timer = setTimeout(
      () => said.reject(new Error(`no hello within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    const died = s.child.status.then((st) => {
      throw new Error(`exited (${st.code}) before hello: ${s.stderr}`);
    });
    try {
      await Promise.race([said.promise, died]);
      rec.add(performance.now() - t0);
    } catch (e) {
      rec.fail((e as Error).message);
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
      try {
        s.child.kill("SIGTERM");
      } catch { /* gone */ }
      await s.child.status;
    }
  };

  const bundle = ["run", "-A", "--no-config", ctx.opts.agentJs];
  const rec = (label: string) => new Recorder(label, "ms");
  const oneHelp = rec("one file, cache warm: --help");
  const oneFirst = rec("one file, first start (unpacks): --help");
  const bundleHelp = rec("deno run agent.js --help");
  const oneHello = rec("one file: start → hello");
  const bundleHello = rec("deno run agent.js: start → hello");
  const steps = (h: Recorder, f: Recorder, b: Recorder, oh: Recorder, bh: Recorder) => [
    help(h, file, []),
    help(f, file, [], fresh),
    help(b, DENO, bundle),
    hello(oh, file, []),
    hello(bh, DENO, bundle),
  ];
  say(`one-file agent: warm-up, then ${ctx.opts.rounds} rounds`);
  const scratch = () => rec("warm-up");
  await interleave(1, steps(scratch(), scratch(), scratch(), scratch(), scratch()));
  await interleave(ctx.opts.rounds, steps(oneHelp, oneFirst, bundleHelp, oneHello, bundleHello));

  const size = (await Deno.stat(file)).size / MiB;
  const parts = ((await Deno.stat(DENO)).size + (await Deno.stat(ctx.opts.agentJs)).size) / MiB;
  const b = bundleHelp.done();
  return [
    row(
      "onefile",
      "agent artifact: the one file beside the Deno runtime + agent.js it carries",
      series("one file (gzip)", "MiB", [size]),
      series("deno + agent.js", "MiB", [parts]),
    ),
    row("onefile", "agent --help, process start → exit (cache warm)", oneHelp.done(), b),
    row(
      "onefile",
      "agent --help on a first start (unpacks into an empty cache)",
      oneFirst.done(),
      b,
    ),
    row("onefile", "agent start → first hello on the broker", oneHello.done(), bundleHello.done()),
  ];
}
