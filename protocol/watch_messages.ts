/**
 * Watches: an agent waits for a condition on its node and publishes the
 * outcome once on `P.watch.<host>.<watch>`. The `watch` verb starts one,
 * `unwatch` cancels. Parsers return fully typed values or throw a
 * TuttiError naming the field, like those of messages.ts.
 */
import { quoteValue, TuttiError, type WireError } from "./errors.ts";
import {
  optNumber,
  optString,
  optStringList,
  optStringMap,
  reqString,
  type StreamName,
} from "./messages.ts";
import { received } from "./fields.ts";
import { isProgramPattern, PROGRAM_STATES, type ProgramState } from "./program_messages.ts";
import { checkToken } from "./subjects.ts";

// ---------------------------------------------------------------- conditions

/**
 * `exists`: the path exists (at once if it already does). `removed`: it does
 * not exist (at once if it is already absent). `modified`: the path is
 * created, written, renamed onto or has its metadata changed after the
 * watch started.
 */
export type FileEvent = "exists" | "modified" | "removed";

export interface FileCondition {
  kind: "file";
  /** Absolute, or relative to the agent's working directory. */
  path: string;
  event: FileEvent;
}

/** A TCP socket in LISTEN state on the agent's network namespace. */
export interface PortCondition {
  kind: "port";
  port: number;
  /**
   * An IPv4 or IPv6 literal. A listener on that address or on the wildcard
   * of its family (`0.0.0.0`, `::`; `::` also covers IPv4) matches. Absent:
   * any address.
   */
  address?: string;
}

/**
 * What `exit`, `output` and `state` conditions are about: a `run` process id
 * (`p1`), or a supervised program's processes: `web:0`, `web` (a program's
 * process when it has one, all of its processes otherwise) or `web:*`. A
 * `run` process id is looked up first. Several processes: the condition is
 * met by the first of them that meets it.
 */
export type ProcTarget = string;

/** A managed process exits (at once if it already has), or a supervised process's run ends. */
export interface ExitCondition {
  kind: "exit";
  proc: ProcTarget;
}

/** A line of a managed or supervised process's output matches a regular expression. */
export interface OutputCondition {
  kind: "output";
  proc: ProcTarget;
  /** A JavaScript regular expression, tested against each line without its line ending. */
  pattern: string;
  /** Any of `i`, `m`, `s`, `u`. */
  flags?: string;
  /** Absent: both streams. */
  stream?: StreamName;
  /** `start` (default): lines printed before the watch count too. `now`: only new lines. */
  from?: "start" | "now";
}

/** A supervised process is in a supervisord state (at once if it already is). */
export interface StateCondition {
  kind: "state";
  /** A program target only (`web`, `web:0`, `web:*`). */
  proc: ProcTarget;
  state: ProgramState;
}

/** A command exits 0. It is run every `interval` until it does, each run killed after `probeTimeout`. */
export interface CommandCondition {
  kind: "command";
  /** Exactly one of argv and shell, as in `run`. */
  argv?: string[];
  shell?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds between the end of a probe and the start of the next (default 1). */
  interval?: number;
  /** Seconds a probe may run before its process group is killed (default 10). */
  probeTimeout?: number;
}

export type WatchCondition =
  | FileCondition
  | PortCondition
  | ExitCondition
  | OutputCondition
  | StateCondition
  | CommandCondition;

export type WatchKind = WatchCondition["kind"];

// ---------------------------------------------------------------- requests

export const DEFAULT_WATCH_TIMEOUT_S = 300;
export const MAX_WATCH_TIMEOUT_S = 86400;
export const DEFAULT_PROBE_INTERVAL_S = 1;
export const DEFAULT_PROBE_TIMEOUT_S = 10;
export const MAX_PATTERN_LENGTH = 1000;

export interface WatchRequest {
  /**
   * Caller-chosen watch id (one subject token). Subscribe to
   * `P.watch.*.<id>` before sending, so that a condition met at once is not
   * missed. A retry with the same id and request answers `existing: true`.
   */
  id?: string;
  condition: WatchCondition;
  /** Seconds (default 300): then the outcome is `timeout`. */
  timeout?: number;
}

export interface WatchReply {
  watch: string;
  /** True when the id was already watching the same condition (a retry). */
  existing: boolean;
  /** ms since the epoch */
  started: number;
  /** When the watch times out, ms since the epoch. */
  deadline: number;
}

export interface UnwatchRequest {
  watches: string[];
}

export interface UnwatchResult {
  watch: string;
  ok: boolean;
  /** ESRCH when no watch has that id (never started, or already over). */
  error?: WireError;
}

export interface UnwatchReply {
  results: UnwatchResult[];
}

// ---------------------------------------------------------------- outcome

/** `cancelled`: by `unwatch` or because the agent is stopping. */
export type WatchStatus = "met" | "timeout" | "failed" | "cancelled";

export interface WatchResult {
  status: WatchStatus;
  /** ms since the epoch */
  at: number;
  /** ms from the start of the watch */
  elapsed: number;
  /** What happened, for people: `127.0.0.1:9000 is listening`, `probe exited with code 7: ...`. */
  detail: string;
  /** The matching line of an `output` watch (at most 4096 characters). */
  line?: string;
}

/** Body of `P.watch.<host>.<watch>`, published once per watch. */
export interface WatchEvent extends WatchResult {
  v: number;
  host: string;
  watch: string;
  condition: WatchCondition;
}

// ---------------------------------------------------------------- parsers

type Map = Record<string, unknown>;

function fail(field: string, want: string, got: unknown): never {
  // quoteValue, not JSON.stringify: a 64-bit integer (BigInt) or a cyclic map would make it throw.
  const shown = got === undefined ? "missing" : `got ${quoteValue(got)}`;
  throw new TuttiError("EINVAL", `field "${field}": expected ${want}, ${shown}`);
}

function isMap(x: unknown): x is Map {
  return x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof Uint8Array);
}

const FILE_EVENTS: readonly FileEvent[] = ["exists", "modified", "removed"];
const KINDS: readonly WatchKind[] = ["file", "port", "exit", "output", "state", "command"];

/** A `run` process id (a token) or a program target: `web`, `web:0`, `web:*`. */
export function checkProcTarget(s: string): string {
  if (!isProgramPattern(s)) {
    throw new TuttiError(
      "EINVAL",
      `field "proc": ${
        quoteValue(s)
      } is not a process: use a process id, or a program as NAME, NAME:N or NAME:* (NAME from A-Z a-z 0-9 _ -)`,
    );
  }
  return s;
}

/** Parses the `condition` of a watch request; errors name the field as `condition.<field>`. */
export function parseWatchCondition(x: unknown): WatchCondition {
  if (!isMap(x)) fail("condition", "a map", x);
  try {
    return withoutUndefined(conditionOf(x));
  } catch (e) {
    // The shared field readers name the bare field: put it in its place.
    if (
      e instanceof TuttiError && e.message.startsWith('field "') &&
      !e.message.startsWith('field "condition')
    ) {
      throw new TuttiError(e.code, e.message.replace('field "', 'field "condition.'));
    }
    throw e;
  }
}

/** Absent optional fields leave no key: the condition is echoed in every watch event. */
function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function conditionOf(x: Map): WatchCondition {
  const kind = x.kind;
  switch (kind) {
    case "file": {
      const path = reqString(x, "path");
      if (path === "" || path.includes("\0")) fail("path", "a path", path);
      const event = x.event ?? "exists";
      if (!FILE_EVENTS.includes(event as FileEvent)) {
        fail("event", FILE_EVENTS.map((e) => `"${e}"`).join(", "), event);
      }
      return { kind, path, event: event as FileEvent };
    }
    case "port": {
      const port = optNumber(x, "port", 1, 65535);
      if (port === undefined || !Number.isInteger(port)) {
        fail("port", "a port number from 1 to 65535", x.port);
      }
      const address = optString(x, "address");
      if (address !== undefined && (address === "" || address.length > 64)) {
        fail("address", "an IPv4 or IPv6 address", address);
      }
      return { kind, port, address };
    }
    case "exit":
      return { kind, proc: checkProcTarget(reqString(x, "proc")) };
    case "state": {
      const proc = checkProcTarget(reqString(x, "proc"));
      const state = x.state;
      if (!PROGRAM_STATES.includes(state as ProgramState)) {
        fail("state", `a program state (${PROGRAM_STATES.join(", ")})`, state);
      }
      return { kind, proc, state: state as ProgramState };
    }
    case "output": {
      const proc = checkProcTarget(reqString(x, "proc"));
      const pattern = reqString(x, "pattern");
      if (pattern.length > MAX_PATTERN_LENGTH) {
        fail("pattern", `at most ${MAX_PATTERN_LENGTH} characters`, pattern);
      }
      const flags = optString(x, "flags");
      if (flags !== undefined && !/^[imsu]*$/.test(flags)) {
        fail("flags", "flags among i, m, s, u", flags);
      }
      try {
        new RegExp(pattern, flags);
      } catch (e) {
        throw new TuttiError(
          "EINVAL",
          `field "pattern": not a regular expression: ${(e as Error).message}`,
        );
      }
      const stream = optString(x, "stream");
      if (stream !== undefined && stream !== "stdout" && stream !== "stderr") {
        fail("stream", '"stdout" or "stderr"', stream);
      }
      const from = optString(x, "from");
      if (from !== undefined && from !== "start" && from !== "now") {
        fail("from", '"start" or "now"', from);
      }
      return { kind, proc, pattern, flags, stream, from };
    }
    case "command": {
      const argv = optStringList(x, "argv");
      const shell = optString(x, "shell");
      if ((argv === undefined) === (shell === undefined)) {
        throw new TuttiError(
          "EINVAL",
          'field "condition": exactly one of "argv" and "shell" must be given',
        );
      }
      if (argv !== undefined && (argv.length === 0 || argv[0] === "")) {
        fail("argv", "a non-empty array starting with a program", argv);
      }
      return {
        kind,
        argv,
        shell,
        cwd: optString(x, "cwd"),
        env: optStringMap(x, "env"),
        interval: optNumber(x, "interval", 0.01, MAX_WATCH_TIMEOUT_S),
        probeTimeout: optNumber(x, "probeTimeout", 0.01, MAX_WATCH_TIMEOUT_S),
      };
    }
    default:
      fail("kind", KINDS.map((k) => `"${k}"`).join(", "), kind);
  }
}

export function parseWatchRequest(m: Map): WatchRequest {
  const id = optString(m, "id");
  if (id !== undefined) checkToken("watch id", id);
  return {
    id,
    condition: parseWatchCondition(m.condition),
    timeout: optNumber(m, "timeout", 0.01, MAX_WATCH_TIMEOUT_S),
  };
}

export function parseUnwatchRequest(m: Map): UnwatchRequest {
  const watches = optStringList(m, "watches");
  if (!watches || watches.length === 0) fail("watches", "a non-empty array of watch ids", watches);
  return { watches };
}

const STATUSES: readonly WatchStatus[] = ["met", "timeout", "failed", "cancelled"];

/** Checks a `P.watch.<host>.<watch>` body received from an agent (EBADMSG naming the field). */
export function parseWatchEvent(m: Map): WatchEvent {
  return received("watch event", () => watchEventOf(m));
}

function watchEventOf(m: Map): WatchEvent {
  const status = m.status;
  if (!STATUSES.includes(status as WatchStatus)) {
    fail("status", STATUSES.map((s) => `"${s}"`).join(", "), status);
  }
  const at = optNumber(m, "at");
  const elapsed = optNumber(m, "elapsed");
  if (at === undefined) fail("at", "a time in ms", m.at);
  if (elapsed === undefined) fail("elapsed", "a duration in ms", m.elapsed);
  return {
    v: m.v as number,
    host: reqString(m, "host"),
    watch: reqString(m, "watch"),
    condition: parseWatchCondition(m.condition),
    status: status as WatchStatus,
    at,
    elapsed,
    detail: reqString(m, "detail"),
    line: optString(m, "line"),
  };
}
