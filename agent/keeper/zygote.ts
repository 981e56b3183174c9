/**
 * A process started ahead of time, so that a `run` does not wait for a
 * spawn. Starting a process from Deno costs ~0.8 ms (fork of a large
 * process, pipes, registration), which is most of what a short `run` costs;
 * the keeper therefore keeps one `sh` ready, already in its own session with
 * its output pipes, blocked reading its stdin. A run hands it one line:
 * change directory, export the environment, and exec the program, so the
 * program gets the zygote's pid and pipes and starts in the time an exec
 * takes. Then, off the critical path, the next zygote is started.
 *
 * The line is made of single-quoted words (newlines travel as "$NL"), so
 * nothing in it is interpreted but the quoting. Commands it cannot express
 * (an environment name that is not a shell name, a cleared environment)
 * are spawned the usual way; so is a run that finds no zygote ready.
 */
import { checkProgram, spawnGroup, type SpawnSpec } from "../spawn.ts";

const SCRIPT = "NL=$(printf '\\nx'); NL=${NL%x}; IFS= read -r line || exit 0; eval \"$line\"";
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Zygote {
  private ready: { child: Deno.ChildProcess; gone: boolean } | null = null;
  private refill: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly log: (message: string) => void) {
    this.start();
  }

  /**
   * A child that is becoming `spec` (its line written), or null: then spawn
   * it the usual way. Spawn errors are those of the usual way (the program
   * and directory are checked first).
   */
  take(spec: SpawnSpec): Deno.ChildProcess | null {
    const z = this.ready;
    if (z === null || z.gone || !expressible(spec)) return null;
    checkProgram(spec);
    this.ready = null;
    const writer = z.child.stdin.getWriter();
    writer.write(new TextEncoder().encode(commandLine(spec) + "\n"))
      .then(() => writer.close())
      .catch((e) => this.log(`zygote ${z.child.pid}: ${(e as Error).message}`));
    this.refill ??= setTimeout(() => {
      this.refill = undefined;
      this.start();
    }, 0);
    return z.child;
  }

  /** The zygote reads end of file and exits. */
  close(): void {
    this.closed = true;
    clearTimeout(this.refill);
    const z = this.ready;
    this.ready = null;
    z?.child.stdin.close().catch(() => {});
    z?.child.stdout.cancel().catch(() => {});
    z?.child.stderr.cancel().catch(() => {});
  }

  private start(): void {
    if (this.closed || this.ready !== null) return;
    try {
      const child = spawnGroup({ argv: ["/bin/sh", "-c", SCRIPT] }, "piped");
      const z = { child, gone: false };
      child.status.then(() => z.gone = true, () => z.gone = true);
      this.ready = z;
    } catch (e) {
      this.log(`cannot start a zygote: ${(e as Error).message}`);
    }
  }
}

function expressible(spec: SpawnSpec): boolean {
  // A leading "-" would read as an option of exec.
  // A zygote is the keeper's user: another one is spawned directly, as it.
  if (spec.clearEnv || spec.user || spec.argv[0].startsWith("-")) return false;
  for (const k in spec.env ?? {}) if (!SHELL_NAME.test(k)) return false;
  return true;
}

/** The zygote's line: stdin from /dev/null, the directory, the environment, then exec. */
function commandLine(spec: SpawnSpec): string {
  const parts = ["exec </dev/null"];
  if (spec.cwd !== undefined) parts.push(`cd -- ${quote(spec.cwd)} || exit 126`);
  const env = Object.entries(spec.env ?? {});
  if (env.length > 0) parts.push("export " + env.map(([k, v]) => `${k}=${quote(v)}`).join(" "));
  parts.push("exec " + spec.argv.map(quote).join(" "));
  return parts.join("; ");
}

function quote(s: string): string {
  return "'" + s.replaceAll("'", "'\\''").replaceAll("\n", "'\"$NL\"'") + "'";
}
