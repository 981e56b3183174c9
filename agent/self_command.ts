/**
 * The command line that runs this very program again, with other arguments:
 * how the agent starts its keeper and re-executes itself.
 *
 * /proc/self/cmdline is the exact argv (`deno run -A dist/agent.js ARGS`,
 * `dist/agent ARGS`, `deno run -A main.ts agent ARGS`); what comes before
 * Deno.args is the way to start the program, relative paths included (the
 * agent never changes directory). The program is Deno.execPath(), which
 * needs no PATH search.
 *
 * Started from the one-file agent (packaging/launcher.sh), the program is
 * that file instead: the runtime and bundle it unpacked into its cache are
 * one version's, while the file is what an upgrade replaces, and the keeper
 * is started the same way as the agent.
 */

/** Set by the one-file launcher: its own path. */
const LAUNCHER = "TUTTI_LAUNCHER";
/** Set by the launcher: the names of the variables it set itself (DENO_DIR, ...). */
const LAUNCHER_ENV = "TUTTI_LAUNCHER_ENV";
/** The user's choice of cache directory for the launcher: needed again by each re-execution. */
const CACHE_DIR = "TUTTI_CACHE_DIR";

let launcher: { path: string; env: Record<string, string> } | null | undefined;

/**
 * Takes the launcher's variables out of this process's environment, so that
 * no process the agent (or its keeper) runs inherits them; they are given
 * back to this program's own re-executions only (`selfEnv`). Called first
 * thing; later calls change nothing.
 */
export function takeLauncherEnv(): void {
  if (launcher !== undefined) return;
  const path = Deno.env.get(LAUNCHER);
  const names = (Deno.env.get(LAUNCHER_ENV) ?? "").split(" ").filter((n) => n !== "");
  const cache = Deno.env.get(CACHE_DIR);
  for (const name of [LAUNCHER, LAUNCHER_ENV, ...names]) Deno.env.delete(name);
  launcher = null;
  if (path === undefined) return;
  Deno.env.delete(CACHE_DIR);
  launcher = { path, env: cache === undefined ? {} : { [CACHE_DIR]: cache } };
}

/** The launcher file this agent was started from, while it is still there. */
function launcherPath(): string | null {
  takeLauncherEnv();
  if (!launcher) return null;
  try {
    return Deno.statSync(launcher.path).isFile ? launcher.path : null;
  } catch {
    // Removed since: the runtime in the cache still runs this version.
    return null;
  }
}

export function selfCommand(args: string[]): string[] {
  // main.ts takes its mode from the first argument when its name does not say it.
  const mode = Deno.args[0] === "agent" ? ["agent"] : [];
  const file = launcherPath();
  if (file !== null) return [file, ...mode, ...args];
  const argv = cmdline();
  const start = argv.slice(1, argv.length - Deno.args.length);
  return [Deno.execPath(), ...start, ...mode, ...args];
}

/** This program's own command line, as it was started (for a re-exec in place). */
export function ownCommand(): string[] {
  const file = launcherPath();
  if (file !== null) return [file, ...Deno.args];
  return [Deno.execPath(), ...cmdline().slice(1)];
}

/** The environment for this program's own re-executions: this one's, and the launcher's choices. */
export function selfEnv(): Record<string, string> {
  takeLauncherEnv();
  return { ...Deno.env.toObject(), ...launcher?.env };
}

function cmdline(): string[] {
  const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}
