/**
 * Supervised programs on the wire: the `programs` verb (status, start, stop,
 * restart, reload, apply, reopen), `tail`, `follow`, `input` and `shutdown`,
 * the status rows and the event-log entries published on `P.log.<host>`.
 * Parsers return fully typed values or throw a TuttiError naming the field,
 * like those of messages.ts.
 */
import { quoteValue, TuttiError, type WireError } from "./errors.ts";
import type { ExitSignalName } from "./signals.ts";
import {
  optBool,
  optInteger,
  optNumber,
  optString,
  optStringList,
  type StreamName,
} from "./messages.ts";

// ---------------------------------------------------------------- states and rows

/** supervisord's process states. */
export const PROGRAM_STATES = [
  "STOPPED",
  "STARTING",
  "RUNNING",
  "BACKOFF",
  "STOPPING",
  "EXITED",
  "FATAL",
] as const;

export type ProgramState = typeof PROGRAM_STATES[number];

/** One process of a program, as `status` lists it. */
export interface ProgramStatus {
  /** Process name: `web:0`, or the program name when numprocs is 1. */
  name: string;
  program: string;
  state: ProgramState;
  /** Also the process group id; null when not running. */
  pid: number | null;
  /** Seconds since the current run started; null when not running. */
  uptime: number | null;
  /** supervisorctl's column: `pid 4121, uptime 0:03:12`, `Exited too quickly (...)`, ... */
  description: string;
  /** ms since the epoch: last start and last end, null if never. */
  started: number | null;
  stopped: number | null;
  /** How the last run ended, null if it has not. */
  exitCode: number | null;
  exitSignal: ExitSignalName | null;
  /** Why the last start failed (BACKOFF, FATAL), else null. */
  spawnerr: string | null;
  /** Its program runs under a pseudo-terminal (`tty: true`: `programs attach`); absent: pipes. */
  tty?: boolean;
}

// ---------------------------------------------------------------- programs

export const PROGRAM_ACTIONS = [
  "status",
  "start",
  "stop",
  "restart",
  "reload",
  "apply",
  "reopen",
] as const;

export type ProgramAction = typeof PROGRAM_ACTIONS[number];

/** Actions that name processes, and need at least one name (status defaults to all). */
export const NAMED_ACTIONS: readonly ProgramAction[] = ["start", "stop", "restart"];

/** Actions that may take a while (until RUNNING, until stopped): worth an early `accepted`. */
export const SLOW_ACTIONS: readonly ProgramAction[] = [
  "start",
  "stop",
  "restart",
  "reload",
  "apply",
];

export interface ProgramsRequest {
  action: ProgramAction;
  /**
   * Processes (`web:0`, `nginx`), programs (`web`, all of its processes),
   * `web:*` (the same), or `all`. Required by start, stop and restart;
   * status without names lists every process.
   */
  names?: string[];
  /** apply: the YAML text of the new configuration. */
  config?: string;
  /** apply: the file name used in messages (`programs.yaml:7: ...`); default `pushed`. */
  file?: string;
  /** Publish `{ok: true, accepted: true}` on the reply subject at once, then the result. */
  ack?: boolean;
  /** Seconds the agent waits for the action to finish before answering ETIMEDOUT (default 60). */
  timeout?: number;
}

/** The result of start/stop/restart for one process, or for a name that matches none. */
export interface ProgramResult {
  name: string;
  ok: boolean;
  /** In supervisorctl's words: `started`, `already started`, `stopped`, `not running`, ... */
  message: string;
  error?: WireError;
}

/** What a reload or an apply changed, by process name. */
export interface ReloadSummary {
  /** The configuration file, or the name of pushed text. */
  source: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

export interface ProgramsReply {
  action: ProgramAction;
  /** start/stop/restart: one per process acted on, then one per name matching none (ESRCH). status: unknown names only. */
  results: ProgramResult[];
  /** status: the rows asked for; start/stop/restart: the processes acted on, afterwards; reload/apply: every process. */
  processes: ProgramStatus[];
  /** reload and apply. */
  reload?: ReloadSummary;
  /** The configuration in force (file path or pushed name), "" when none was loaded. */
  config: string;
}

/** The early acknowledgement of a request with `ack: true`: `{v, ok: true, host, action, accepted: true}`. */
export interface ProgramsAccepted {
  action: ProgramAction;
  accepted: true;
}

// ---------------------------------------------------------------- tail, follow, input

/** Bytes of each stream an agent keeps per process for `tail`. */
export const TAIL_MAX = 64 * 1024;

export interface TailRequest {
  name: string;
  stream: StreamName;
  /** The last this many bytes, 1 to TAIL_MAX (default TAIL_MAX). */
  bytes: number;
}

export interface TailReply {
  name: string;
  stream: StreamName;
  /** Offset of `data`'s first byte in the stream (bytes written since the process was defined). */
  offset: number;
  data: Uint8Array;
}

/** Longest follow lease: a controller that vanished costs at most this much publishing. */
export const FOLLOW_MAX_SECONDS = 600;

export interface FollowRequest {
  name: string;
  /** The agent publishes the process's output live for this long (renew before it ends). */
  seconds: number;
}

export interface FollowReply {
  name: string;
  /** ms since the epoch when the lease ends (the latest of every follower's). */
  until: number;
  /** The process runs under a pseudo-terminal (its program has `tty: true`); absent: pipes. */
  tty?: boolean;
}

/** A terminal size, as TIOCSWINSZ takes it (unsigned shorts, 0 is "unknown" and refused). */
export const WINSIZE_MAX = 65535;

export interface InputRequest {
  name: string;
  /** Bytes for the process's stdin. */
  data?: Uint8Array;
  /** Close stdin after `data` (end of input). */
  eof?: boolean;
  /**
   * The attached terminal's size (both or neither): applied to the process's
   * pseudo-terminal before `data` is written (ENOTTY when it has none).
   */
  rows?: number;
  cols?: number;
}

export interface InputReply {
  name: string;
  /** Bytes accepted (written to the pipe). */
  written: number;
}

// ---------------------------------------------------------------- shutdown

export interface ShutdownReply {
  /** The agent's pid: gone once its programs are stopped. */
  pid: number;
  /** Supervised processes it is stopping. */
  programs: number;
  /** `run` processes it is stopping. */
  processes: number;
}

// ---------------------------------------------------------------- upgrade

/**
 * The `upgrade` reply: the program on disk started (`--help` answered), and
 * the agent re-executes it in place once this reply is out, keeping every
 * process and program.
 */
export interface UpgradeReply {
  /** The agent's pid, which the new agent keeps. */
  pid: number;
  programs: number;
  processes: number;
}

// ---------------------------------------------------------------- event log

export interface ProgramStateEvent {
  type: "state";
  /** ms since the epoch. */
  time: number;
  program: string;
  process: string;
  from: ProgramState;
  to: ProgramState;
  pid?: number;
  /** On EXITED: whether the exit status is one of `exitcodes`. */
  expected?: boolean;
  /** The exit code, null when killed by a signal (on the states a run ends in). */
  code?: number | null;
  signal?: ExitSignalName | null;
  /** supervisord's wording: `exited: web:0 (terminated by SIGKILL; not expected)`. */
  message: string;
}

export interface ProgramReloadEvent {
  type: "reload";
  time: number;
  source: string;
  /** False: the configuration was refused and nothing changed; `message` names file:line: key. */
  ok: boolean;
  added: string[];
  changed: string[];
  removed: string[];
  message: string;
}

export interface ProgramNoticeEvent {
  type: "notice";
  time: number;
  program?: string;
  process?: string;
  pid?: number;
  message: string;
}

export type ProgramEvent = ProgramStateEvent | ProgramReloadEvent | ProgramNoticeEvent;

/** What `P.log.<host>` carries: `{v, host, ...event}`, with `Tutti-Type` = the event's type. */
export type ProgramLogBody = { v: number; host: string } & ProgramEvent;

// ---------------------------------------------------------------- names

const PROCESS_PATTERN = /^[A-Za-z0-9_-]{1,128}(:(\*|\d{1,6}))?$/;

/** A name start/stop/... accept: `all`, `web`, `web:*`, `web:0`. */
export function isProgramPattern(s: string): boolean {
  return PROCESS_PATTERN.test(s);
}

/** A process name: `web`, `web:0` (no `*`). */
export function isProcessName(s: string): boolean {
  return PROCESS_PATTERN.test(s) && !s.endsWith(":*");
}

export function checkProgramPattern(field: string, s: string): string {
  if (!isProgramPattern(s)) {
    throw new TuttiError(
      "EINVAL",
      `${field} ${
        quoteValue(s)
      } is not a program name: use NAME, NAME:N, NAME:* or all (NAME from A-Z a-z 0-9 _ -)`,
    );
  }
  return s;
}

export function checkProcessName(field: string, s: string): string {
  if (!isProcessName(s)) {
    throw new TuttiError(
      "EINVAL",
      `${field} ${
        quoteValue(s)
      } is not a process name: use NAME or NAME:N (NAME from A-Z a-z 0-9 _ -)`,
    );
  }
  return s;
}

// ---------------------------------------------------------------- parsers

type Map = Record<string, unknown>;

/** Longest wait an agent accepts for one action: a day. */
const MAX_TIMEOUT = 86400;
/** A programs file is a page of YAML; anything this big is a mistake. */
export const CONFIG_MAX = 512 * 1024;

export function parseProgramsRequest(m: Map): ProgramsRequest {
  const action = m.action;
  if (typeof action !== "string" || !(PROGRAM_ACTIONS as readonly string[]).includes(action)) {
    throw new TuttiError(
      "EINVAL",
      `field "action": expected one of ${PROGRAM_ACTIONS.join(", ")}, got ${
        action === undefined ? "nothing" : quoteValue(action)
      }`,
    );
  }
  const a = action as ProgramAction;
  const names = optStringList(m, "names");
  for (const [i, n] of (names ?? []).entries()) checkProgramPattern(`names[${i}]`, n);
  if (NAMED_ACTIONS.includes(a) && (names === undefined || names.length === 0)) {
    throw new TuttiError(
      "EINVAL",
      `field "names": ${a} needs at least one name (a process, a program, NAME:* or all)`,
    );
  }
  const config = optString(m, "config");
  if (a === "apply") {
    if (config === undefined) {
      throw new TuttiError("EINVAL", 'field "config": apply needs the YAML text');
    }
    if (config.length > CONFIG_MAX) {
      throw new TuttiError(
        "EINVAL",
        `field "config": ${config.length} characters, at most ${CONFIG_MAX}`,
      );
    }
  }
  const file = optString(m, "file");
  if (file !== undefined && (file === "" || file.length > 4096 || /[\n\0]/.test(file))) {
    throw new TuttiError("EINVAL", `field "file": expected a file name, got ${quoteValue(file)}`);
  }
  return dropUndefined({
    action: a,
    names,
    config: a === "apply" ? config : undefined,
    file: a === "apply" ? file : undefined,
    ack: optBool(m, "ack"),
    timeout: optNumber(m, "timeout", 0.1, MAX_TIMEOUT),
  });
}

function parseStream(m: Map): StreamName {
  const stream = m.stream ?? "stdout";
  if (stream !== "stdout" && stream !== "stderr") {
    throw new TuttiError(
      "EINVAL",
      `field "stream": expected "stdout" or "stderr", got ${quoteValue(stream)}`,
    );
  }
  return stream;
}

function reqProcess(m: Map): string {
  const name = m.name;
  if (typeof name !== "string") {
    throw new TuttiError(
      "EINVAL",
      `field "name": expected a process name, ${
        name === undefined ? "missing" : `got ${quoteValue(name)}`
      }`,
    );
  }
  return checkProcessName('field "name":', name);
}

export function parseTailRequest(m: Map): TailRequest {
  return {
    name: reqProcess(m),
    stream: parseStream(m),
    bytes: optInteger(m, "bytes", 1, TAIL_MAX) ?? TAIL_MAX,
  };
}

export function parseFollowRequest(m: Map): FollowRequest {
  const seconds = optNumber(m, "seconds", 1, FOLLOW_MAX_SECONDS);
  if (seconds === undefined) {
    throw new TuttiError(
      "EINVAL",
      `field "seconds": expected a number from 1 to ${FOLLOW_MAX_SECONDS}, missing`,
    );
  }
  return { name: reqProcess(m), seconds };
}

export function parseInputRequest(m: Map): InputRequest {
  const data = m.data;
  if (data !== undefined && data !== null && !(data instanceof Uint8Array)) {
    throw new TuttiError(
      "EINVAL",
      `field "data": expected a byte string, got ${quoteValue(data)}`,
    );
  }
  const eof = optBool(m, "eof");
  const rows = optInteger(m, "rows", 1, WINSIZE_MAX);
  const cols = optInteger(m, "cols", 1, WINSIZE_MAX);
  if ((rows === undefined) !== (cols === undefined)) {
    const missing = rows === undefined ? "rows" : "cols";
    throw new TuttiError(
      "EINVAL",
      `field "${missing}": expected with "rows" and "cols" both, missing`,
    );
  }
  if ((data === undefined || data === null) && eof !== true && rows === undefined) {
    throw new TuttiError(
      "EINVAL",
      'field "data": expected bytes (or "eof": true, or "rows" and "cols"), missing',
    );
  }
  return dropUndefined({ name: reqProcess(m), data: data ?? undefined, eof, rows, cols });
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
