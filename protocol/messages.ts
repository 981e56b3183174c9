/**
 * Every message body of protocol v1, as TypeScript types, and the parsers the
 * agent uses to validate requests. A parser either returns a fully typed value
 * or throws a TuttiError naming the offending field: handlers never see a
 * half-valid request.
 */
import { quoteValue, TuttiError, type WireError } from "./errors.ts";
import { checkToken } from "./subjects.ts";
import { parseStartUs } from "./clock_messages.ts";
import { type ExitSignalName, parseSignal, type SignalName } from "./signals.ts";

/** Which agents a broadcast is for. All present parts must match. */
export interface Target {
  /** Glob (`g5k-*`), node set (`g5k-[1-100]`) or comma list of either. */
  hosts?: string;
  /** Same syntax; matching hosts are left out. */
  exclude?: string;
  /** Label conditions, `{cluster: "gros"}`; values may be globs. */
  where?: Record<string, string>;
}

/** Fields every request may carry besides its own. */
export interface Envelope {
  v: number;
  /** Present on broadcasts (`<prefix>.all.<verb>`); ignored on per-host requests. */
  target?: Target;
}

// ---------------------------------------------------------------- replies

export type Reply<T> =
  | ({ v: number; ok: true; host: string } & T)
  | { v: number; ok: false; host: string; error: WireError };

// ---------------------------------------------------------------- ping

export interface PingReply {
  version: string;
  labels: Record<string, string>;
  /** Agent start, ms since the epoch. */
  started: number;
  pid: number;
  /** Processes in the table that are still running. */
  running: number;
  /** Heartbeat period in ms (0: no heartbeat). */
  heartbeat: number;
  /** Telemetry period in ms (0: telemetry off, nothing is published on `P.tel.<host>`). */
  telemetry: number;
  os: string;
  arch: string;
  cores: number;
  /** Total memory in bytes. */
  memory: number;
  /** Machine boot time, ms since the epoch. */
  boot: number;
  /** The kernel's release (`uname -r`); agents that report it (optional). */
  kernel?: string;
  /** The CPU model (/proc/cpuinfo's `model name`); agents that report it (optional). */
  cpu?: string;
}

// ---------------------------------------------------------------- presence

export type PresenceType = "hello" | "beat" | "bye";

export const PRESENCE_TYPES: readonly PresenceType[] = ["hello", "beat", "bye"];

/** Body of `P.presence.<host>`: every message (`bye` too) carries the whole ping reply. */
export interface Presence extends PingReply {
  v: number;
  type: PresenceType;
  host: string;
}

// ---------------------------------------------------------------- run

export interface RunRequest {
  /** Caller-chosen id; a retry with the same id never starts a second process. */
  id?: string;
  /** Program and arguments, run without a shell. Exactly one of argv / shell. */
  argv?: string[];
  /** A shell command line, run as `/bin/sh -c shell`. */
  shell?: string;
  /** Added to (or, with clearEnv, replacing) the agent's environment. */
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
  /**
   * Run as this user (a name or a uid, looked up in the host's /etc/passwd):
   * only an agent running as root may switch (EPERM); unknown: ENOENT.
   */
  user?: string;
  /** Seconds; the group gets SIGTERM then SIGKILL after `grace`. */
  timeout?: number;
  /** Seconds between the timeout's SIGTERM and SIGKILL (default 5). */
  grace?: number;
  /** Publish output live (default true); the spool always has it. */
  live?: boolean;
  /**
   * The process's stdin is a pipe fed from `P.stdin.<id>` (needs `id`);
   * without it, stdin is /dev/null.
   */
  stdin?: boolean;
  /**
   * Start at an instant: host → µs since the epoch on that host's clock
   * (clock_messages.ts). Without it, the process starts at once.
   */
  startUs?: Record<string, number>;
}

export type ProcState = "running" | "exited";

/** One row of an agent's process table: what `ps` lists and `exit` carries. */
export interface ProcInfo {
  id: string;
  host: string;
  pid: number;
  argv: string[];
  cwd: string;
  state: ProcState;
  /** ms since the epoch */
  started: number;
  /** The same instant in µs since the epoch (agents that record it: optional). */
  startedUs?: number;
  ended: number | null;
  /** Exit code, null when killed by a signal or still running. */
  code: number | null;
  /** The signal that killed it (SIGSTKFLT too: a process can die of it), null otherwise. */
  signal: ExitSignalName | null;
  timedOut: boolean;
  /** Bytes written so far to each stream (all of them are in the spool). */
  stdout: number;
  stderr: number;
}

export interface RunReply {
  proc: ProcInfo;
  /** True when the id already existed with the same command (an idempotent retry). */
  existing: boolean;
}

// ---------------------------------------------------------------- signal

export interface SignalRequest {
  procs: string[];
  signal: SignalName;
  /** Seconds; if the group is still alive then, SIGKILL. Absent: no escalation. */
  grace?: number;
}

export interface SignalResult {
  proc: string;
  ok: boolean;
  error?: WireError;
}

export interface SignalReply {
  results: SignalResult[];
}

// ---------------------------------------------------------------- ps

export interface PsRequest {
  /** Only these ids (absent: all). */
  procs?: string[];
  /** Only running processes. */
  running?: boolean;
}

export interface PsReply {
  procs: ProcInfo[];
}

// ---------------------------------------------------------------- logs

export type StreamName = "stdout" | "stderr";

export interface LogsRequest {
  proc: string;
  stream: StreamName;
  offset?: number;
  /** At most this many bytes (capped by the agent at LOGS_CHUNK_MAX). */
  limit?: number;
}

export interface LogsReply {
  proc: string;
  stream: StreamName;
  offset: number;
  data: Uint8Array;
  /** Bytes in the spool for that stream right now. */
  size: number;
  /** The process has exited and offset + data.length === size. */
  complete: boolean;
}

export const LOGS_CHUNK_MAX = 512 * 1024;

// ---------------------------------------------------------------- events

/**
 * `disconnected`, `backpressure`: not streamed live, still in the spool (`logs` has it).
 * `restart`: the agent restarted while the process ran; what it wrote meanwhile is in the spool.
 * `spool`: the spool could not take it (disk full...): those bytes are lost.
 */
export const DROP_REASONS = ["disconnected", "backpressure", "restart", "spool"] as const;

export interface DroppedEvent {
  v: number;
  stream: StreamName;
  /** First byte not streamed live. */
  offset: number;
  bytes: number;
  reason: typeof DROP_REASONS[number];
  /** For `spool`: what the spool answered (`ENOSPC: No space left on device...`). */
  why?: string;
}

/** `started` and `exit` events carry `{v, ...ProcInfo}`. */
export type ProcEventBody = { v: number } & ProcInfo;

// ---------------------------------------------------------------- parsers

type Map = Record<string, unknown>;

function fail(field: string, want: string, got: unknown): never {
  const shown = got === undefined ? "missing" : `got ${quoteValue(got)}`;
  throw new TuttiError("EINVAL", `field "${field}": expected ${want}, ${shown}`);
}

export function optString(m: Map, field: string): string | undefined {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== "string") fail(field, "a string", x);
  return x;
}

export function reqString(m: Map, field: string): string {
  const x = optString(m, field);
  if (x === undefined) fail(field, "a string", undefined);
  return x;
}

export function optNumber(m: Map, field: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== "number" || !Number.isFinite(x) || x < min || x > max) {
    fail(field, `a number from ${min} to ${max}`, x);
  }
  return x;
}

/** A whole number (offsets, byte counts): a fraction is refused rather than rounded. */
export function optInteger(m: Map, field: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (!Number.isSafeInteger(x) || (x as number) < min || (x as number) > max) {
    fail(field, `an integer from ${min} to ${max}`, x);
  }
  return x as number;
}

export function optBool(m: Map, field: string): boolean | undefined {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== "boolean") fail(field, "a boolean", x);
  return x;
}

export function optStringList(m: Map, field: string): string[] | undefined {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (!Array.isArray(x) || !x.every((s) => typeof s === "string")) {
    fail(field, "an array of strings", x);
  }
  return x as string[];
}

export function optStringMap(m: Map, field: string): Record<string, string> | undefined {
  const x = m[field];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== "object" || Array.isArray(x) || x instanceof Uint8Array) {
    fail(field, "a map of strings", x);
  }
  for (const [k, val] of Object.entries(x as Map)) {
    if (typeof val !== "string") fail(`${field}.${k}`, "a string", val);
  }
  return x as Record<string, string>;
}

export function parseTarget(m: Map): Target | undefined {
  const t = m.target;
  if (t === undefined || t === null) return undefined;
  if (typeof t !== "object" || Array.isArray(t)) fail("target", "a map", t);
  const tm = t as Map;
  return {
    hosts: optString(tm, "hosts"),
    exclude: optString(tm, "exclude"),
    where: optStringMap(tm, "where"),
  };
}

/** A year: longer timeouts and graces are almost certainly a unit mistake. */
const MAX_SECONDS = 86400 * 365;

export function parseRunRequest(m: Map): RunRequest {
  const id = optString(m, "id");
  if (id !== undefined) checkToken("process id", id);
  const argv = optStringList(m, "argv");
  const shell = optString(m, "shell");
  if ((argv === undefined) === (shell === undefined)) {
    throw new TuttiError("EINVAL", 'exactly one of "argv" and "shell" must be given');
  }
  if (argv !== undefined && argv.length === 0) fail("argv", "a non-empty array", argv);
  if (argv !== undefined && argv[0] === "") fail("argv[0]", "a program name", "");
  const stdin = optBool(m, "stdin");
  // Every host's process reads the same subject, named by the id they share.
  if (stdin && id === undefined) fail("id", 'a process id (with "stdin")', undefined);
  const startUs = parseStartUs(m);
  const user = optString(m, "user");
  if (user !== undefined && (user === "" || user.includes(":") || user.includes("\n"))) {
    fail("user", "a user name or uid", user);
  }
  return {
    id,
    argv,
    shell,
    env: optStringMap(m, "env"),
    clearEnv: optBool(m, "clearEnv"),
    cwd: optString(m, "cwd"),
    user,
    timeout: optNumber(m, "timeout", 0, MAX_SECONDS),
    grace: optNumber(m, "grace", 0, MAX_SECONDS),
    live: optBool(m, "live"),
    stdin,
    ...(startUs !== undefined && { startUs }),
  };
}

export function parseSignalRequest(m: Map): SignalRequest {
  const procs = optStringList(m, "procs");
  if (!procs || procs.length === 0) fail("procs", "a non-empty array of process ids", procs);
  const signal = m.signal === undefined ? "SIGTERM" : m.signal;
  if (typeof signal !== "string" && typeof signal !== "number") {
    fail("signal", "a signal name", signal);
  }
  return {
    procs,
    signal: parseSignal(signal as string | number),
    grace: optNumber(m, "grace", 0, MAX_SECONDS),
  };
}

export function parsePsRequest(m: Map): PsRequest {
  return { procs: optStringList(m, "procs"), running: optBool(m, "running") };
}

export function parseLogsRequest(m: Map): LogsRequest {
  const stream = m.stream ?? "stdout";
  if (stream !== "stdout" && stream !== "stderr") fail("stream", '"stdout" or "stderr"', stream);
  return {
    proc: reqString(m, "proc"),
    stream,
    offset: optInteger(m, "offset"),
    limit: optInteger(m, "limit", 1),
  };
}
