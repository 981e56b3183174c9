/**
 * The wire of a start at an instant (protocol/clock_messages.ts): `clock`
 * requests and replies, a run's `startUs`, the early `accepted` answer, and
 * `startedUs` in a process's info. Every value goes through the real codec:
 * µs since the epoch are wider than 32 bits.
 */
import assert from "node:assert/strict";
import {
  parseClockReply,
  parseClockRequest,
  parseRunScheduled,
  parseStartUs,
} from "../../protocol/clock_messages.ts";
import { decodeMap, encode } from "../../protocol/codec.ts";
import { parseProcInfo } from "../../protocol/events.ts";
import { parseRunRequest } from "../../protocol/messages.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

type M = Record<string, unknown>;

function wire(m: M): M {
  return decodeMap(encode({ v: 1, ...m }));
}

const US = 1_796_456_505_123_456; // 2026-12-05, in µs

Deno.test("clock: the request's t0 and the reply's three times, in µs", () => {
  const bytes = encode({ v: 1, t0: US });
  assert.ok(bytes.includes(0x1b), "sent as an 8-byte integer, not a float");
  assert.deepEqual(parseClockRequest(wire({ t0: US })), { t0: US });
  assert.deepEqual(
    parseClockReply(wire({ ok: true, host: "h", t0: US, t1: US + 7, t2: US + 9, extra: 1 })),
    { t0: US, t1: US + 7, t2: US + 9 },
  );
});

Deno.test("clock: a t0 that is not µs since the epoch is EINVAL; a bad reply EBADMSG", () => {
  assertTuttiError(() => parseClockRequest(wire({})), "EINVAL", 'field "t0"', "missing");
  // ms instead of µs: a plausible mistake, refused rather than read 1000 times off.
  assertTuttiError(() => parseClockRequest(wire({ t0: 1_796_456_505_123 })), "EINVAL", '"t0"');
  assertTuttiError(() => parseClockRequest(wire({ t0: US + 0.5 })), "EINVAL", '"t0"');
  assertTuttiError(() => parseClockRequest(wire({ t0: "1" })), "EINVAL", '"t0"');
  assertTuttiError(
    () => parseClockReply(wire({ t0: US, t1: US, t2: null })),
    "EBADMSG",
    "clock reply",
    'field "t2"',
  );
});

Deno.test("run: startUs maps hosts to instants; parseRunRequest carries it", () => {
  const req = parseRunRequest(wire({ argv: ["true"], startUs: { "h-1": US, "h-2": US + 5 } }));
  assert.deepEqual(req.startUs, { "h-1": US, "h-2": US + 5 });
  assert.equal(parseRunRequest(wire({ argv: ["true"] })).startUs, undefined);
  assert.equal(parseStartUs(wire({})), undefined);
});

Deno.test("run: a bad startUs is EINVAL naming the host", () => {
  assertTuttiError(() => parseStartUs(wire({ startUs: [US] })), "EINVAL", '"startUs"');
  assertTuttiError(() => parseStartUs(wire({ startUs: {} })), "EINVAL", "at least one host");
  assertTuttiError(
    () => parseRunRequest(wire({ argv: ["true"], startUs: { "h-1": US, "h-2": "soon" } })),
    "EINVAL",
    '"startUs.h-2"',
  );
});

Deno.test("run: the early answer of a run held for its instant", () => {
  assert.deepEqual(parseRunScheduled(wire({ ok: true, host: "h", accepted: true, startUs: US })), {
    accepted: true,
    startUs: US,
  });
  assertTuttiError(
    () => parseRunScheduled(wire({ accepted: true })),
    "EBADMSG",
    'field "startUs"',
  );
});

Deno.test("ProcInfo: startedUs is optional, an integer when present", () => {
  const info = {
    id: "p",
    host: "h",
    pid: 42,
    argv: ["true"],
    cwd: "/",
    state: "running",
    started: Math.floor(US / 1000),
    ended: null,
    code: null,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
  };
  assert.equal(parseProcInfo(wire(info)).startedUs, undefined);
  assert.equal(parseProcInfo(wire({ ...info, startedUs: US })).startedUs, US);
  assertTuttiError(
    () => parseProcInfo(wire({ ...info, startedUs: 1.5 })),
    "EBADMSG",
    'field "startedUs"',
  );
});
