// The fuzz message generator of tests/integration/agent_fuzz_test.ts: a seed replays the same
// messages, every kind of message is made, and `classify` never lets through a request the agent
// would act on, whatever the subject and target.
import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { decodeMap, encode } from "../../protocol/codec.ts";
import {
  classify,
  FUZZ_VERBS,
  generate,
  head,
  KINDS,
  parseSeed,
  Rng,
  UNKNOWN_VERBS,
} from "../integration/fuzz_messages.ts";

const HOST = "fz-1";
const hexOf = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function messages(seed: number, n: number): string[] {
  const rng = new Rng(seed);
  const verbs = [...FUZZ_VERBS, ...UNKNOWN_VERBS];
  return Array.from({ length: n }, () => {
    const { kind, bytes } = generate(rng, rng.pick(verbs));
    return `${kind}:${hexOf(bytes)}`;
  });
}

Deno.test("fuzz messages: a seed replays the same messages, another seed others", () => {
  deepStrictEqual(messages(42, 300), messages(42, 300));
  notDeepStrictEqual(messages(42, 300), messages(43, 300));
});

Deno.test("fuzz messages: TUTTI_FUZZ_SEED is an unsigned 32-bit integer, random when unset", () => {
  strictEqual(parseSeed("0"), 0);
  strictEqual(parseSeed("4294967295"), 4294967295);
  strictEqual(parseSeed("0x10"), 16);
  for (const bad of ["-1", "1.5", "4294967296", "seed"]) throws(() => parseSeed(bad), /SEED/);
  const random = parseSeed(undefined);
  ok(Number.isInteger(random) && random >= 0 && random <= 0xffffffff);
});

Deno.test("fuzz messages: CBOR heads in the shortest form, or the width asked for", () => {
  deepStrictEqual(head(0, 23), [0x17]);
  deepStrictEqual(head(3, 24), [0x78, 24]);
  deepStrictEqual(head(2, 0x1234), [0x59, 0x12, 0x34]);
  deepStrictEqual(head(4, 2 ** 32, 8), [0x9b, 0, 0, 0, 1, 0, 0, 0, 0]);
  deepStrictEqual(head(5, 2n ** 64n - 1n), [0xbb, ...new Array(8).fill(0xff)]);
  deepStrictEqual(head(3, 5, 4), [0x7a, 0, 0, 0, 5]);
});

Deno.test("fuzz messages: every kind is made, and every message fits in a NATS payload", () => {
  const rng = new Rng(7);
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const { kind, bytes } = generate(rng, rng.pick(FUZZ_VERBS));
    seen.add(kind);
    ok(bytes.length < 1024 * 1024 - 4096, `${kind}: ${bytes.length} bytes`);
  }
  deepStrictEqual([...seen].sort(), [...KINDS].sort());
});

/** Requests an agent would carry out: spawn, signal, watch, follow, write, change programs, stop. */
const ACTING: [string, Record<string, unknown>][] = [
  ["run", { argv: ["true"] }],
  ["run", { shell: "true", id: "job-1", timeout: 5 }],
  ["signal", { procs: ["job-1"] }],
  ["signal", { procs: ["job-1"], signal: 9 }],
  ["watch", { condition: { kind: "command", argv: ["true"] } }],
  ["watch", { condition: { kind: "file", path: "/tmp/x" } }],
  ["watch", { condition: { kind: "port", port: 22 }, timeout: 1 }],
  ["follow", { name: "web", seconds: 10 }],
  ["input", { name: "web:0", data: new Uint8Array([1]) }],
  ["input", { name: "web", eof: true }],
  ["programs", { action: "start", names: ["all"] }],
  ["programs", { action: "apply", config: "programs: {}" }],
  ["programs", { action: "reload" }],
  ["programs", { action: "reopen" }],
  ["shutdown", {}],
  ["upgrade", {}],
];

Deno.test("fuzz messages: classify never lets through a request the agent would act on", () => {
  for (const [verb, body] of ACTING) {
    for (const target of [undefined, { hosts: HOST }, { hosts: "fz-*" }, { hosts: "other" }]) {
      const bytes = encode({ v: 1, ...body, ...(target ? { target } : {}) });
      for (const broadcast of [false, true]) {
        const verdict = classify(verb, broadcast, bytes, HOST);
        strictEqual(verdict.send, false, `${verb} ${JSON.stringify(target)} ${broadcast}`);
      }
    }
  }
});

Deno.test("fuzz messages: classify sends refusals and reads, and knows which are answered", () => {
  const cases: [string, boolean, Uint8Array, boolean][] = [
    ["run", false, new Uint8Array([0xff, 0x00]), true], // EBADMSG
    ["run", false, encode({ v: 2, argv: ["true"] }), true], // EPROTO
    ["run", false, encode({ v: 1, argv: ["true", 1] }), true], // EINVAL
    ["run", false, encode({ v: 1, argv: ["true"], id: "a.b" }), true],
    ["watch", false, encode({ v: 1, condition: { kind: "port", port: 0 } }), true],
    ["programs", false, encode({ v: 1, action: "status" }), true],
    ["programs", false, encode({ v: 1, action: "start" }), true], // no names: EINVAL
    ["ping", false, encode({ v: 1 }), true],
    ["ps", true, encode({ v: 1 }), true],
    ["logs", false, encode({ v: 1, proc: "job-1" }), true], // ESRCH
    ["unwatch", false, encode({ v: 1, watches: ["w1"] }), true],
    // Unknown verbs, including names of Object.prototype: ENOSYS, whatever the body.
    ["constructor", false, encode({ v: 1, argv: ["true"] }), true],
    ["toString", true, encode({ v: 1, shell: "true" }), true],
    // Broadcasts: silent when the target leaves the agent out, refused when it does not parse.
    ["ping", true, encode({ v: 1, target: { hosts: "other" } }), false],
    ["run", true, encode({ v: 1, argv: [1], target: { hosts: "other" } }), false],
    ["ping", true, encode({ v: 1, target: { hosts: "[" } }), true], // EBADSEL
    ["ping", true, encode({ v: 1, target: 5 }), true], // EINVAL
    ["ping", false, encode({ v: 1, target: { hosts: "other" } }), true], // ignored per host
  ];
  for (const [verb, broadcast, bytes, reply] of cases) {
    deepStrictEqual(classify(verb, broadcast, bytes, HOST), { send: true, reply }, verb);
  }
});

/** The outcome of decoding `bytes` placed at `offset` in a larger buffer. */
function decodedAt(bytes: Uint8Array, offset: number): unknown {
  const buf = new Uint8Array(bytes.length + offset);
  buf.set(bytes, offset);
  try {
    return decodeMap(buf.subarray(offset));
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

// `classify` decodes a message where the test made it; the agent, wherever the network read put
// it. A Float64Array of 22 bytes used to decode when it happened to be aligned, and not otherwise.
Deno.test("codec: a message decodes the same wherever it lies in memory", () => {
  const found = "bf66746172676574d85656c2079298d0cfe182063a5bb0927ac65f67140199c1eb6176016570" +
    "726f637381612a60d81ca169636f6e646974696f6ed81d00ff";
  const samples: Uint8Array[] = [new Uint8Array(found.match(/../g)!.map((x) => parseInt(x, 16)))];
  const rng = new Rng(11);
  for (let i = 0; i < 1500; i++) samples.push(generate(rng, rng.pick(FUZZ_VERBS)).bytes);
  for (const bytes of samples) {
    const first = decodedAt(bytes, 0);
    for (let offset = 1; offset < 8; offset++) {
      const what = `${hexOf(bytes)} at offset ${offset}`;
      const other = decodedAt(bytes, offset);
      if (typeof first === "string" || typeof other === "string") strictEqual(other, first, what);
      else {
        try {
          deepStrictEqual(other, first, what);
        } catch (e) {
          // Nested too deep for the comparison itself: both decoded, which is what matters here.
          if (!(e instanceof RangeError)) throw e;
        }
      }
    }
  }
});
