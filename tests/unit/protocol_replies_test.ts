// Parsers of replies: the frame (host, ok, error) and each verb's fields. Each accepts what the agent
// sends after a trip through the codec and refuses each malformed field with EBADMSG naming the
// reply and the field. tests/integration/protocol_conformance_test.ts runs them on a real agent.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Identity } from "../../agent/identity.ts";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  isProgramsAccepted,
  parseFollowReply,
  parseInputReply,
  parseLogsReply,
  parsePingReply,
  parseProgramsReply,
  parsePsReply,
  parseReply,
  parseRunReply,
  parseShutdownReply,
  parseSignalReply,
  parseTailReply,
  parseUnwatchReply,
  parseWatchReply,
  parseWireError,
} from "../../protocol/replies.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";
import { PROC } from "./protocol_events_test.ts";

type M = Record<string, unknown>;
const ok = (m: object) => decodeMap(encode({ v: 1, ok: true, host: "h1", ...m }));
const fields = (m: object) => decodeMap(encode({ v: 1, ...m }));

Deno.test("replies: the frame of a success and of a failure", () => {
  const r = parseReply(ok({ proc: PROC, existing: false }), parseRunReply);
  deepStrictEqual(r, { host: "h1", ok: true, proc: PROC, existing: false });
  const error = { code: "ENOENT", message: "spawn ./foo: no such file or directory" };
  const failed = decodeMap(encode({ v: 1, ok: false, host: "h1", error }));
  deepStrictEqual(parseReply(failed, parseRunReply), { host: "h1", ok: false, error });
  assertTuttiError(
    () => parseReply(fields({ ok: true, proc: PROC, existing: false }), parseRunReply),
    "EBADMSG",
    'reply: field "host": expected a string, missing',
  );
  assertTuttiError(
    () => parseReply(fields({ host: "h1", ok: "yes" }), parseRunReply),
    "EBADMSG",
    'reply: field "ok": expected a boolean',
  );
  assertTuttiError(
    () => parseReply(ok({ proc: { ...PROC, state: "gone" }, existing: false }), parseRunReply),
    "EBADMSG",
    'run reply: proc: field "state"',
  );
});

Deno.test("replies: errors are always printable; an unknown code is EINTERNAL saying what came", () => {
  deepStrictEqual(parseWireError({ code: "ESRCH", message: "no process" }), {
    code: "ESRCH",
    message: "no process",
  });
  deepStrictEqual(parseWireError({ code: "EWHAT", message: "from the future" }), {
    code: "EINTERNAL",
    message: 'from the future (unknown error code "EWHAT")',
  });
  deepStrictEqual(parseWireError({ code: "EWHAT" }), {
    code: "EINTERNAL",
    message: 'malformed error reply ("EWHAT")',
  });
  deepStrictEqual(parseWireError(undefined), {
    code: "EINTERNAL",
    message: "malformed error reply (null)",
  });
  strictEqual(parseWireError("oops").message, 'malformed error reply ("oops")');
  strictEqual(parseWireError({ code: "EIO", message: 7 }).code, "EIO");
});

Deno.test("replies: ping, as the agent's identity answers it", () => {
  const ping = new Identity("h1", { rack: "2" }, 5000, 1000).ping(3);
  deepStrictEqual(parsePingReply(fields(ping)), ping);
  assertTuttiError(
    () => parsePingReply(fields({ ...ping, started: 1.7e12 + 0.5 })),
    "EBADMSG",
    'ping reply: field "started"',
  );
  assertTuttiError(() => parsePingReply(fields({ ...ping, os: 1 })), "EBADMSG", '"os"');
});

Deno.test("replies: ps, signal", () => {
  deepStrictEqual(parsePsReply(fields({ procs: [PROC] })), { procs: [PROC] });
  assertTuttiError(
    () => parsePsReply(fields({ procs: [PROC, { ...PROC, pid: "x" }] })),
    "EBADMSG",
    'ps reply: procs[1]: field "pid"',
  );
  assertTuttiError(() => parsePsReply(fields({ procs: PROC })), "EBADMSG", '"procs"');
  // A host lists its own processes only: a row naming another host is not its to report.
  deepStrictEqual(parseReply(ok({ procs: [PROC] }), parsePsReply), {
    host: "h1",
    ok: true,
    procs: [PROC],
  });
  assertTuttiError(
    () => parseReply(ok({ procs: [PROC, { ...PROC, host: "h2" }] }), parsePsReply),
    "EBADMSG",
    'ps reply: procs[1]: field "host": expected "h1" (its sender), got "h2"',
  );
  assertTuttiError(
    () => parseReply(ok({ proc: { ...PROC, host: "h2" }, existing: false }), parseRunReply),
    "EBADMSG",
    'run reply: proc: field "host": expected "h1"',
  );
  const results = [
    { proc: "a", ok: true },
    { proc: "b", ok: false, error: { code: "ESRCH", message: 'no process "b" on h1' } },
  ];
  deepStrictEqual(parseSignalReply(fields({ results })), { results });
  assertTuttiError(
    () => parseSignalReply(fields({ results: [{ proc: "a" }] })),
    "EBADMSG",
    'signal reply: field "results[0].ok"',
  );
  assertTuttiError(
    () => parseSignalReply(fields({ results: ["a"] })),
    "EBADMSG",
    'field "results[0]": expected a map',
  );
});

Deno.test("replies: logs, watch, unwatch", () => {
  const logs = {
    proc: "p1",
    stream: "stdout",
    offset: 0,
    data: new Uint8Array([104, 105]),
    size: 2,
    complete: true,
  };
  const back = parseLogsReply(fields(logs));
  deepStrictEqual({ ...back, data: [...back.data] }, { ...logs, data: [104, 105] });
  for (const [change, field] of [[{ data: "hi" }, "data"], [{ size: -1 }, "size"]] as const) {
    assertTuttiError(
      () => parseLogsReply(fields({ ...logs, ...change })),
      "EBADMSG",
      `logs reply: field "${field}"`,
    );
  }
  const watch = {
    watch: "w1",
    existing: false,
    started: 1_700_000_000_000,
    deadline: 1_700_000_300_000,
  };
  deepStrictEqual(parseWatchReply(fields(watch)), watch);
  assertTuttiError(
    () => parseWatchReply(fields({ ...watch, deadline: 1.7e12 + 0.5 })),
    "EBADMSG",
    '"deadline"',
  );
  const results = [
    { watch: "w1", ok: true },
    { watch: "w2", ok: false, error: { code: "ESRCH", message: "no watch w2" } },
  ];
  deepStrictEqual(parseUnwatchReply(fields({ results })), { results });
  assertTuttiError(
    () => parseUnwatchReply(fields({ results: [{ ok: true }] })),
    "EBADMSG",
    '"results[0].watch"',
  );
});

const ROW = {
  name: "web:0",
  program: "web",
  state: "RUNNING",
  pid: 4121,
  uptime: 12.345,
  description: "pid 4121, uptime 0:00:12",
  started: 1_700_000_000_000,
  stopped: null,
  exitCode: null,
  exitSignal: null,
  spawnerr: null,
};

Deno.test("replies: programs, its early acknowledgement, and the rows", () => {
  const accepted = parseProgramsReply(fields({ action: "start", accepted: true }));
  deepStrictEqual(accepted, { action: "start", accepted: true });
  strictEqual(isProgramsAccepted(accepted), true);
  const reply = {
    action: "apply",
    results: [
      { name: "web:0", ok: true, message: "started" },
      {
        name: "db",
        ok: false,
        message: "no such process",
        error: { code: "ESRCH", message: "db: no such process" },
      },
    ],
    processes: [ROW, { ...ROW, name: "web:1", state: "EXITED", pid: null, exitSignal: "SIGTERM" }],
    config: "pushed",
    reload: { source: "pushed", added: ["web:0"], changed: [], removed: [], unchanged: [] },
  };
  const back = parseProgramsReply(fields(reply));
  deepStrictEqual(back, reply);
  strictEqual(isProgramsAccepted(back), false);
  for (
    const [change, field] of [
      [{ action: "explode" }, "action"],
      [{ accepted: false }, "accepted"],
      [{ config: null }, "config"],
      [{ processes: [{ ...ROW, state: "DEAD" }] }, "processes[0].state"],
      [{ processes: [{ ...ROW, exitSignal: "TERM" }] }, "processes[0].exitSignal"],
      [{ processes: [{ ...ROW, uptime: "12s" }] }, "processes[0].uptime"],
      [{ results: [{ name: "x", ok: true }] }, "results[0].message"],
      [{ reload: { ...reply.reload, added: "web:0" } }, "reload.added"],
    ] as const
  ) {
    assertTuttiError(
      () => parseProgramsReply(fields({ ...reply, ...change })),
      "EBADMSG",
      `programs reply: field "${field}"`,
    );
  }
});

Deno.test("replies: tail, follow, input, shutdown", () => {
  const tail = parseTailReply(fields({
    name: "web:0",
    stream: "stderr",
    offset: 70000,
    data: new Uint8Array([1]),
  }));
  deepStrictEqual({ ...tail, data: [...tail.data] }, {
    name: "web:0",
    stream: "stderr",
    offset: 70000,
    data: [1],
  });
  assertTuttiError(
    () => parseTailReply(fields({ name: "w", stream: "stdout", offset: 0 })),
    "EBADMSG",
    'tail reply: field "data": expected a byte string, missing',
  );
  const follow = { name: "web:0", until: 1_700_000_015_000 };
  deepStrictEqual(parseFollowReply(fields(follow)), follow);
  assertTuttiError(() => parseFollowReply(fields({ name: "w" })), "EBADMSG", '"until"');
  deepStrictEqual(parseFollowReply(fields({ ...follow, tty: true })), { ...follow, tty: true });
  deepStrictEqual(parseFollowReply(fields({ ...follow, tty: false })), follow);
  deepStrictEqual(parseInputReply(fields({ name: "w", written: 3 })), { name: "w", written: 3 });
  assertTuttiError(
    () => parseInputReply(fields({ name: "w", written: -3 })),
    "EBADMSG",
    '"written"',
  );
  const shutdown = { pid: 77, programs: 2, processes: 0 };
  deepStrictEqual(parseShutdownReply(fields(shutdown)), shutdown);
  assertTuttiError(
    () => parseShutdownReply(fields({ ...shutdown, programs: null })),
    "EBADMSG",
    '"programs"',
  );
});
