/**
 * The controller CLI's own start cost, part of every fan-out figure:
 * `controller --help` (start and exit) and `controller hosts` against a
 * prefix no agent uses (start, connect, discover nothing, exit), each
 * beside a bare `deno run` of an empty script.
 */
import { DENO } from "./agents.ts";
import { timed } from "./child.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { Recorder, type Row, row } from "./figures.ts";

const EMPTY_JS = new URL("./peers/empty.js", import.meta.url).pathname;
const TIMEOUT_MS = 30_000;
/** A prefix with no agent behind it: `hosts` finds nobody. */
const EMPTY_PREFIX = "benchempty";

export async function cliStartSection(ctx: BenchContext): Promise<Row[]> {
  const env = { NATS_URL: ctx.broker.url, NO_COLOR: "1", TUTTI_PREFIX: EMPTY_PREFIX };
  const once = (rec: Recorder, args: string[]) => async () => {
    const r = await timed(ctx.scope, DENO, ["run", "-A", "--no-config", ...args], {
      env,
      timeoutMs: TIMEOUT_MS,
    });
    if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
    else if (r.code !== 0) rec.fail(`exit ${r.code}: ${r.output}`);
    else rec.add(r.ms);
  };
  const help = new Recorder("tutti: controller --help", "ms");
  const hosts = new Recorder("tutti: controller hosts (no agents)", "ms");
  const bare = new Recorder("deno run of an empty script", "ms");
  const steps = (h: Recorder, o: Recorder, b: Recorder) => [
    once(h, [ctx.opts.controllerJs, "--help"]),
    once(o, [ctx.opts.controllerJs, "hosts"]),
    once(b, [EMPTY_JS]),
  ];
  say(`CLI start: warm-up, then ${ctx.opts.rounds} rounds`);
  const scratch = () => new Recorder("warm-up", "ms");
  await interleave(1, steps(scratch(), scratch(), scratch()));
  await interleave(ctx.opts.rounds, steps(help, hosts, bare));
  const b = bare.done();
  return [
    row("cli", "controller CLI start, process start → exit", help.done(), b),
    row("cli", "controller hosts against an empty broker", hosts.done(), b),
  ];
}
