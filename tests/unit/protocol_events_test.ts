// Parsers of what agents publish: each accepts what the agent sends (built by the agent's own code
// where it can be) after a trip through the codec, and refuses each malformed field with EBADMSG
// naming the message and the field.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Identity } from "../../agent/identity.ts";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  parseDroppedEvent,
  parsePresence,
  parseProcInfo,
  parseProgramLogBody,
} from "../../protocol/events.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import { parseMachineTelemetry } from "../../protocol/telemetry_messages.ts";
import { parseWatchEvent } from "../../protocol/watch_messages.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

type M = Record<string, unknown>;
const wire = (m: M) => decodeMap(encode({ v: 1, ...m }));

export const PROC: ProcInfo = {
  id: "p1",
  host: "h1",
  pid: 4121,
  argv: ["/bin/sh", "-c", "exit 3"],
  cwd: "/tmp",
  state: "exited",
  started: 1_700_000_000_123,
  ended: 1_700_000_000_456,
  code: 3,
  signal: null,
  timedOut: false,
  stdout: 5_000_000_000,
  stderr: 0,
};

Deno.test("events: a started and an exit event parse to their ProcInfo, without v", () => {
  deepStrictEqual(parseProcInfo(wire({ ...PROC }), "exit event"), PROC);
  const running = { ...PROC, state: "running", ended: null, code: null } as const;
  deepStrictEqual(parseProcInfo(wire(running), "started event"), running);
  const killed = { ...PROC, code: null, signal: "SIGKILL" } as const;
  deepStrictEqual(parseProcInfo(wire(killed)), killed);
  // Linux has signal 16 too: a process can die of it, and the event says so.
  strictEqual(
    parseProcInfo(wire({ ...PROC, code: null, signal: "SIGSTKFLT" })).signal,
    "SIGSTKFLT",
  );
  // Real-time signals, by their number (Deno cannot name them).
  for (const rt of ["SIGRT32", "SIGRT34", "SIGRT50", "SIGRT64"]) {
    strictEqual(parseProcInfo(wire({ ...PROC, code: null, signal: rt })).signal, rt);
  }
  // Fields this protocol does not define are left out.
  strictEqual("extra" in parseProcInfo(wire({ ...PROC, extra: 1 })), false);
  // Given the host of its subject, the body must name the same.
  deepStrictEqual(parseProcInfo(wire({ ...PROC }), "exit event", "h1"), PROC);
  assertTuttiError(
    () => parseProcInfo(wire({ ...PROC }), "exit event", "h2"),
    "EBADMSG",
    'exit event: field "host": expected "h2" (its sender), got "h1"',
  );
});

const BAD_PROC: [string, M, string][] = [
  ["id missing", { id: undefined }, '"id": expected a string, missing'],
  ["host a number", { host: 1 }, '"host": expected a string'],
  ["pid zero", { pid: 0 }, '"pid": expected an integer from 1'],
  ["argv a string", { argv: "ls" }, '"argv": expected an array of strings'],
  ["cwd null", { cwd: null }, '"cwd"'],
  ["state unknown", { state: "zombie" }, '"state": expected "running", "exited", got "zombie"'],
  ["started a string", { started: "now" }, '"started": expected a non-negative integer'],
  ["started with a fraction", { started: 1.5 }, '"started"'],
  ["ended a string", { ended: "x" }, '"ended": expected a non-negative integer or null'],
  ["code a string", { code: "x" }, '"code": expected a non-negative integer or null, got "x"'],
  ["signal unknown", { signal: "SIGFOO" }, '"signal": expected a signal name'],
  ["signal 31 as real-time", { signal: "SIGRT31" }, '"signal": expected a signal name'],
  ["signal 65", { signal: "SIGRT65" }, '"signal"'],
  ["signal SIGRTMIN+1", { signal: "SIGRTMIN+1" }, '"signal"'],
  ["signal SIGRT034", { signal: "SIGRT034" }, '"signal"'],
  ["timedOut a number", { timedOut: 0 }, '"timedOut": expected a boolean'],
  ["stdout negative", { stdout: -1 }, '"stdout"'],
  ["stderr past 2^53", { stderr: 2 ** 60 }, '"stderr"'],
];

for (const [name, change, words] of BAD_PROC) {
  Deno.test(`events: exit event refused: ${name}`, () => {
    const body = { ...PROC, ...change };
    assertTuttiError(() => parseProcInfo(wire(body), "exit event"), "EBADMSG", "exit event", words);
  });
}

Deno.test("events: a process info that is not a map names the message", () => {
  assertTuttiError(() => parseProcInfo("p1", "run reply: proc"), "EBADMSG", "run reply: proc");
});

Deno.test("events: dropped", () => {
  const body = { stream: "stderr", offset: 65536, bytes: 1024, reason: "backpressure" };
  deepStrictEqual(parseDroppedEvent(wire(body)), { v: 1, ...body });
  for (
    const [change, field] of [
      [{ stream: "stdin" }, "stream"],
      [{ offset: -1 }, "offset"],
      [{ bytes: "1" }, "bytes"],
      [{ reason: "tired" }, "reason"],
    ] as const
  ) {
    assertTuttiError(
      () => parseDroppedEvent(wire({ ...body, ...change })),
      "EBADMSG",
      `dropped event: field "${field}"`,
    );
  }
});

Deno.test("events: presence as the agent builds it (hello, beat, bye)", () => {
  const id = new Identity("h1", { site: "nancy" }, 5000, 0);
  for (const type of ["hello", "beat", "bye"] as const) {
    // What agent/presence.ts publishes.
    const body = { type, host: "h1", ...id.ping(2) };
    deepStrictEqual(parsePresence(wire(body)), { v: 1, ...body });
  }
  const body = { type: "beat", host: "h1", ...id.ping(0) };
  assertTuttiError(() => parsePresence(wire({ ...body, type: "hi" })), "EBADMSG", '"type"');
  assertTuttiError(() => parsePresence(wire({ ...body, host: undefined })), "EBADMSG", '"host"');
  assertTuttiError(
    () => parsePresence(wire({ ...body, heartbeat: "5s" })),
    "EBADMSG",
    'presence: field "heartbeat": expected a non-negative integer, got "5s"',
  );
  assertTuttiError(
    () => parsePresence(wire({ ...body, labels: { a: 1 } })),
    "EBADMSG",
    '"labels"',
  );
  assertTuttiError(() => parsePresence(wire({ ...body, memory: 1.5 })), "EBADMSG", '"memory"');
});

Deno.test("events: event-log entries of each type", () => {
  const state = {
    host: "h1",
    type: "state",
    time: 1_700_000_000_000,
    program: "web",
    process: "web:0",
    from: "RUNNING",
    to: "EXITED",
    pid: 4121,
    expected: false,
    code: null,
    signal: "SIGKILL",
    message: "exited: web:0 (terminated by SIGKILL; not expected)",
  };
  deepStrictEqual(parseProgramLogBody(wire(state)), { v: 1, ...state });
  const reload = {
    host: "h1",
    type: "reload",
    time: 1,
    source: "pushed",
    ok: true,
    added: ["web:0"],
    changed: [],
    removed: [],
    message: "added web:0",
  };
  deepStrictEqual(parseProgramLogBody(wire(reload)), { v: 1, ...reload });
  const notice = { host: "h1", type: "notice", time: 2, message: "hello" };
  deepStrictEqual(parseProgramLogBody(wire(notice)), { v: 1, ...notice });
  for (
    const [change, field] of [
      [{ type: "other" }, "type"],
      [{ to: "DEAD" }, "to"],
      [{ time: "now" }, "time"],
      [{ code: "1" }, "code"],
      [{ message: undefined }, "message"],
    ] as const
  ) {
    assertTuttiError(
      () => parseProgramLogBody(wire({ ...state, ...change })),
      "EBADMSG",
      `event log entry: field "${field}"`,
    );
  }
  assertTuttiError(
    () => parseProgramLogBody(wire({ ...reload, added: [1] })),
    "EBADMSG",
    '"added"',
  );
});

Deno.test("events: watch outcomes and telemetry refuse with EBADMSG too", () => {
  assertTuttiError(
    () => parseWatchEvent(wire({ host: "h", watch: "w", status: "done" })),
    "EBADMSG",
    "watch event",
    '"status"',
  );
  assertTuttiError(
    () => parseMachineTelemetry(wire({ host: "h" })),
    "EBADMSG",
    "machine telemetry",
  );
});
