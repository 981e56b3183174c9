/**
 * Spawning one supervised process: its own session and process group
 * (`detached: true`: pid = pgid), stdin piped (for `attach`), stdout and
 * stderr piped to the agent or sent to /dev/null for `discard`, the
 * program's environment, working directory, umask and user.
 *
 * Deno cannot set a child's umask, and changing the agent's own around the
 * spawn would race with files its other threads create, so a program with
 * `umask` is started as `/bin/sh -c 'umask 022 && exec "$@"' sh PROGRAM
 * ARGS...`: the shell sets it and execs the program in place (same pid).
 *
 * The program and working directory are checked first, as supervisord does,
 * so a missing command is a precise spawn error rather than an exit status.
 *
 * With `tty`, the program runs under a pseudo-terminal made by script(1)
 * (terminal.ts), which also sets the umask.
 */
import { type ErrorCode, TuttiError } from "../../protocol/errors.ts";
import { underTerminal } from "./terminal.ts";
import { loginEnv, type UserSpec } from "./users.ts";

export interface LaunchSpec {
  argv: string[];
  /** null: the agent's working directory. */
  cwd: string | null;
  /** Added to the agent's environment. */
  env: Record<string, string>;
  umask: number | null;
  user: UserSpec | null;
  discardStdout: boolean;
  discardStderr: boolean;
  /** Under a pseudo-terminal (optional: keepers older than it ignore it, see keeper_launcher.ts). */
  tty?: boolean;
}

/** execvp(3)'s search path when there is no PATH. */
const DEFAULT_PATH = "/bin:/usr/bin";

export function launch(spec: LaunchSpec): Deno.ChildProcess {
  checkProgram(spec);
  let argv = spec.umask === null
    ? spec.argv
    : ["/bin/sh", "-c", `umask ${spec.umask.toString(8).padStart(3, "0")} && exec "$@"`, "sh"]
      .concat(spec.argv);
  let env = { ...spec.env };
  if (spec.tty) ({ argv, env } = underTerminal(spec.argv, spec.umask, env));
  // What login(1) would set; the program's own env still wins.
  if (spec.user !== null) env = loginEnv(spec.user, env);
  try {
    return new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: spec.cwd ?? undefined,
      env,
      stdin: "piped",
      stdout: spec.discardStdout ? "null" : "piped",
      stderr: spec.discardStderr ? "null" : "piped",
      detached: true,
      uid: spec.user?.uid,
      gid: spec.user?.gid,
    }).spawn();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new TuttiError("ESPAWN", `couldn't spawn ${spec.argv[0]}: ${why}`);
  }
}

/** Throws the error exec would meet, in supervisord's words. */
function checkProgram(spec: LaunchSpec): void {
  if (spec.cwd !== null) {
    const problem = fileProblem(spec.cwd);
    if (problem !== "directory") {
      const code: ErrorCode = problem === "missing" ? "ENOENT" : "ENOTDIR";
      throw new TuttiError(code, `couldn't chdir to ${spec.cwd}: ${code}`);
    }
  }
  const program = spec.argv[0];
  const base = spec.cwd ?? Deno.cwd();
  const candidates = program.includes("/")
    ? [program.startsWith("/") ? program : `${base}/${program}`]
    : (spec.env.PATH ?? Deno.env.get("PATH") ?? DEFAULT_PATH).split(":")
      .map((dir) => `${dir === "" ? base : dir}/${program}`);
  let unusable: { problem: string; path: string } | null = null;
  for (const path of candidates) {
    const problem = fileProblem(path);
    if (problem === null) return;
    if (problem !== "missing" && unusable === null) unusable = { problem, path };
  }
  if (unusable === null) throw new TuttiError("ENOENT", `can't find command '${program}'`);
  const what = unusable.problem === "directory" ? "is a directory" : "is not executable";
  throw new TuttiError("EACCES", `command at '${unusable.path}' ${what}`);
}

/** null for an executable file, else what `path` is instead. */
function fileProblem(path: string): "missing" | "directory" | "not executable" | null {
  try {
    const st = Deno.statSync(path);
    if (st.isDirectory) return "directory";
    if (st.mode !== null && (st.mode & 0o111) === 0) return "not executable";
    return null;
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) return "not executable";
    return "missing";
  }
}
