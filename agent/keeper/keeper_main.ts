/**
 * `agent keeper --state-dir DIR`: the keeper's own entry point. The agent
 * starts it (detached, in a session of its own) when it finds none on its
 * state directory; nobody needs to start it by hand.
 */
import { StateFileError } from "./records.ts";
import { Keeper } from "./keeper.ts";
import { keeperPaths } from "./paths.ts";
import { takeKeeperLock } from "./lock.ts";
import { restoreAgentEnv } from "./environment.ts";

const encoder = new TextEncoder();

export async function keeperMain(args: string[]): Promise<number> {
  restoreAgentEnv();
  if (args.length !== 2 || args[0] !== "--state-dir" || args[1] === "") {
    console.error("usage: agent keeper --state-dir DIR (started by the agent itself)");
    return 2;
  }
  const paths = keeperPaths(args[1]);
  Deno.mkdirSync(args[1], { recursive: true });
  const logFile = Deno.openSync(paths.log, { append: true, create: true });
  const log = (message: string) => {
    try {
      logFile.writeSync(encoder.encode(`${new Date().toISOString()} keeper: ${message}\n`));
    } catch {
      // the log is best effort: the keeper's work is not
    }
  };
  const lock = takeKeeperLock(args[1]);
  if (lock === null) {
    log(`another keeper holds ${paths.lock}: exiting`);
    return 0;
  }
  // The keeper must outlive the agent's terminal, and a stop signal is the agent's to act on: the
  // keeper dying would take every process's pipes with it. It leaves when it has nothing to keep.
  for (const s of ["SIGHUP", "SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(s, () => log(`${s} ignored: stop the agent instead`));
  }
  try {
    await new Keeper(args[1], log).serve();
    return 0;
  } catch (e) {
    const why = e instanceof StateFileError ? e.message : (e as Error).stack ?? String(e);
    log(`cannot serve: ${why}`);
    // Left where the agent reports it from: the agent's own stderr is where users look.
    Deno.writeTextFileSync(`${paths.log}.fatal`, why + "\n");
    return 1;
  } finally {
    lock.unlockSync();
    lock.close();
  }
}
