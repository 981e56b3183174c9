/**
 * Parsers of replies. A reply is `{v, ok: true, host, ...fields}` or
 * `{v, ok: false, host, error: {code, message}}`; `parseReply` checks that
 * frame and hands the fields of a success to the verb's parser below. Each
 * returns a fully typed value holding only the fields this protocol defines,
 * or throws EBADMSG naming the reply and the field.
 */
import { isErrorCode, quoteValue, TuttiError, type WireError } from "./errors.ts";
import { Fields, isMap } from "./fields.ts";
import { exitSignal, parseProcInfo, pingFields } from "./events.ts";
import type {
  LogsReply,
  PingReply,
  PsReply,
  RunReply,
  SignalReply,
  StreamName,
} from "./messages.ts";
import {
  type FollowReply,
  type InputReply,
  PROGRAM_ACTIONS,
  PROGRAM_STATES,
  type ProgramsAccepted,
  type ProgramsReply,
  type ProgramStatus,
  type ShutdownReply,
  type TailReply,
  type UpgradeReply,
} from "./program_messages.ts";
import type { UnwatchReply, WatchReply } from "./watch_messages.ts";

type Map = Record<string, unknown>;

/**
 * One host's answer: the reply's fields, or the wire error it sent (or one
 * the controller concluded, `ENORESPONSE` when it did not answer in time).
 */
export type HostReply<T> =
  | ({ host: string; ok: true } & T)
  | { host: string; ok: false; error: WireError };

const STREAMS: readonly StreamName[] = ["stdout", "stderr"];

/**
 * A reply's frame: `host` and `ok` are required; a success's other fields
 * go through `parseOk` (given the whole map: each parser reads the fields it
 * knows and builds a new value, so `v`, `ok` and `host` never leak into it),
 * a failure's `error` through `parseWireError`. Replies arrive by the
 * thousand on a broadcast: one new object per reply, no copy of the map.
 */
export function parseReply<T>(
  body: Map,
  parseOk: (fields: Map) => T,
): HostReply<T> {
  const host = body.host;
  if (typeof host !== "string") Fields.of(body, "reply").str("host");
  const ok = body.ok;
  if (ok === false) return { host: host as string, ok: false, error: parseWireError(body.error) };
  if (ok !== true) Fields.of(body, "reply").bool("ok");
  return Object.assign(parseOk(body) as T & object, { host: host as string, ok: true as const });
}

/**
 * The `error` of a failed reply (or of a result inside one), made safe to
 * print whatever the peer sent: never throws. A code this side does not
 * know (a newer peer's) becomes EINTERNAL with the code in the message; a
 * missing message says what was received instead.
 */
export function parseWireError(x: unknown): WireError {
  const e = isMap(x) ? x : {};
  const message = typeof e.message === "string" ? e.message : undefined;
  if (isErrorCode(e.code)) {
    return { code: e.code, message: message ?? `malformed error reply (${quoteValue(e.code)})` };
  }
  const got = isMap(x) ? quoteValue(e.code ?? null) : quoteValue(x ?? null);
  return {
    code: "EINTERNAL",
    message: message === undefined
      ? `malformed error reply (${got})`
      : `${message} (unknown error code ${got})`,
  };
}

// ---------------------------------------------------------------- per verb

export function parsePingReply(m: Map): PingReply {
  return pingFields(Fields.of(m, "ping reply"));
}

/** The host of a reply handed whole to a verb's parser (by `parseReply`): its rows must name it. */
function sender(m: Map): string | undefined {
  return typeof m.host === "string" ? m.host : undefined;
}

export function parseRunReply(m: Map): RunReply {
  const f = Fields.of(m, "run reply");
  return {
    proc: parseProcInfo(m.proc, "run reply: proc", sender(m)),
    existing: f.bool("existing"),
  };
}

export function parsePsReply(m: Map): PsReply {
  const f = Fields.of(m, "ps reply");
  const from = sender(m);
  return { procs: f.list("procs", (x, path) => parseProcInfo(x, `ps reply: ${path}`, from)) };
}

export function parseSignalReply(m: Map): SignalReply {
  const f = Fields.of(m, "signal reply");
  return {
    results: f.maps("results", (r) => {
      const ok = r.bool("ok");
      return ok
        ? { proc: r.str("proc"), ok }
        : { proc: r.str("proc"), ok, error: parseWireError(r.m.error) };
    }),
  };
}

export function parseLogsReply(m: Map): LogsReply {
  const f = Fields.of(m, "logs reply");
  return {
    proc: f.str("proc"),
    stream: f.oneOf("stream", STREAMS),
    offset: f.int("offset"),
    data: f.bytes("data"),
    size: f.int("size"),
    complete: f.bool("complete"),
  };
}

export function parseWatchReply(m: Map): WatchReply {
  const f = Fields.of(m, "watch reply");
  return {
    watch: f.str("watch"),
    existing: f.bool("existing"),
    started: f.int("started"),
    deadline: f.int("deadline"),
  };
}

export function parseUnwatchReply(m: Map): UnwatchReply {
  const f = Fields.of(m, "unwatch reply");
  return {
    results: f.maps("results", (r) => {
      const ok = r.bool("ok");
      return ok
        ? { watch: r.str("watch"), ok }
        : { watch: r.str("watch"), ok, error: parseWireError(r.m.error) };
    }),
  };
}

/** A `programs` reply, or the early `{action, accepted: true}` of a request with `ack`. */
export function parseProgramsReply(m: Map): ProgramsReply | ProgramsAccepted {
  const f = Fields.of(m, "programs reply");
  const action = f.oneOf("action", PROGRAM_ACTIONS);
  if (m.accepted !== undefined) {
    if (m.accepted !== true) f.fail("accepted", "true or nothing");
    return { action, accepted: true };
  }
  const reply: ProgramsReply = {
    action,
    results: f.maps("results", (r) => {
      const ok = r.bool("ok");
      const result = { name: r.str("name"), ok, message: r.str("message") };
      return r.has("error") || !ok ? { ...result, error: parseWireError(r.m.error) } : result;
    }),
    processes: f.maps("processes", parseProgramStatus),
    config: f.str("config"),
  };
  if (f.has("reload")) {
    const r = f.map("reload");
    reply.reload = {
      source: r.str("source"),
      added: r.strList("added"),
      changed: r.strList("changed"),
      removed: r.strList("removed"),
      unchanged: r.strList("unchanged"),
    };
  }
  return reply;
}

/** True for the early acknowledgement of a `programs` request with `ack`. */
export function isProgramsAccepted(r: ProgramsReply | ProgramsAccepted): r is ProgramsAccepted {
  return "accepted" in r;
}

/** One status row of a `programs` reply. */
export function parseProgramStatus(f: Fields): ProgramStatus {
  return {
    name: f.str("name"),
    program: f.str("program"),
    state: f.oneOf("state", PROGRAM_STATES),
    pid: f.intOrNull("pid", 1),
    uptime: f.numOrNull("uptime"),
    description: f.str("description"),
    started: f.intOrNull("started"),
    stopped: f.intOrNull("stopped"),
    exitCode: f.intOrNull("exitCode"),
    exitSignal: exitSignal(f, "exitSignal"),
    spawnerr: f.strOrNull("spawnerr"),
    ...(f.has("tty") && { tty: f.bool("tty") }),
  };
}

export function parseTailReply(m: Map): TailReply {
  const f = Fields.of(m, "tail reply");
  return {
    name: f.str("name"),
    stream: f.oneOf("stream", STREAMS),
    offset: f.int("offset"),
    data: f.bytes("data"),
  };
}

export function parseFollowReply(m: Map): FollowReply {
  const f = Fields.of(m, "follow reply");
  const tty = f.optBool("tty");
  return { name: f.str("name"), until: f.int("until"), ...(tty && { tty }) };
}

export function parseInputReply(m: Map): InputReply {
  const f = Fields.of(m, "input reply");
  return { name: f.str("name"), written: f.int("written") };
}

export function parseShutdownReply(m: Map): ShutdownReply {
  const f = Fields.of(m, "shutdown reply");
  return {
    pid: f.int("pid", 1),
    programs: f.int("programs"),
    processes: f.int("processes"),
  };
}

export function parseUpgradeReply(m: Map): UpgradeReply {
  const f = Fields.of(m, "upgrade reply");
  return {
    pid: f.int("pid", 1),
    programs: f.int("programs"),
    processes: f.int("processes"),
  };
}

/** Throws the wire error of a failed reply as a TuttiError (for one-host requests). */
export function throwIfFailed<T>(r: HostReply<T>): { host: string; ok: true } & T {
  if (!r.ok) throw new TuttiError(r.error.code, r.error.message);
  return r;
}
