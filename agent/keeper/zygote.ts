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
 *
 * A shell command (`sh -c CMD`, how every `run --` and queue task comes) is
 * not handed to a second shell: the zygote already is one. Each exec of a
 * dynamically linked program costs ~0.7 ms of CPU, as much as the rest of a
 * short run, so a command of plain words with a program first is exec'd
 * directly (the process is the program, as `sh -c` makes it), and any other
 * command is evaluated by the zygote itself, its own variables unset first.
 */
import { checkProgram, spawnGroup, type SpawnSpec } from "../spawn.ts";
import { PLAIN_SHELL_WORD } from "../../protocol/shell_word.ts";

// NL is a literal newline: a command substitution to make it would cost a fork per run.
const SCRIPT = "NL='\n'; IFS= read -r line || exit 0; eval \"$line\"";
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
  parts.push(shellCommand(spec.argv) ?? "exec " + spec.argv.map(quote).join(" "));
  return parts.join("; ");
}

/**
 * Names the shell gives a meaning of its own, as reserved words or
 * builtins: `exec NAME` would find a program instead, or nothing.
 */
const SHELL_NAMES = new Set(
  ("! { } case do done elif else esac fi for if in then until while . : [ alias bg break cd " +
    "chdir command continue echo eval exec exit export false fc fg getopts hash jobs kill " +
    "local printf pwd read readonly return set shift test times trap true type ulimit umask " +
    "unalias unset wait").split(" "),
);

/**
 * The zygote's own way to run `sh -c CMD`, or null for another argv: exec
 * for plain words naming a program, else an eval after unsetting the
 * zygote's variables (the eval's argument is expanded, newlines in, before
 * the unset inside it runs).
 */
function shellCommand(argv: string[]): string | null {
  // The zygote is /bin/sh: another shell's `-c` is left to that shell.
  if (argv.length !== 3 || argv[0] !== "/bin/sh" || argv[1] !== "-c") return null;
  const words = argv[2].trim().split(/[ \t]+/);
  const first = words[0];
  // The first word names a program: no assignment (`=`), no option of exec (`-`), no builtin.
  const program = !first.startsWith("-") && !first.includes("=") && !SHELL_NAMES.has(first);
  if (program && words.every((w) => PLAIN_SHELL_WORD.test(w))) {
    return "exec " + words.join(" ");
  }
  return "unset line; eval " + quote("unset NL; " + argv[2]);
}

function quote(s: string): string {
  return "'" + s.replaceAll("'", "'\\''").replaceAll("\n", "'\"$NL\"'") + "'";
}
