// The request parsers of protocol/messages.ts: a valid request comes back fully typed, and every
// invalid field is EINVAL with a message that names that field.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  parseLogsRequest,
  parsePsRequest,
  parseRunRequest,
  parseSignalRequest,
  parseTarget,
} from "../../protocol/messages.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

type M = Record<string, unknown>;

/** A request as the agent sees it: encoded and decoded, so the parsers meet real CBOR values. */
function wire(m: M): M {
  return decodeMap(encode({ v: 1, ...m }));
}

// ---------------------------------------------------------------- run

Deno.test("messages: run with every field", () => {
  const r = parseRunRequest(wire({
    id: "job-1_a",
    argv: ["echo", "hi", ""],
    env: { A: "1", EMPTY: "" },
    clearEnv: true,
    cwd: "/tmp",
    user: "www-data",
    timeout: 1.5,
    grace: 0,
    live: false,
    stdin: true,
  }));
  deepStrictEqual(r, {
    id: "job-1_a",
    argv: ["echo", "hi", ""],
    shell: undefined,
    env: { A: "1", EMPTY: "" },
    clearEnv: true,
    cwd: "/tmp",
    user: "www-data",
    timeout: 1.5,
    grace: 0,
    live: false,
    stdin: true,
  });
});

Deno.test("messages: run with a shell line and nothing else; null counts as absent", () => {
  deepStrictEqual(parseRunRequest(wire({ shell: "echo $HOME", cwd: null, env: null })), {
    id: undefined,
    argv: undefined,
    shell: "echo $HOME",
    env: undefined,
    clearEnv: undefined,
    cwd: undefined,
    user: undefined,
    timeout: undefined,
    grace: undefined,
    live: undefined,
    stdin: undefined,
  });
});

/** A valid run request, one field changed, and the words the EINVAL message must contain. */
const BAD_RUN: [string, M, string[]][] = [
  ["no argv nor shell", {}, ["argv", "shell"]],
  ["argv and shell", { argv: ["a"], shell: "a" }, ["argv", "shell"]],
  ["argv not an array", { argv: "echo hi" }, ['"argv"', "array"]],
  ["argv empty", { argv: [] }, ['"argv"', "non-empty"]],
  ["argv with a number", { argv: ["echo", 1] }, ['"argv"']],
  ["argv[0] empty", { argv: [""] }, ['"argv[0]"']],
  ["argv as bytes", { argv: new Uint8Array([1]) }, ['"argv"']],
  ["shell not a string", { shell: ["sh"] }, ['"shell"']],
  ["id with a dot", { argv: ["a"], id: "a.b" }, ["process id", '"a.b"']],
  ["id with a space", { argv: ["a"], id: "a b" }, ["process id"]],
  ["id wildcard", { argv: ["a"], id: "*" }, ["process id"]],
  ["id empty", { argv: ["a"], id: "" }, ["process id"]],
  ["id too long", { argv: ["a"], id: "x".repeat(129) }, ["process id"]],
  ["id a number", { argv: ["a"], id: 7 }, ['"id"']],
  ["env a list", { argv: ["a"], env: ["A=1"] }, ['"env"', "map"]],
  ["env a string", { argv: ["a"], env: "A=1" }, ['"env"']],
  ["env value a number", { argv: ["a"], env: { A: 1 } }, ['"env.A"']],
  ["env value null", { argv: ["a"], env: { B: null } }, ['"env.B"']],
  ["clearEnv a string", { argv: ["a"], clearEnv: "yes" }, ['"clearEnv"', "boolean"]],
  ["cwd a number", { argv: ["a"], cwd: 1 }, ['"cwd"']],
  ["user empty", { argv: ["a"], user: "" }, ['"user"', "user name or uid"]],
  ["user with a colon", { argv: ["a"], user: "a:b" }, ['"user"', '"a:b"']],
  ["user a number", { argv: ["a"], user: 0 }, ['"user"']],
  ["timeout negative", { argv: ["a"], timeout: -1 }, ['"timeout"']],
  ["timeout a string", { argv: ["a"], timeout: "10s" }, ['"timeout"', '"10s"']],
  ["timeout NaN", { argv: ["a"], timeout: NaN }, ['"timeout"']],
  ["timeout infinite", { argv: ["a"], timeout: Infinity }, ['"timeout"']],
  ["timeout over a year", { argv: ["a"], timeout: 86400 * 366 }, ['"timeout"']],
  ["grace negative", { argv: ["a"], grace: -0.5 }, ['"grace"']],
  ["live a number", { argv: ["a"], live: 1 }, ['"live"']],
  ["stdin a string", { argv: ["a"], id: "r", stdin: "data.tar" }, ['"stdin"', "boolean"]],
  ["stdin without id", { argv: ["a"], stdin: true }, ['"id"', "stdin"]],
];

for (const [name, fields, words] of BAD_RUN) {
  Deno.test(`messages: run rejects ${name}`, () => {
    assertTuttiError(() => parseRunRequest(wire(fields)), "EINVAL", ...words);
  });
}

Deno.test("messages: values JSON cannot print still give EINVAL (64-bit ints, cycles)", () => {
  const text = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)];
  // {v: 1, argv: ["x"], timeout: 2^64-1}: cbor-x decodes the integer as a BigInt.
  const big = decodeMap(
    new Uint8Array([
      0xa3,
      ...text("v"),
      0x01,
      ...text("argv"),
      0x81,
      ...text("x"),
      ...text("timeout"),
      0x1b,
      ...new Array(8).fill(0xff),
    ]),
  );
  assertTuttiError(() => parseRunRequest(big), "EINVAL", '"timeout"', "18446744073709551615");
  // {v: 1, argv: ["x"], env: <shared map that contains itself>} (CBOR tags 28/29).
  const cyclic = decodeMap(
    new Uint8Array([
      0xa3,
      ...text("v"),
      0x01,
      ...text("argv"),
      0x81,
      ...text("x"),
      ...text("env"),
      0xd8,
      0x1c,
      0xa1,
      ...text("a"),
      0xd8,
      0x1d,
      0x00,
    ]),
  );
  assertTuttiError(() => parseRunRequest(cyclic), "EINVAL", '"env.a"');
});

Deno.test("messages: the offending value is quoted, cut short", () => {
  const e = assertTuttiError(
    () => parseRunRequest(wire({ argv: ["a"], cwd: 12345 })),
    "EINVAL",
    "got 12345",
  );
  strictEqual(e.message, 'field "cwd": expected a string, got 12345');
  const long = assertTuttiError(
    () => parseRunRequest(wire({ argv: ["a"], cwd: ["x".repeat(500)] })),
    "EINVAL",
  );
  strictEqual(long.message.length < 120, true, long.message);
});

// ---------------------------------------------------------------- signal

Deno.test("messages: signal requests", () => {
  deepStrictEqual(parseSignalRequest(wire({ procs: ["p1", "p2"], signal: "KILL", grace: 2 })), {
    procs: ["p1", "p2"],
    signal: "SIGKILL",
    grace: 2,
  });
  deepStrictEqual(parseSignalRequest(wire({ procs: ["p1"] })), {
    procs: ["p1"],
    signal: "SIGTERM",
    grace: undefined,
  });
  strictEqual(parseSignalRequest(wire({ procs: ["p"], signal: 10 })).signal, "SIGUSR1");
  strictEqual(parseSignalRequest(wire({ procs: ["p"], signal: "sighup" })).signal, "SIGHUP");
});

const BAD_SIGNAL: [string, M, string[]][] = [
  ["no procs", {}, ['"procs"']],
  ["empty procs", { procs: [] }, ['"procs"', "non-empty"]],
  ["procs a string", { procs: "p1" }, ['"procs"']],
  ["procs with a number", { procs: ["p1", 2] }, ['"procs"']],
  ["an unknown signal name", { procs: ["p"], signal: "SIGFOO" }, ["signal", "SIGFOO"]],
  ["an unknown signal number", { procs: ["p"], signal: 99 }, ["signal", "99"]],
  ["signal 0", { procs: ["p"], signal: 0 }, ["signal"]],
  ["a boolean signal", { procs: ["p"], signal: true }, ['"signal"']],
  ["a list signal", { procs: ["p"], signal: ["TERM"] }, ['"signal"']],
  ["grace negative", { procs: ["p"], grace: -1 }, ['"grace"']],
  ["grace a string", { procs: ["p"], grace: "5s" }, ['"grace"']],
];

for (const [name, fields, words] of BAD_SIGNAL) {
  Deno.test(`messages: signal rejects ${name}`, () => {
    assertTuttiError(() => parseSignalRequest(wire(fields)), "EINVAL", ...words);
  });
}

// ---------------------------------------------------------------- ps

Deno.test("messages: ps requests", () => {
  deepStrictEqual(parsePsRequest(wire({})), { procs: undefined, running: undefined });
  deepStrictEqual(parsePsRequest(wire({ procs: ["a", "b"], running: true })), {
    procs: ["a", "b"],
    running: true,
  });
  deepStrictEqual(parsePsRequest(wire({ procs: [] })).procs, []);
});

Deno.test("messages: ps rejects bad fields", () => {
  assertTuttiError(() => parsePsRequest(wire({ procs: "a" })), "EINVAL", '"procs"');
  assertTuttiError(() => parsePsRequest(wire({ procs: [{}] })), "EINVAL", '"procs"');
  assertTuttiError(() => parsePsRequest(wire({ running: "yes" })), "EINVAL", '"running"');
});

// ---------------------------------------------------------------- logs

Deno.test("messages: logs requests", () => {
  deepStrictEqual(parseLogsRequest(wire({ proc: "p1" })), {
    proc: "p1",
    stream: "stdout",
    offset: undefined,
    limit: undefined,
  });
  deepStrictEqual(parseLogsRequest(wire({ proc: "p1", stream: "stderr", offset: 0, limit: 1 })), {
    proc: "p1",
    stream: "stderr",
    offset: 0,
    limit: 1,
  });
  strictEqual(parseLogsRequest(wire({ proc: "p", offset: 2 ** 40 })).offset, 2 ** 40);
});

const BAD_LOGS: [string, M, string[]][] = [
  ["no proc", {}, ['"proc"', "missing"]],
  ["proc a number", { proc: 1 }, ['"proc"']],
  ["an unknown stream", { proc: "p", stream: "stdin" }, ['"stream"', '"stdin"']],
  ["a stream of bytes", { proc: "p", stream: new Uint8Array([1]) }, ['"stream"']],
  ["offset negative", { proc: "p", offset: -1 }, ['"offset"']],
  ["offset a string", { proc: "p", offset: "0" }, ['"offset"']],
  ["limit zero", { proc: "p", limit: 0 }, ['"limit"']],
  ["limit a boolean", { proc: "p", limit: true }, ['"limit"']],
  ["offset with a fraction", { proc: "p", offset: 1.5 }, ['"offset"', "integer", "1.5"]],
  ["limit with a fraction", { proc: "p", limit: 10.5 }, ['"limit"', "integer"]],
];

for (const [name, fields, words] of BAD_LOGS) {
  Deno.test(`messages: logs rejects ${name}`, () => {
    assertTuttiError(() => parseLogsRequest(wire(fields)), "EINVAL", ...words);
  });
}

// ---------------------------------------------------------------- target

Deno.test("messages: targets", () => {
  strictEqual(parseTarget(wire({})), undefined);
  strictEqual(parseTarget(wire({ target: null })), undefined);
  deepStrictEqual(parseTarget(wire({ target: {} })), {
    hosts: undefined,
    exclude: undefined,
    where: undefined,
  });
  deepStrictEqual(
    parseTarget(wire({ target: { hosts: "g5k-[1-3]", exclude: "g5k-2", where: { r: "r*" } } })),
    { hosts: "g5k-[1-3]", exclude: "g5k-2", where: { r: "r*" } },
  );
});

const BAD_TARGET: [string, unknown, string[]][] = [
  ["a string", "g5k-*", ['"target"', "map"]],
  ["a list", ["g5k-1"], ['"target"']],
  ["hosts a list", { hosts: ["a"] }, ['"hosts"']],
  ["exclude a number", { exclude: 3 }, ['"exclude"']],
  ["where a string", { where: "rack=1" }, ['"where"']],
  ["where with a number", { where: { rack: 1 } }, ['"where.rack"']],
];

for (const [name, target, words] of BAD_TARGET) {
  Deno.test(`messages: target rejects ${name}`, () => {
    assertTuttiError(() => parseTarget(wire({ target })), "EINVAL", ...words);
  });
}
