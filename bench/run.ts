/**
 * `deno task bench`: tutti measured beside its peers on this machine, every
 * figure in the same run as its peer. Sets up a broker, the agent pool and
 * the loopback sshd, runs the sections, writes bench/results/latest.{json,md}
 * and prints the table. Everything it starts is stopped (by PID) and every
 * temporary directory removed, whatever happens.
 */
import { connect } from "@nats-io/transport-node";
import { AgentPool } from "./agents.ts";
import { Broker } from "./broker.ts";
import { cliStartSection } from "./cli_start.ts";
import { type BenchContext, say } from "./context.ts";
import { emulatedSection } from "./emulated.ts";
import { faninSection } from "./fanin.ts";
import { fanoutSection } from "./fanout.ts";
import type { Row } from "./figures.ts";
import { idleSection } from "./idle.ts";
import { installSection } from "./install.ts";
import { loadAverage, machineInfo } from "./machine.ts";
import { oneFileSection } from "./one_file.ts";
import { queueSection } from "./queue.ts";
import { UsageError } from "../protocol/cli/usage_error.ts";
import { type BenchOptions, parseBenchOptions, type Section, USAGE } from "./options.ts";
import { updateReadme, writeReport } from "./report.ts";
import { roundTripSection } from "./round_trip.ts";
import { Scope } from "./scope.ts";
import { soakSection } from "./soak.ts";
import { spawnRateSection } from "./spawn_rate.ts";
import { Sshd, SshUnavailable } from "./sshd.ts";
import { streamingSection } from "./streaming.ts";
import { syncSection } from "./sync.ts";
import { planSection } from "./plan.ts";
import { transferSection } from "./transfer.ts";

/**
 * In this order: the idle agent must be fresh, the round trip wants a quiet
 * machine, the CLI's start, the streaming and the fan-in (its own agents,
 * stopped at its end) are measured before the fan-out brings up its agents
 * (the soak's agents and programs are gone by then too; the start at an
 * instant takes the first 20 of them, before the others idle), the
 * transfers and the work queue reuse the fan-out's agents, and the emulated agents come last,
 * once those agent processes are stopped.
 */
const SECTIONS: Record<Section, (ctx: BenchContext) => Promise<Row[]>> = {
  idle: idleSection,
  roundtrip: roundTripSection,
  spawnrate: spawnRateSection,
  cli: cliStartSection,
  onefile: oneFileSection,
  streaming: streamingSection,
  fanin: faninSection,
  soak: soakSection,
  sync: syncSection,
  plan: planSection,
  fanout: fanoutSection,
  install: installSection,
  transfer: transferSection,
  queue: queueSection,
  emulated: emulatedSection,
};

async function main(args: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchOptions(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  for (const f of [opts.agentJs, opts.controllerJs]) {
    if (!await Deno.stat(f).then(() => true, () => false)) {
      console.error(`bench: ${f} is missing: run \`deno task bundle\` first`);
      return 1;
    }
  }

  const started = performance.now();
  const scope = new Scope();
  const stopOnSignals = scope.closeOnSignals();
  try {
    const machine = await machineInfo();
    const dir = await scope.tempDir("tutti-bench-");
    const broker = await Broker.start(scope);
    const nc = await connect({ servers: broker.url });
    scope.defer("close NATS connection", () => nc.close());
    const pool = new AgentPool(scope, nc, broker.url, dir, opts.agentJs);
    const ctx: BenchContext = { opts, scope, dir, broker, nc, pool, sshd: "not needed" };
    const sshUsers: Section[] = ["fanout", "streaming", "install", "fanin", "transfer", "queue"];
    if (sshUsers.some((s) => opts.sections.includes(s))) ctx.sshd = await startSshd(scope);

    const rows: Row[] = [];
    const errors: { section: string; error: string }[] = [];
    machine.loadAverageBySection = {};
    for (const name of Object.keys(SECTIONS) as Section[]) {
      if (!opts.sections.includes(name)) continue;
      machine.loadAverageBySection[name] = await loadAverage();
      try {
        rows.push(...await SECTIONS[name](ctx));
      } catch (e) {
        // One section's failure is reported; the others still measure.
        const error = e instanceof Error ? e.stack ?? e.message : String(e);
        say(`section ${name} failed: ${error}`);
        errors.push({ section: name, error });
      }
    }
    const command = ["deno task bench", ...args].join(" ");
    const seconds = (performance.now() - started) / 1000;
    machine.loadAverageEnd = await loadAverage();
    const md = await writeReport(
      { command, options: opts, machine, seconds, rows, errors },
      opts.out,
    );
    console.log(md);
    say(`wrote ${opts.out}/latest.json and latest.md`);
    if (isFullRun(opts, args) && errors.length === 0) {
      await updateReadme(md, README, opts.out);
      say("and the results in bench/README.md");
    }
    return errors.length > 0 ? 1 : 0;
  } finally {
    await scope.close();
    stopOnSignals();
  }
}

const README = new URL("./README.md", import.meta.url).pathname;
const DEFAULT_OUT = new URL("./results", import.meta.url).pathname;

/** Only a complete run with the default figures goes into the README. */
function isFullRun(opts: BenchOptions, args: string[]): boolean {
  const allowed = new Set(["--out", "--dist"]);
  return args.every((a, i) => allowed.has(a) || allowed.has(args[i - 1] ?? "")) &&
    opts.out.replace(/\/$/, "") === DEFAULT_OUT;
}

async function startSshd(scope: Scope): Promise<Sshd | string> {
  try {
    say("starting the loopback sshd");
    return await Sshd.start(scope);
  } catch (e) {
    if (!(e instanceof SshUnavailable)) throw e;
    say(`ssh peer not measured: ${e.message}`);
    return e.message;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
