// The messages of a run's input (protocol/input_messages.ts): chunks on `P.stdin.<proc>` as the
// agent reads them from headers and payload, and the `input` events the controller reads.
import { deepStrictEqual } from "node:assert/strict";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  type InputChunk,
  inputHeaders,
  parseInputChunk,
  parseInputProgress,
} from "../../protocol/input_messages.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

type H = Record<string, string>;
const get = (h: H) => (name: string) => h[name];
const bytes = new Uint8Array([1, 2, 3]);

// ---------------------------------------------------------------- chunks

Deno.test("input: a chunk and the end read back as they were sent", () => {
  const chunks: InputChunk[] = [
    { type: "stdin", offset: 0, data: bytes },
    { type: "stdin", offset: 2 ** 40, data: bytes },
    { type: "eof", offset: 1234567 },
    { type: "eof", offset: 0 },
  ];
  for (const c of chunks) {
    const payload = c.type === "stdin" ? c.data : new Uint8Array(0);
    deepStrictEqual(parseInputChunk(get(inputHeaders(c, "r1")), payload), c);
  }
  deepStrictEqual(inputHeaders({ type: "stdin", offset: 42, data: bytes }, "r1"), {
    "Tutti-Version": "1",
    "Tutti-Type": "stdin",
    "Tutti-Proc": "r1",
    "Tutti-Encoding": "raw",
    "Tutti-Offset": "42",
  });
});

const GOOD: H = { "Tutti-Version": "1", "Tutti-Type": "stdin", "Tutti-Offset": "10" };

/** Headers of a good chunk with one changed (undefined: left out), and the words of the error. */
const BAD_CHUNK: [string, H, Uint8Array, "EBADMSG" | "EPROTO", string[]][] = [
  ["no version", { "Tutti-Version": undefined! }, bytes, "EPROTO", ["version", "null"]],
  ["version 2", { "Tutti-Version": "2" }, bytes, "EPROTO", ['"2"', "v1"]],
  ["no type", { "Tutti-Type": undefined! }, bytes, "EBADMSG", ["Tutti-Type", "null"]],
  ["type stdout", { "Tutti-Type": "stdout" }, bytes, "EBADMSG", ["Tutti-Type", '"stdout"']],
  ["no offset", { "Tutti-Offset": undefined! }, bytes, "EBADMSG", ["Tutti-Offset", '""']],
  ["negative offset", { "Tutti-Offset": "-1" }, bytes, "EBADMSG", ["Tutti-Offset", '"-1"']],
  ["offset with a sign", { "Tutti-Offset": "+1" }, bytes, "EBADMSG", ["Tutti-Offset"]],
  ["offset with blanks", { "Tutti-Offset": " 1" }, bytes, "EBADMSG", ["Tutti-Offset"]],
  ["offset a fraction", { "Tutti-Offset": "1.5" }, bytes, "EBADMSG", ["Tutti-Offset"]],
  ["offset in hex", { "Tutti-Offset": "0x10" }, bytes, "EBADMSG", ["Tutti-Offset"]],
  ["offset past 2^53", { "Tutti-Offset": "9007199254740993" }, bytes, "EBADMSG", [
    "Tutti-Offset",
  ]],
  ["empty chunk", {}, new Uint8Array(0), "EBADMSG", ["empty payload"]],
  ["eof with bytes", { "Tutti-Type": "eof" }, bytes, "EBADMSG", ["eof", "3 bytes"]],
];

for (const [name, change, payload, code, words] of BAD_CHUNK) {
  Deno.test(`input: a chunk is refused: ${name}`, () => {
    const h: H = { ...GOOD };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete h[k];
      else h[k] = v;
    }
    assertTuttiError(() => parseInputChunk(get(h), payload), code, ...words);
  });
}

// ---------------------------------------------------------------- progress

/** An event body as the controller sees it: encoded and decoded. */
const wire = (m: Record<string, unknown>) => decodeMap(encode({ v: 1, ...m }));

Deno.test("input: progress with every field, and without the optional ones", () => {
  deepStrictEqual(
    parseInputProgress(wire({ received: 70, written: 5, eof: false, closed: false, gap: 90 })),
    { v: 1, received: 70, written: 5, eof: false, closed: false, gap: 90 },
  );
  const error = { code: "EPIPE", message: "stdin closed after 5 bytes" };
  deepStrictEqual(
    parseInputProgress(
      wire({ received: 2 ** 40, written: 5, eof: true, closed: true, error, extra: "x" }),
    ),
    { v: 1, received: 2 ** 40, written: 5, eof: true, closed: true, error },
  );
  // An error code from a newer agent is still an error, with its words kept.
  deepStrictEqual(
    parseInputProgress(
      wire({
        received: 0,
        written: 0,
        eof: false,
        closed: true,
        error: { code: "EX", message: "m" },
      }),
    ).error,
    { code: "EINTERNAL", message: 'm (unknown error code "EX")' },
  );
});

const OK = { received: 10, written: 4, eof: false, closed: false };

const BAD_PROGRESS: [string, Record<string, unknown>, string[]][] = [
  ["no received", { received: undefined }, ['"received"', "missing"]],
  ["received negative", { received: -1 }, ['"received"']],
  ["received a fraction", { received: 1.5 }, ['"received"']],
  ["received a string", { received: "10" }, ['"received"', '"10"']],
  ["written past received", { written: 11 }, ['"written"', '"received" (10)']],
  ["eof a number", { eof: 1 }, ['"eof"', "boolean"]],
  ["no closed", { closed: undefined }, ['"closed"']],
  ["gap at received", { gap: 10 }, ['"gap"', "past"]],
  ["gap before received", { gap: 3 }, ['"gap"']],
];

for (const [name, change, words] of BAD_PROGRESS) {
  Deno.test(`input: progress is refused: ${name}`, () => {
    const m: Record<string, unknown> = { ...OK, ...change };
    for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
    assertTuttiError(() => parseInputProgress(wire(m)), "EBADMSG", "input event", ...words);
  });
}
