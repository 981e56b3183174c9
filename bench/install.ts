/**
 * `controller install` to N nodes (default 20): from the command to N agents
 * up (each has said hello), and `--uninstall` of the same, through the
 * loopback sshd (every name `i-1` ... `i-N` is an alias of it, each agent in a
 * directory of its own under the benchmark account's home). Beside it, the
 * copy alone: the one file sent to the N hosts by `ssh host 'cat > f'` at the
 * same fan-out, the part of an install no installer can skip.
 */
import { DENO } from "./agents.ts";
import { timed } from "./child.ts";
import { type BenchContext, interleave, say } from "./context.ts";
import { Recorder, type Row, row } from "./figures.ts";
import { parallel } from "./parallel.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TIMEOUT_MS = 300_000;
const NODES = 20;
const FANOUT = 32;

export async function installSection(ctx: BenchContext): Promise<Row[]> {
  const install = new Recorder(`controller install, ${NODES} nodes → ${NODES} agents up`, "ms");
  const uninstall = new Recorder(`controller install --uninstall, ${NODES} nodes`, "ms");
  const copy = new Recorder(
    `the one file copied to ${NODES} nodes (ssh cat, ${FANOUT} at once)`,
    "ms",
  );
  const sshd = ctx.sshd;
  if (typeof sshd === "string") {
    for (const r of [install, uninstall, copy]) r.fail(sshd);
    return rows(install, uninstall, copy);
  }
  const dir = `${ctx.dir}/install`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/tutti-agent`;
  say("install: building the one-file agent");
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
  if (!built.success) throw new Error(`one_file.sh: ${new TextDecoder().decode(built.stderr)}`);
  // The benchmark account reads the file through ssh's stdin only; the controller reads it here.
  const env = { NATS_URL: ctx.broker.url, NO_COLOR: "1", TUTTI_STATE_DIR: `${dir}/controller` };
  const controller = (rec: Recorder, args: string[], expect: string) => async () => {
    const r = await timed(ctx.scope, DENO, [
      "run",
      "-A",
      "--no-config",
      ctx.opts.controllerJs,
      ...args,
    ], {
      env,
      timeoutMs: TIMEOUT_MS,
    });
    if (r.timedOut) rec.fail(`killed after ${TIMEOUT_MS} ms`);
    else if (r.code !== 0 || !r.output.includes(expect)) rec.fail(`exit ${r.code}: ${r.output}`);
    else rec.add(r.ms);
  };
  const hosts = `i-[1-${NODES}]`;
  // Relative to the benchmark account's home, where it may write.
  const common = [
    "install",
    "--ssh",
    hosts,
    "--ssh-config",
    sshd.clientConfig,
    "--dir",
    ".tutti-bench/{host}",
  ];
  const steps = (i: Recorder, u: Recorder, c: Recorder) => [
    async () => {
      await controller(i, [...common, "--agent", file], `${NODES} hosts: ${NODES} installed`)();
      await controller(u, [...common, "--uninstall"], `${NODES} hosts: ${NODES} removed`)();
    },
    async () => {
      const script =
        `ssh -F "$CFG" peer 'cat > .tutti-bench-copy.$$; rm -f .tutti-bench-copy.$$' < "$FILE"`;
      const r = await parallel(ctx.scope, NODES, FANOUT, "env", [
        `CFG=${sshd.clientConfig}`,
        `FILE=${file}`,
        "sh",
        "-c",
        script,
      ], TIMEOUT_MS);
      if (r.failed > 0) c.fail(`${r.failed} of ${NODES} failed: ${r.error}`);
      else c.add(r.ms);
    },
  ];
  const rounds = ctx.opts.sshRounds;
  say(`install: ${rounds} rounds of ${NODES} nodes installed and removed`);
  await interleave(rounds, steps(install, uninstall, copy));
  // --uninstall removed each agent's directory; their parent goes too.
  await new Deno.Command("ssh", {
    args: ["-F", sshd.clientConfig, "peer", "rmdir .tutti-bench 2>/dev/null; true"],
    stdin: "null",
  }).output();
  return rows(install, uninstall, copy);
}

function rows(install: Recorder, uninstall: Recorder, copy: Recorder): Row[] {
  const c = copy.done();
  return [
    row(
      "install",
      `controller install to ${NODES} nodes, command → every agent's hello`,
      install.done(),
      c,
    ),
    row("install", `controller install --uninstall of ${NODES} nodes`, uninstall.done(), c),
  ];
}
