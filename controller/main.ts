/**
 * The controller CLI: `controller [global options] VERB [options] ...`.
 * Parses the global and the verb's options in one go, answers `--help`,
 * connects on demand, and maps errors to messages and exit codes:
 * 0 success, 1 failure (a host failed, the broker is unreachable, ...),
 * 2 bad usage (unknown option, missing argument, bad selector: nothing sent).
 */
import { TuttiError } from "../protocol/errors.ts";
import { parseArgv, str } from "../protocol/cli/argv.ts";
import { UsageError } from "../protocol/cli/usage_error.ts";
import { alertsVerb } from "./cli/alerts.ts";
import { dashboardVerb } from "./cli/dashboard.ts";
import { hostsVerb } from "./cli/hosts.ts";
import { installVerb } from "./cli/install.ts";
import { killVerb, signalVerb } from "./cli/kill.ts";
import { logsVerb } from "./cli/logs.ts";
import { natsConfigVerb } from "./cli/nats_config.ts";
import { programsVerb } from "./cli/programs.ts";
import { psVerb } from "./cli/ps.ts";
import { runVerb } from "./cli/run.ts";
import { shellVerb } from "./cli/shell.ts";
import { shutdownVerb } from "./cli/shutdown.ts";
import { upgradeVerb } from "./cli/upgrade.ts";
import { getVerb, putVerb } from "./cli/put.ts";
import { planVerb } from "./cli/plan.ts";
import { queueVerb } from "./cli/queue.ts";
import { recordVerb } from "./cli/record.ts";
import { subVerb } from "./cli/sub.ts";
import { topVerb } from "./cli/top.ts";
import { watchVerb } from "./cli/watch.ts";
import type { CliContext, Verb } from "./cli/verb.ts";
import { ConnectError, Controller } from "./mod.ts";
import { reportIgnored } from "./render/ignored.ts";
import { controllerOptions, GLOBAL_OPTIONS, GLOBAL_USAGE, splitVerb } from "./options.ts";
import { type Out, ProcessOut } from "./render/out.ts";

export const VERBS: Verb[] = [
  hostsVerb,
  runVerb,
  psVerb,
  killVerb,
  signalVerb,
  logsVerb,
  subVerb,
  watchVerb,
  topVerb,
  dashboardVerb,
  alertsVerb,
  programsVerb,
  shutdownVerb,
  upgradeVerb,
  putVerb,
  getVerb,
  queueVerb,
  planVerb,
  recordVerb,
  shellVerb,
  natsConfigVerb,
  installVerb,
];

const SEE_HELP = "see `controller --help`";

export function usage(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  const verbs = VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`).join("\n");
  return `usage: controller [options] VERB [options] ...
Runs, signals and watches processes on many hosts through their tutti agents.

verbs:
${verbs}

${GLOBAL_USAGE}

controller VERB --help shows the options of VERB.`;
}

export async function controllerMain(args: string[], out: Out = new ProcessOut()): Promise<number> {
  const { verb: name, rest } = splitVerb(args);
  if (name === null) {
    let help = false;
    try {
      help = parseArgv(rest, GLOBAL_OPTIONS).values.help === true;
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      out.stderr(`controller: ${e.message}\n${SEE_HELP}\n`);
      return 2;
    }
    if (help) out.stdout(usage() + "\n");
    else out.stderr(`controller: missing VERB\n${usage()}\n`);
    return help ? 0 : 2;
  }
  const verb = VERBS.find((v) => v.name === name);
  if (!verb) {
    out.stderr(`controller: unknown verb ${JSON.stringify(name)}\n${SEE_HELP}\n`);
    return 2;
  }
  let controller: Controller | undefined;
  let endReport = () => {};
  try {
    const parsed = parseArgv(rest, { ...GLOBAL_OPTIONS, ...verb.options }, {
      stopAtWord: verb.stopAtWord,
    });
    if (parsed.values.help === true) {
      out.stdout(`${verb.usage}\n\n${GLOBAL_USAGE}\n`);
      return 0;
    }
    const options = controllerOptions(parsed.values);
    const ctx: CliContext = {
      out,
      prefix: str(parsed.values, "prefix"),
      connect: async () => {
        if (controller) return controller;
        controller = await Controller.connect(options);
        const v = parsed.values;
        const mode = v.json === true ? "json" : v.verbose === true ? "verbose" : "summary";
        endReport = reportIgnored(controller, out, mode);
        return controller;
      },
    };
    return await verb.main(parsed, ctx);
  } catch (e) {
    return report(e, verb, out);
  } finally {
    endReport();
    await controller?.close().catch(() => {});
  }
}

function report(e: unknown, verb: Verb, out: Out): number {
  if (e instanceof UsageError) {
    // One line and where help is: the whole usage would bury the line that matters.
    out.stderr(`controller ${verb.name}: ${e.message}\nsee \`controller ${verb.name} --help\`\n`);
    return 2;
  }
  if (e instanceof TuttiError) {
    out.stderr(`controller ${verb.name}: ${e.code} ${e.message}\n`);
    // A bug of tutti: the stack of what went wrong is what a report needs.
    if (e.code === "EINTERNAL" && e.cause instanceof Error && e.cause.stack) {
      out.stderr(`${e.cause.stack}\n`);
    }
    // Bad input is refused before anything is sent; anything else failed on the way.
    return e.code === "EBADSEL" || e.code === "EINVAL" ? 2 : 1;
  }
  if (e instanceof ConnectError) {
    out.stderr(`controller: ${e.message}\n`);
    return 1;
  }
  out.stderr(`controller ${verb.name}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
}
