/**
 * Parsers of what agents publish without being asked: process events
 * (`started`, `exit`, `dropped`), presence and the event log. Each takes the
 * decoded map (`decodeMap` has checked `v`) and returns a fully typed value
 * holding only the fields this protocol defines, or throws EBADMSG naming
 * the message and the field. Every field listed in PROTOCOL.md is required
 * unless marked optional there. Watch outcomes and telemetry have theirs
 * beside their types (watch_messages.ts, telemetry_messages.ts).
 */
import { quoteValue } from "./errors.ts";
import { Fields } from "./fields.ts";
import {
  DROP_REASONS,
  type DroppedEvent,
  type PingReply,
  type Presence,
  PRESENCE_TYPES,
  type ProcInfo,
  type ProcState,
  type StreamName,
} from "./messages.ts";
import { PROGRAM_STATES, type ProgramEvent, type ProgramLogBody } from "./program_messages.ts";
import { type ExitSignalName, isExitSignal } from "./signals.ts";
import { PROTOCOL_VERSION } from "./codec.ts";

type Map = Record<string, unknown>;

const PROC_STATES: readonly ProcState[] = ["running", "exited"];
const STREAMS: readonly StreamName[] = ["stdout", "stderr"];

/**
 * A process table row: the body of `started` and `exit` events (whose `v`
 * is left out), an entry of a `ps` reply, the `proc` of a `run` reply.
 * `from`: the host it came from (its subject's), which `host` must name.
 */
export function parseProcInfo(x: unknown, what = "process info", from?: string): ProcInfo {
  const f = Fields.of(x, what);
  const host = f.str("host");
  if (from !== undefined && host !== from) f.fail("host", `${quoteValue(from)} (its sender)`);
  const startedUs = f.optInt("startedUs");
  return {
    id: f.str("id"),
    host,
    pid: f.int("pid", 1),
    argv: f.strList("argv"),
    cwd: f.str("cwd"),
    state: f.oneOf("state", PROC_STATES),
    started: f.int("started"),
    ended: f.intOrNull("ended"),
    code: f.intOrNull("code"),
    signal: exitSignal(f, "signal"),
    timedOut: f.bool("timedOut"),
    stdout: f.int("stdout"),
    stderr: f.int("stderr"),
    ...(startedUs !== undefined && { startedUs }),
  };
}

/** A signal name an agent reports (`SIGKILL`), or null. */
export function exitSignal(f: Fields, field: string): ExitSignalName | null {
  const s = f.m[field];
  if (s === null) return null;
  if (!isExitSignal(s)) f.fail(field, 'a signal name ("SIGKILL", "SIGRT34") or null');
  return s;
}

/**
 * `P.proc.<host>.<proc>.dropped`: bytes the agent did not stream live (the
 * spool has them), or, with reason `spool`, bytes the spool could not take.
 */
export function parseDroppedEvent(body: Map): DroppedEvent {
  const f = Fields.of(body, "dropped event");
  const why = f.optStr("why");
  return {
    v: PROTOCOL_VERSION,
    stream: f.oneOf("stream", STREAMS),
    offset: f.int("offset"),
    bytes: f.int("bytes"),
    reason: f.oneOf("reason", DROP_REASONS),
    ...(why !== undefined && { why }),
  };
}

/** `P.presence.<host>`: `hello`, `beat` or `bye`, each with the whole ping reply. */
export function parsePresence(body: Map): Presence {
  const f = Fields.of(body, "presence");
  return {
    v: PROTOCOL_VERSION,
    type: f.oneOf("type", PRESENCE_TYPES),
    host: f.str("host"),
    ...pingFields(f),
  };
}

/** The fields of a ping reply, which presence messages carry too. */
export function pingFields(f: Fields): Omit<Presence, "v" | "type" | "host"> {
  return {
    version: f.str("version"),
    labels: f.strMap("labels"),
    started: f.int("started"),
    pid: f.int("pid", 1),
    running: f.int("running"),
    heartbeat: f.int("heartbeat"),
    telemetry: f.int("telemetry"),
    os: f.str("os"),
    arch: f.str("arch"),
    cores: f.int("cores"),
    memory: f.int("memory"),
    boot: f.int("boot"),
    ...optionalFacts(f),
  };
}

/** The host facts added after the first version: absent from older agents. */
function optionalFacts(f: Fields): Pick<PingReply, "kernel" | "cpu"> {
  const out: Pick<PingReply, "kernel" | "cpu"> = {};
  const kernel = f.optStr("kernel");
  if (kernel !== undefined) out.kernel = kernel;
  const cpu = f.optStr("cpu");
  if (cpu !== undefined) out.cpu = cpu;
  return out;
}

/** What a presence message says of its agent: the fields of a ping reply. */
export function presencePing(p: Presence): PingReply {
  const { v: _v, type: _t, host: _h, ...info } = p;
  return info;
}

/** `P.log.<host>`: one entry of the agent's event log. */
export function parseProgramLogBody(body: Map): ProgramLogBody {
  const f = Fields.of(body, "event log entry");
  return { v: PROTOCOL_VERSION, host: f.str("host"), ...parseProgramEvent(f) };
}

function parseProgramEvent(f: Fields): ProgramEvent {
  const type = f.oneOf("type", ["state", "reload", "notice"] as const);
  const time = f.int("time");
  const message = f.str("message");
  switch (type) {
    case "state": {
      const e: ProgramEvent = {
        type,
        time,
        program: f.str("program"),
        process: f.str("process"),
        from: f.oneOf("from", PROGRAM_STATES),
        to: f.oneOf("to", PROGRAM_STATES),
        message,
      };
      if (f.has("pid")) e.pid = f.int("pid", 1);
      if (f.has("expected")) e.expected = f.bool("expected");
      // `code` and `signal` are null when set and not applicable: present means present.
      if (f.m.code !== undefined) e.code = f.intOrNull("code");
      if (f.m.signal !== undefined) e.signal = exitSignal(f, "signal");
      return e;
    }
    case "reload":
      return {
        type,
        time,
        source: f.str("source"),
        ok: f.bool("ok"),
        added: f.strList("added"),
        changed: f.strList("changed"),
        removed: f.strList("removed"),
        message,
      };
    case "notice": {
      const e: ProgramEvent = { type, time, message };
      if (f.has("program")) e.program = f.str("program");
      if (f.has("process")) e.process = f.str("process");
      if (f.has("pid")) e.pid = f.int("pid", 1);
      return e;
    }
  }
}
