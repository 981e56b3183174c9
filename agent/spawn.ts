/**
 * Starting programs in their own process group, signalling whole groups, and
 * turning the system's spawn errors into wire errors that name the path.
 *
 * Every process leads a new session, so its process group id is its pid and
 * `kill(-pid)` reaches everything it starts (unless a descendant makes its
 * own session). Deno's `detached: true` does that with fork() + setsid(),
 * and fork() of a V8 process costs ~5 ms on the run path. Where the system
 * has setsid(1), the agent instead posix_spawn()s `setsid PROGRAM ARGS...`
 * (~0.5 ms): setsid(1) calls setsid() (the spawned child is not a group
 * leader, so it does not fork) and execs the program, whose pid is the one
 * Deno returned. Exec errors would then surface as setsid's exit status, so
 * the program and working directory are checked first, the way execvp(3)
 * will look them up, to keep spawn errors precise and synchronous.
 */
import { type ErrorCode, TuttiError } from "../protocol/errors.ts";
import type { SignalName } from "../protocol/signals.ts";
import { loginEnv, type UserSpec } from "./supervisor/users.ts";

export interface SpawnSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** Run as this user (resolved and allowed by the agent: users.ts resolveUser). */
  user?: UserSpec;
}

/** execvp(3)'s search path when the environment has no PATH. */
const DEFAULT_PATH = "/bin:/usr/bin";

let setsidBinary: string | null | undefined;

/** setsid(1), looked up once. */
function setsid(): string | null {
  if (setsidBinary !== undefined) return setsidBinary;
  setsidBinary = null;
  for (const p of ["/usr/bin/setsid", "/bin/setsid"]) {
    if (fileProblem(p) === null) {
      setsidBinary = p;
      break;
    }
  }
  return setsidBinary;
}

export function spawnGroup(
  spec: SpawnSpec,
  /** "piped": the child's stdin is a pipe (a zygote reads its command there, a run its input). */
  stdin: "null" | "piped" = "null",
): Deno.ChildProcess {
  const wrapper = setsid();
  // A program name starting with "-" would read as an option of setsid(1).
  const viaSetsid = wrapper !== null && !spec.argv[0].startsWith("-");
  if (viaSetsid) checkProgram(spec);
  const user = spec.user;
  try {
    return new Deno.Command(viaSetsid ? wrapper : spec.argv[0], {
      args: viaSetsid ? spec.argv : spec.argv.slice(1),
      cwd: spec.cwd,
      // What login(1) would set; the run's own env still wins.
      env: user ? loginEnv(user, spec.env ?? {}) : spec.env,
      clearEnv: spec.clearEnv,
      // Deno then forks instead of posix_spawn (setgroups(0), setgid, setuid in the child).
      uid: user?.uid,
      gid: user?.gid,
      stdin,
      stdout: "piped",
      stderr: "piped",
      detached: !viaSetsid,
    }).spawn();
  } catch (e) {
    throw spawnError(e, spec);
  }
}

/**
 * Throws the error exec would give: the working directory, then the program
 * (a path, or a search of the child's PATH as execvp does it).
 */
export function checkProgram(spec: SpawnSpec): void {
  const program = spec.argv[0];
  if (spec.cwd !== undefined) {
    const problem = checkCwd(spec.cwd);
    if (problem) {
      throw new TuttiError(
        problem,
        `spawn ${program}: working directory ${spec.cwd}: ${WORDS[problem]}`,
      );
    }
  }
  const base = spec.cwd ?? ".";
  if (program.includes("/")) {
    const problem = fileProblem(program.startsWith("/") ? program : `${base}/${program}`);
    if (problem) throw new TuttiError(problem, `spawn ${program}: ${WORDS[problem]}`);
    return;
  }
  const path = spec.env?.PATH ??
    (spec.clearEnv ? undefined : Deno.env.get("PATH")) ?? DEFAULT_PATH;
  // The common case, the same program again: one stat where it was found last time.
  const key = `${base}\0${path}\0${program}`;
  const last = foundIn.get(key);
  if (last !== undefined && fileProblem(last) === null) return;
  let found: ErrorCode = "ENOENT";
  for (const dir of path.split(":")) {
    const d = dir === "" ? base : dir.startsWith("/") ? dir : `${base}/${dir}`;
    const problem = fileProblem(`${d}/${program}`);
    if (problem === null) {
      if (foundIn.size >= FOUND_IN_MAX) foundIn.clear();
      foundIn.set(key, `${d}/${program}`);
      return;
    }
    // Like execvp: a match that cannot be run is remembered, the search goes on.
    if (problem === "EACCES") found = "EACCES";
  }
  throw new TuttiError(found, `spawn ${program}: ${WORDS[found]}`);
}

/**
 * Where a program was found, per (cwd, PATH, name). Only a shortcut for the
 * check: execvp(3) in setsid(1) does the real lookup, so a stale entry can
 * never run the wrong file.
 */
const foundIn = new Map<string, string>();
const FOUND_IN_MAX = 256;

/**
 * Why exec of `path` would fail, or null when it may work. Only certain
 * failures are claimed: a file with any execute bit is left to exec to judge.
 */
function fileProblem(path: string): ErrorCode | null {
  try {
    const st = Deno.statSync(path);
    if (st.isDirectory) return "EACCES";
    if (st.mode !== null && (st.mode & 0o111) === 0) return "EACCES";
    return null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "ENOENT";
    if (e instanceof Deno.errors.NotADirectory) return "ENOTDIR";
    if (e instanceof Deno.errors.PermissionDenied) return "EACCES";
    return null;
  }
}

/** Words of strerror(3), which is what users know these errors by. */
const WORDS: Partial<Record<ErrorCode, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  ENOEXEC: "exec format error",
  ENOTDIR: "not a directory",
};

function spawnError(e: unknown, spec: SpawnSpec): TuttiError {
  const program = spec.argv[0];
  const cwdProblem = spec.cwd !== undefined ? checkCwd(spec.cwd) : null;
  if (cwdProblem) {
    return new TuttiError(
      cwdProblem,
      `spawn ${program}: working directory ${spec.cwd}: ${WORDS[cwdProblem]}`,
    );
  }
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && WORDS[code as ErrorCode]) {
    return new TuttiError(code as ErrorCode, `spawn ${program}: ${WORDS[code as ErrorCode]}`);
  }
  if (e instanceof Deno.errors.NotFound) {
    return new TuttiError("ENOENT", `spawn ${program}: ${WORDS.ENOENT}`);
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new TuttiError("EACCES", `spawn ${program}: ${WORDS.EACCES}`);
  }
  if (e instanceof Deno.errors.NotADirectory) {
    return new TuttiError("ENOTDIR", `spawn ${program}: ${WORDS.ENOTDIR}`);
  }
  const why = e instanceof Error ? e.message : String(e);
  return new TuttiError("ESPAWN", `spawn ${program}: ${why}`);
}

/** Only on the error path: was the working directory what made the spawn fail? */
function checkCwd(cwd: string): ErrorCode | null {
  try {
    return Deno.statSync(cwd).isDirectory ? null : "ENOTDIR";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "ENOENT";
    if (e instanceof Deno.errors.NotADirectory) return "ENOTDIR";
    if (e instanceof Deno.errors.PermissionDenied) return "EACCES";
    return null;
  }
}

/**
 * Signals process group `pgid`. A group that is already gone is not an error
 * (the caller's intent, that it stop, holds); a refusal is EPERM.
 *
 * `leaderAlive` covers the instant after a spawn through setsid(1), before
 * the child has made its group: then the leader alone gets the signal.
 * (Only while it is unreaped: its pid cannot belong to anyone else then.)
 */
export function signalGroup(pgid: number, signal: SignalName, leaderAlive = false): void {
  if (kill(-pgid, signal) || !leaderAlive) return;
  kill(pgid, signal);
}

/** kill(2); false when there is no such process or group. */
function kill(target: number, signal: SignalName): boolean {
  try {
    Deno.kill(target, signal);
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof Deno.errors.NotFound || code === "ESRCH") return false;
    const what = target < 0 ? `process group ${-target}` : `process ${target}`;
    if (e instanceof Deno.errors.PermissionDenied || code === "EPERM") {
      throw new TuttiError("EPERM", `signal ${signal} to ${what}: not permitted`);
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new TuttiError("EINVAL", `signal ${signal} to ${what}: ${why}`);
  }
}
