/**
 * The programs file: every key with its default and its validation, in one
 * place. `parseConfig` returns a complete `SupervisorConfig` or throws one
 * `ConfigError` listing every problem of the file, each with its line and
 * key: `programs.yaml:7: programs.nginx.autorestart: expected always, never
 * or unexpected, got "sometimes"`.
 *
 * ```yaml
 * programs:
 *   nginx:
 *     cmd: "/usr/local/bin/nginx -c /etc/nginx/test.conf"   # or a list: [nginx, -c, …]
 *     numprocs: 1           # N > 1 gives processes nginx:0 … nginx:N-1
 *     umask: 022            # octal, as supervisord reads it (022, 22, 0o22, "022")
 *     workingdir: /tmp
 *     autostart: true
 *     autorestart: unexpected   # always | never | unexpected
 *     exitcodes: [0, 2]     # or a single number
 *     startretries: 3
 *     starttime: 5          # seconds (decimals allowed) up before it counts as started
 *     stopsignal: TERM
 *     stoptime: 10          # seconds after the stop signal before SIGKILL
 *     stdout: /tmp/nginx.stdout   # a path, or discard
 *     stderr: /tmp/nginx.stderr
 *     env: {STARTED_BY: tutti, ANSWER: 42}
 *     user: www-data        # only when the agent runs as root
 *     tty: false            # true: under a pseudo-terminal, for attach (terminal.ts)
 * ```
 *
 * Defaults are supervisord's (numprocs 1, umask and workingdir inherited
 * from the agent, autostart true, autorestart unexpected, exitcodes [0],
 * startretries 3, starttime 1, stopsignal TERM, stoptime 10), except the
 * output files: by default `<state-dir>/programs/<program>[.<n>].stdout|stderr`.
 * Relative paths (workingdir, stdout, stderr) are taken from the directory
 * of the configuration file; as in supervisord, the working directory and
 * the directories of output files must exist when the file is loaded.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLMap,
} from "yaml";
import { suggest } from "../../protocol/text/suggest.ts";
import { type ErrorCode, TuttiError } from "../../protocol/errors.ts";
import { parseSignal, type SignalName } from "../../protocol/signals.ts";
import { isToken } from "../../protocol/subjects.ts";
import { splitCommand } from "./command_line.ts";
import { readPasswd, resolveUser, type UserSpec } from "./users.ts";

export type AutoRestart = "always" | "never" | "unexpected";

/** `stdout: discard` / `stderr: discard`. */
export const DISCARD = "discard";

/** One program, complete: every key has its value or its default. */
export interface ProgramConfig {
  name: string;
  /** `cmd` as written (a list is joined with blanks), for messages. */
  cmd: string;
  argv: string[];
  numprocs: number;
  umask: number | null;
  workingdir: string | null;
  autostart: boolean;
  autorestart: AutoRestart;
  exitcodes: number[];
  startretries: number;
  /** Seconds. */
  starttime: number;
  stopsignal: SignalName;
  /** Seconds. */
  stoptime: number;
  /** An absolute path, `DISCARD`, or null for the default file under the state directory. */
  stdout: string | null;
  stderr: string | null;
  env: Record<string, string>;
  user: UserSpec | null;
  /** Runs under a pseudo-terminal (terminal.ts): stdout and stderr are both its output. */
  tty: boolean;
}

export interface SupervisorConfig {
  /** The file name used in messages. */
  source: string;
  /** In file order. */
  programs: ProgramConfig[];
}

/** Where a configuration comes from and what it may assume about the system. */
export interface ConfigContext {
  /** Named in every message: the path as the user gave it. */
  source: string;
  /** Relative paths in the file are taken from here. */
  baseDir: string;
  /** The agent's uid: a `user` other than this one needs root. */
  uid: number;
  /** Text of the passwd file `user` is looked up in. */
  passwd: string;
}

/** The context of a file at `path` on this system. */
export function fileContext(path: string): ConfigContext {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  return {
    source: path,
    baseDir: dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`,
    uid: Deno.uid() ?? 0,
    passwd: readPasswd(),
  };
}

export interface ConfigProblem {
  line: number;
  /** Dotted path of the key (`programs.nginx.autorestart`), "" for a syntax error. */
  key: string;
  message: string;
  code: ErrorCode;
}

/**
 * Everything wrong with a configuration file, one problem per line of the
 * message. Its code is EINVAL, or EPERM when every problem is a user switch
 * the agent may not make.
 */
export class ConfigError extends TuttiError {
  constructor(readonly source: string, readonly problems: ConfigProblem[]) {
    super(
      problems.every((p) => p.code === "EPERM") ? "EPERM" : "EINVAL",
      problems.map((p) => `${source}:${p.line}: ${p.key ? `${p.key}: ` : ""}${p.message}`)
        .join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** A problem with one value; `parseConfig` adds the line and the key. */
class Bad extends Error {
  constructor(message: string, readonly code: ErrorCode = "EINVAL") {
    super(message);
  }
}

const AUTORESTART: readonly AutoRestart[] = ["always", "never", "unexpected"];
const MAX_SECONDS = 86400;
const MAX_NUMPROCS = 10000;

/** One reader per key: the only keys a program may have. */
const FIELDS = {
  cmd: readCmd,
  numprocs: (n: Node) => readInt(n, 1, MAX_NUMPROCS),
  umask: readUmask,
  workingdir: readWorkingdir,
  autostart: readBool,
  autorestart: (n: Node) => readChoice(n, AUTORESTART),
  exitcodes: readExitcodes,
  startretries: (n: Node) => readInt(n, 0, 1000),
  starttime: readSeconds,
  stopsignal: readSignal,
  stoptime: readSeconds,
  stdout: readOutput,
  stderr: readOutput,
  env: readEnv,
  user: readUser,
  tty: readBool,
} as const;

type FieldName = keyof typeof FIELDS;

function defaults(name: string): Omit<ProgramConfig, "cmd" | "argv"> {
  return {
    name,
    numprocs: 1,
    umask: null,
    workingdir: null,
    autostart: true,
    autorestart: "unexpected",
    exitcodes: [0],
    startretries: 3,
    starttime: 1,
    stopsignal: "SIGTERM",
    stoptime: 10,
    stdout: null,
    stderr: null,
    env: {},
    user: null,
    tty: false,
  };
}

export function parseConfig(text: string, ctx: ConfigContext): SupervisorConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: ConfigProblem[] = [];
  const lineOf = (n: Node | null | undefined) => n?.range ? lines.linePos(n.range[0]).line : 1;
  const report = (n: Node | null | undefined, key: string, e: unknown) => {
    const bad = e instanceof Bad ? e : new Bad(e instanceof Error ? e.message : String(e));
    problems.push({ line: lineOf(n), key, message: bad.message, code: bad.code });
  };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      problems.push({
        line: lines.linePos(e.pos[0]).line,
        key: "",
        message: `YAML syntax: ${e.message.split("\n")[0]}`,
        code: "EINVAL",
      });
    }
    throw new ConfigError(ctx.source, problems);
  }
  const deref = (n: unknown): Node | null => {
    const node = isAlias(n) ? n.resolve(doc) : n;
    return (node ?? null) as Node | null;
  };

  const programs: ProgramConfig[] = [];
  const root = deref(doc.contents);
  if (root === null || (isScalar(root) && root.value === null)) {
    report(root, "", new Bad("expected a map with the key programs, got an empty file"));
  } else if (!isMap(root)) {
    report(root, "", new Bad(`expected a map with the key programs, got ${describe(root)}`));
  } else {
    let seen = false;
    for (const pair of root.items) {
      const key = keyName(pair.key);
      if (key !== "programs") {
        report(pair.key as Node, String(key), new Bad("unknown key (the file has only programs)"));
        continue;
      }
      seen = true;
      const value = deref(pair.value);
      if (value === null || (isScalar(value) && value.value === null)) continue;
      if (!isMap(value)) {
        report(value, "programs", new Bad(`expected a map of programs, got ${describe(value)}`));
        continue;
      }
      for (const prog of value.items) {
        const name = keyName(prog.key);
        const path = `programs.${name}`;
        if (typeof name !== "string" || !isToken(name)) {
          report(
            prog.key as Node,
            path,
            new Bad(
              `program name ${
                JSON.stringify(name)
              } is not valid: use 1-128 characters from A-Z a-z 0-9 _ -`,
            ),
          );
          continue;
        }
        const body = deref(prog.value);
        if (!isMap(body)) {
          report(
            body ?? (prog.key as Node),
            path,
            new Bad(`expected a map, got ${describe(body)}`),
          );
          continue;
        }
        const p = parseProgram(name, body, ctx, deref, report);
        if (!body.items.some((pair) => keyName(pair.key) === "cmd")) {
          report(prog.key as Node, path, new Bad("cmd is missing"));
        } else if (p) {
          programs.push(p);
        }
      }
    }
    if (!seen && problems.length === 0) {
      report(root, "", new Bad("expected a map with the key programs"));
    }
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line);
    throw new ConfigError(ctx.source, problems);
  }
  return { source: ctx.source, programs };
}

function parseProgram(
  name: string,
  body: YAMLMap,
  ctx: ConfigContext,
  deref: (n: unknown) => Node | null,
  report: (n: Node | null, key: string, e: unknown) => void,
): ProgramConfig | null {
  const p: Partial<ProgramConfig> = defaults(name);
  let ok = true;
  for (const pair of body.items) {
    const key = keyName(pair.key);
    const path = `programs.${name}.${key}`;
    if (typeof key !== "string" || !Object.hasOwn(FIELDS, key)) {
      const hint = typeof key === "string" ? suggest(key, Object.keys(FIELDS)) : null;
      report(
        pair.key as Node,
        path,
        new Bad(`unknown key${hint ? ` (did you mean ${hint}?)` : ""}`),
      );
      ok = false;
      continue;
    }
    const value = deref(pair.value);
    try {
      if (value === null || (isScalar(value) && value.value === null)) {
        throw new Bad("a value is missing");
      }
      const field = key as FieldName;
      const read = FIELDS[field] as (n: Node, ctx: ConfigContext) => unknown;
      const v = read(value, ctx);
      if (field === "cmd") {
        const c = v as { cmd: string; argv: string[] };
        p.cmd = c.cmd;
        p.argv = c.argv;
      } else {
        (p as Record<string, unknown>)[field] = v;
      }
    } catch (e) {
      report(value ?? (pair.key as Node), path, e);
      ok = false;
    }
  }
  if (!ok || p.argv === undefined) return null;
  return p as ProgramConfig;
}

// ---- readers: each returns the value or throws Bad with what was expected

function readCmd(n: Node): { cmd: string; argv: string[] } {
  if (isSeq(n)) {
    const argv = n.items.map((item) => {
      if (!isScalar(item) || typeof item.value !== "string") {
        throw new Bad(`expected a list of strings, got ${describe(item as Node)} in it`);
      }
      return item.value;
    });
    if (argv.length === 0 || argv[0] === "") throw new Bad("the command is empty");
    return { cmd: argv.join(" "), argv };
  }
  const s = scalarString(n, "a command line (a string) or a list of words");
  let argv: string[];
  try {
    argv = splitCommand(s);
  } catch (e) {
    throw new Bad(`cannot split ${JSON.stringify(s)}: ${(e as Error).message}`);
  }
  if (argv.length === 0) throw new Bad("the command is empty");
  return { cmd: s, argv };
}

function readInt(n: Node, min: number, max: number): number {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new Bad(`expected a whole number from ${min} to ${max}, got ${describe(n)}`);
  }
  return v;
}

function readSeconds(n: Node): number {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_SECONDS) {
    throw new Bad(`expected a number of seconds from 0 to ${MAX_SECONDS}, got ${describe(n)}`);
  }
  return v;
}

function readBool(n: Node): boolean {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "boolean") throw new Bad(`expected true or false, got ${describe(n)}`);
  return v;
}

function readChoice<T extends string>(n: Node, choices: readonly T[]): T {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "string" || !choices.includes(v as T)) {
    const list = `${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`;
    throw new Bad(`expected ${list}, got ${describe(n)}`);
  }
  return v as T;
}

function readExitcodes(n: Node): number[] {
  const items = isSeq(n) ? n.items as Node[] : [n];
  return items.map((item) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new Bad(
        `expected an exit code from 0 to 255 or a list of them, got ${describe(item)}`,
      );
    }
    return v;
  });
}

/**
 * supervisord reads umask as octal digits whatever their form; YAML would
 * read `022` as the decimal 22, so the digits are taken from the source text.
 */
function readUmask(n: Node): number {
  let digits: string | undefined;
  if (isScalar(n)) {
    if (typeof n.value === "string") digits = n.value;
    else if (typeof n.value === "number") digits = n.source ?? String(n.value);
  }
  const m = digits === undefined ? null : /^(?:0o)?([0-7]{1,4})$/.exec(digits.trim());
  const value = m ? parseInt(m[1], 8) : NaN;
  if (!(value <= 0o777)) {
    throw new Bad(`expected an octal umask such as 022, got ${describe(n)}`);
  }
  return value;
}

function readSignal(n: Node): SignalName {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "string" && typeof v !== "number") {
    throw new Bad(`expected a signal name such as TERM, got ${describe(n)}`);
  }
  try {
    return parseSignal(v);
  } catch {
    throw new Bad(`expected a signal name such as TERM, got ${describe(n)}`);
  }
}

function readPath(n: Node): string {
  const s = scalarString(n, "a path");
  if (s === "") throw new Bad("expected a path, got an empty string");
  if (s.includes("\0")) throw new Bad("a path cannot hold a NUL character");
  return s;
}

function resolvePath(p: string, ctx: ConfigContext): string {
  if (p.startsWith("/")) return p;
  return `${ctx.baseDir.replace(/\/+$/, "")}/${p.replace(/^\.\//, "")}`;
}

/** Must exist now, as supervisord checks it: a typo is caught at load, not at spawn. */
function readWorkingdir(n: Node, ctx: ConfigContext): string {
  const path = resolvePath(readPath(n), ctx);
  const kind = pathKind(path);
  if (kind !== "directory") throw new Bad(`${path}: ${kind ?? "no such directory"}`);
  return path;
}

/** A file whose directory exists (supervisord's check), or discard. */
function readOutput(n: Node, ctx: ConfigContext): string {
  const s = readPath(n);
  if (s === DISCARD) return DISCARD;
  const path = resolvePath(s, ctx);
  if (pathKind(path) === "directory") throw new Bad(`${path} is a directory`);
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const kind = pathKind(dir);
  if (kind !== "directory") throw new Bad(`${dir}: ${kind ?? "no such directory"}`);
  return path;
}

function pathKind(path: string): "directory" | "not a directory" | null {
  try {
    return Deno.statSync(path).isDirectory ? "directory" : "not a directory";
  } catch {
    return null;
  }
}

function readEnv(n: Node): Record<string, string> {
  if (!isMap(n)) throw new Bad(`expected a map of variables, got ${describe(n)}`);
  const env: Record<string, string> = {};
  for (const pair of n.items) {
    const k = keyName(pair.key);
    if (typeof k !== "string" || k === "" || k.includes("=") || k.includes("\0")) {
      throw new Bad(`variable name ${JSON.stringify(k)} is not valid`);
    }
    const v = isScalar(pair.value) ? pair.value.value : undefined;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new Bad(`${k}: expected a string or a number, got ${describe(pair.value as Node)}`);
    }
    const s = String(v);
    if (s.includes("\0")) throw new Bad(`${k}: a value cannot hold a NUL character`);
    env[k] = s;
  }
  return env;
}

function readUser(n: Node, ctx: ConfigContext): UserSpec {
  const v = isScalar(n) ? n.value : undefined;
  if (
    !(typeof v === "string" && v !== "") &&
    !(typeof v === "number" && Number.isInteger(v) && v >= 0)
  ) {
    throw new Bad(`expected a user name or uid, got ${describe(n)}`);
  }
  try {
    return resolveUser(v, ctx.passwd, ctx.uid);
  } catch (e) {
    // A configuration's problems are all EINVAL but a user switch the agent may not make.
    const err = e as TuttiError;
    throw new Bad(err.message, err.code === "EPERM" ? "EPERM" : "EINVAL");
  }
}

// ---- helpers

function scalarString(n: Node, what: string): string {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== "string") throw new Bad(`expected ${what}, got ${describe(n)}`);
  return v;
}

function keyName(k: unknown): unknown {
  return isScalar(k) ? k.value : k;
}

/** How a value is named in "got …": strings quoted, numbers as written. */
function describe(n: Node | null | undefined): string {
  if (n === null || n === undefined) return "nothing";
  if (isMap(n)) return "a map";
  if (isSeq(n)) return "a list";
  if (isScalar(n)) {
    const v = n.value;
    if (v === null) return "nothing";
    if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    return n.source ?? String(v);
  }
  return "something else";
}
