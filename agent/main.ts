/**
 * `agent [options]`: parses the options, runs the agent until SIGTERM,
 * SIGINT or a controller's `shutdown`, and answers the process exit status
 * (0 after a clean stop, 2 for a usage error, 1 when the agent cannot
 * start).
 */
import { Agent } from "./agent.ts";
import { keeperMain } from "./keeper/keeper_main.ts";
import { reexec } from "./reexec.ts";
import { takeLauncherEnv } from "./self_command.ts";
import { log } from "./log.ts";
import { UsageError } from "../protocol/cli/usage_error.ts";
import { type AgentOptions, parseAgentOptions, USAGE } from "./options.ts";

const STOP_SIGNALS: Deno.Signal[] = ["SIGTERM", "SIGINT"];
const RESTART_SIGNAL: Deno.Signal = "SIGUSR1";

export async function agentMain(args: string[]): Promise<number> {
  // Before anything is spawned: what the one-file launcher set is not for the processes we run.
  takeLauncherEnv();
  // The keeper is this same program under another word; the agent starts it itself.
  if (args[0] === "keeper") return keeperMain(args.slice(1));
  let opts: AgentOptions;
  try {
    opts = parseAgentOptions(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // One line and where help is, as the controller does: 40 lines of usage bury the one that matters.
    console.error(`agent: ${e.message}\nsee \`agent --help\``);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  keepServingOnStrayErrors();

  // Installed before connecting: a stop must work while the broker is still unreachable.
  let signals = 0;
  let kill = () => {};
  const { promise: stopRequested, resolve: request } = Promise.withResolvers<"stop" | "reexec">();
  const requestStop = () => request("stop");
  const onSignal = () => {
    signals++;
    if (signals === 1) requestStop();
    else kill();
  };
  for (const s of STOP_SIGNALS) Deno.addSignalListener(s, onSignal);
  // SIGUSR1: restart in place, keeping every process (after installing a new agent, say).
  const onRestart = () => request("reexec");
  Deno.addSignalListener(RESTART_SIGNAL, onRestart);

  try {
    const agent = await Agent.start(opts, {
      stopRequested: stopRequested.then(() => {}),
      onKill: (fn) => kill = fn,
      requestStop,
      requestRestart: () => request("reexec"),
    });
    if (agent === null) return 0; // stopped before the broker answered
    kill = () => agent.killAll();
    const closed = agent.closed;
    const why = await Promise.race([stopRequested, closed]);
    if (why === "reexec") {
      log("restarting in place: every process stays with the keeper");
      await agent.detach();
      for (const s of STOP_SIGNALS) Deno.removeSignalListener(s, onSignal);
      Deno.removeSignalListener(RESTART_SIGNAL, onRestart);
      const failed = reexec();
      log(`cannot restart: ${failed.message}; exiting (the processes stay with the keeper)`);
      return 1;
    }
    if (why !== "stop") {
      log(`connection closed${why instanceof Error ? `: ${why.message}` : ""}`);
      return 1;
    }
    log("stopping");
    await agent.stop();
    return 0;
  } catch (e) {
    log(`cannot start: ${(e as Error).message}`);
    return 1;
  } finally {
    for (const s of STOP_SIGNALS) Deno.removeSignalListener(s, onSignal);
    Deno.removeSignalListener(RESTART_SIGNAL, onRestart);
  }
}

/**
 * A bug in one handler or pump must not stop the agent serving everything
 * else: log it and go on.
 */
function keepServingOnStrayErrors(): void {
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log(`internal error (unhandled rejection): ${e.reason?.stack ?? e.reason}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log(`internal error: ${e.error?.stack ?? e.message}`);
  });
}
