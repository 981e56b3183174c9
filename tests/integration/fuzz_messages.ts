/**
 * Messages for protocol fuzzing (agent_fuzz_test.ts): a seeded generator of
 * random, malformed and mutated requests for each verb, and `classify`, the
 * safety check that keeps the fuzzer from ever asking an agent to act.
 *
 * Everything comes from one `Rng`, so a seed replays the same messages in
 * the same order. Valid CBOR parts are written by the protocol's own encoder
 * (protocol/codec.ts); malformed parts (huge declared lengths, reserved
 * codes, cut items, odd tags) are written byte by byte.
 */
import { decodeMap, encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { parseRunRequest, parseSignalRequest, parseTarget } from "../../protocol/messages.ts";
import {
  parseFollowRequest,
  parseInputRequest,
  parseProgramsRequest,
  PROGRAM_ACTIONS,
} from "../../protocol/program_messages.ts";
import { matchTarget } from "../../protocol/selector.ts";
import { VERBS } from "../../protocol/subjects.ts";
import { parseQueueRequest } from "../../protocol/queue_messages.ts";
import { parseWatchRequest } from "../../protocol/watch_messages.ts";

// ---------------------------------------------------------------- random numbers

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** In [0, 1). */
  float(): number {
    return this.u32() / 2 ** 32;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let r = this.float() * xs.reduce((s, [w]) => s + w, 0);
    for (const [w, x] of xs) {
      if ((r -= w) < 0) return x;
    }
    return xs[xs.length - 1][1];
  }
  /** A length from 0 to `max`, small ones far more often (log-uniform). */
  size(max: number): number {
    return Math.min(max, Math.floor((max + 1) ** this.float()) - 1 + this.int(2));
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** A seed from a string (decimal or 0x hex), or a fresh random one. */
export function parseSeed(text: string | undefined): number {
  if (text === undefined || text === "") return crypto.getRandomValues(new Uint32Array(1))[0];
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`TUTTI_FUZZ_SEED=${text}: expected an integer from 0 to 4294967295`);
  }
  return n;
}

// ---------------------------------------------------------------- subjects

/**
 * Every verb but `shutdown` and `upgrade`: a well-formed one would stop the
 * agent under test, or re-execute it.
 */
export const FUZZ_VERBS: readonly string[] = VERBS.filter((v) =>
  v !== "shutdown" && v !== "upgrade"
);

/** Verbs no agent knows (ENOSYS), among them names of Object.prototype. */
export const UNKNOWN_VERBS = [
  "frobnicate",
  "constructor",
  "__proto__",
  "hasOwnProperty",
  "toString",
  "PING",
  "Run",
  "run_",
  "x",
];

// ---------------------------------------------------------------- raw CBOR

type Bytes = number[];

/** The head of a CBOR item: major type and argument, in the shortest form (or `width` bytes). */
export function head(major: number, n: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Bytes {
  const v = BigInt(n);
  const w = width ?? (v < 24n ? 0 : v < 0x100n ? 1 : v < 0x10000n ? 2 : v < 0x100000000n ? 4 : 8);
  const info = { 0: Number(v), 1: 24, 2: 25, 4: 26, 8: 27 }[w];
  const out = [(major << 5) | info];
  for (let i = w - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

const utf8 = new TextEncoder();

export function text(s: string): Bytes {
  const b = utf8.encode(s);
  return [...head(3, b.length), ...b];
}

/** A map from already-encoded keys and values; `indefinite` writes 0xbf ... 0xff. */
function mapOf(entries: [Bytes, Bytes][], indefinite: boolean): Bytes {
  const out = indefinite ? [0xbf] : head(5, entries.length);
  for (const [k, v] of entries) out.push(...k, ...v);
  if (indefinite) out.push(0xff);
  return out;
}

/** cbor-x's encoding of a JS value; the few values it refuses become `null`. */
function enc(x: unknown): Bytes {
  try {
    return [...encode(x)];
  } catch {
    return [0xf6];
  }
}

/** Lengths that no message can have: the decoder must say so, not allocate them. */
const HUGE_LENGTHS: (number | bigint)[] = [
  1_000_000,
  1_000_000_000,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Tags cbor-x gives a meaning to (dates, bigints, shared references, records, typed arrays...) and others. */
const TAGS = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  14,
  15,
  21,
  24,
  25,
  27,
  28,
  29,
  32,
  51,
  64,
  69,
  72,
  77,
  81,
  85,
  105,
  256,
  258,
  259,
  0xdff9,
  0xdffe,
  0xdfff,
  0xe000,
  55799,
  0xffff,
  2 ** 32 - 1,
  2n ** 63n,
  2n ** 64n - 1n,
];

// ---------------------------------------------------------------- values

const WORDS = [
  "",
  "true",
  "v",
  "run",
  "stdout",
  "stderr",
  "SIGTERM",
  "TERM",
  "all",
  "web",
  "web:0",
  "web:*",
  "fz-1",
  "fz-*",
  "job-1",
  "a.b",
  "*",
  ">",
  "__proto__",
  "constructor",
  "a\nb",
  "\0",
  "\ud800",
  "ü✓",
  "/",
  "/no/such/dir",
  "../../etc",
  "[1-5]",
  "n[1-1000000000]",
];

const NUMBERS = [
  0,
  1,
  -1,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53 + 2,
  -(2 ** 53),
  0.5,
  -0,
  1e-300,
  1e308,
  NaN,
  Infinity,
  -Infinity,
];

const BIGINTS = [2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n), -(2n ** 64n)];

function randomString(rng: Rng): string {
  switch (rng.int(4)) {
    case 0:
      return rng.pick(WORDS);
    case 1: {
      let s = "";
      for (let i = rng.size(64); i > 0; i--) s += String.fromCharCode(32 + rng.int(95));
      return s;
    }
    case 2: {
      let s = "";
      for (let i = rng.size(32); i > 0; i--) s += String.fromCharCode(rng.int(0x10000));
      return s;
    }
    default:
      return rng.pick(WORDS).repeat(rng.size(2000));
  }
}

/** Any JS value cbor-x encodes: scalars, containers, and its tagged types (Date, Set, RegExp...). */
export function anyValue(rng: Rng, depth = 0): unknown {
  const leaf = depth > 3;
  switch (rng.int(leaf ? 8 : 14)) {
    case 0:
      return rng.pick(NUMBERS);
    case 1:
      return rng.int(2 ** 32) - 2 ** 31;
    case 2:
      return rng.pick(BIGINTS);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return rng.pick([true, false, null, undefined]);
    case 6:
      return rng.bytes(rng.size(300));
    case 7:
      return rng.pick([
        new Date(rng.int(2 ** 31) * 1000),
        /a(b|c)*$/i,
        new Error("boom"),
        new Float64Array([1.5, NaN]),
        new Uint16Array([1, 2]),
      ]);
    case 8:
    case 9:
      return Array.from({ length: rng.size(12) }, () => anyValue(rng, depth + 1));
    case 10:
      return Array.from({ length: rng.size(6) }, () => randomString(rng));
    case 11: {
      const o: Record<string, unknown> = {};
      for (let i = rng.size(8); i > 0; i--) {
        // Defined, not assigned: a key `__proto__` must be an own key, not the prototype.
        const value = anyValue(rng, depth + 1);
        Object.defineProperty(o, randomString(rng), { value, enumerable: true, writable: true });
      }
      return o;
    }
    case 12:
      return new Set(Array.from({ length: rng.size(4) }, () => anyValue(rng, depth + 1)));
    default:
      return new Map([[rng.pick([1, "k", true]), anyValue(rng, depth + 1)]]);
  }
}

/** One CBOR item that may be malformed: huge lengths, reserved codes, odd tags, cycles. */
export function rawItem(rng: Rng, depth = 0): Bytes {
  switch (rng.int(depth > 2 ? 6 : 11)) {
    case 0: // a string, byte string, array or map declaring far more than follows
      return [
        ...head(rng.pick([2, 3, 4, 5]), rng.pick(HUGE_LENGTHS), rng.pick([4, 8] as const)),
        ...rng.bytes(rng.size(16)),
      ];
    case 1: // reserved additional information, lone break, unassigned simple values
      return [rng.pick([0x1c, 0x1d, 0x1e, 0x3c, 0x5d, 0x7e, 0x9c, 0xbd, 0xdc, 0xfc, 0xff])];
    case 2: // simple values and floats with random bits
      return [rng.pick([0xf8, 0xf9, 0xfa, 0xfb, 0xf0, 0xf7]), ...rng.bytes(rng.pick([1, 2, 4, 8]))];
    case 3: // an integer with a random width and value
      return head(rng.int(2), BigInt(rng.u32()) << BigInt(rng.int(33)), rng.pick([1, 2, 4, 8]));
    case 4:
      return enc(anyValue(rng, 2));
    case 5: // a string cut short
      return [...head(3, 10 + rng.int(100)), ...utf8.encode("abc")];
    case 6: // a tag over anything
      return [...head(6, rng.pick(TAGS)), ...rawItem(rng, depth + 1)];
    case 7: { // a cycle through cbor-x's shared references: {a: <itself>} or [<itself>]
      const self = [0xd8, 29, 0x00];
      return rng.chance(0.5)
        ? [0xd8, 28, 0xa1, ...text(rng.pick(["a", "argv", "condition", "target"])), ...self]
        : [0xd8, 28, 0x81, ...self];
    }
    case 8: { // an indefinite-length container, with or without its break
      const major = rng.pick([2, 3, 4, 5]);
      const out = [(major << 5) | 31];
      for (let i = rng.size(6); i > 0; i--) out.push(...rawItem(rng, depth + 1));
      if (rng.chance(0.6)) out.push(0xff);
      return out;
    }
    case 9: { // an array of items, some malformed
      const items = Array.from({ length: rng.size(6) }, () => rawItem(rng, depth + 1));
      return [...head(4, items.length), ...items.flat()];
    }
    default: { // a tagged typed array or bigint over a byte string of odd length
      const tag = rng.pick([2, 3, 64, 65, 66, 69, 70, 72, 77, 81, 82, 85, 86]);
      const b = rng.bytes(rng.size(40));
      return [...head(6, tag), ...head(2, b.length), ...b];
    }
  }
}

// ---------------------------------------------------------------- request fields

const IDS = [
  "job-1",
  "w1",
  "fz-1",
  "a.b",
  "",
  "*",
  ">",
  "x".repeat(129),
  "web:0",
  "__proto__",
  "a b",
];
const NAMES = ["web", "web:0", "web:*", "web:1234567", "all", "", "a b", "web:x", 1, ["web"]];
const STREAMS = ["stdout", "stderr", "stdin", "", 1, "STDOUT"];
const SECONDS = [0, 0.001, 0.1, 1, 600, 601, 86400, 86401, 1e12, -1, NaN, Infinity, "1s", true];
const PROCS = [["job-1"], [], "job-1", [1], ["*"], ["job-1", null], [["job-1"]]];

/** Conditions of `watch`: near misses of each kind. */
const CONDITIONS: unknown[] = [
  { kind: "file", path: "" },
  { kind: "file", path: "/tmp/x", event: "created" },
  { kind: "file", path: "a\0b" },
  { kind: "file", path: 5 },
  { kind: "port", port: 0 },
  { kind: "port", port: 65536 },
  { kind: "port", port: 80.5 },
  { kind: "port", port: 22, address: "" },
  { kind: "port", port: "22" },
  { kind: "exit", proc: "a.b" },
  { kind: "exit" },
  { kind: "output", proc: "job-1", pattern: "(" },
  { kind: "output", proc: "job-1", pattern: "x", flags: "g" },
  { kind: "output", proc: "job-1", pattern: "x".repeat(1001) },
  { kind: "output", proc: "job-1", pattern: "x", stream: "stdin" },
  { kind: "output", proc: "job-1", pattern: "x", from: "then" },
  { kind: "command", argv: [] },
  { kind: "command", argv: [""] },
  { kind: "command", argv: ["true"], shell: "true" },
  { kind: "command" },
  { kind: "command", argv: "true" },
  { kind: "nope" },
  { kind: 1 },
  {},
  "file",
  [],
  null,
];

/** The fields of each verb's request, each with near-valid and wrong values to pick from. */
const FIELDS: Record<string, Record<string, readonly unknown[]>> = {
  ping: {},
  run: {
    id: IDS,
    argv: [[], [""], ["true", 1], "true", [["true"]], ["true", null], [1]],
    shell: ["", 1, ["true"], { cmd: "true" }],
    env: [{ A: "1" }, { A: 1 }, ["A=1"], "A=1", { "": "" }, { A: null }],
    clearEnv: [true, false, "yes", 1],
    cwd: ["/", "/no/such/dir", "", 1],
    timeout: SECONDS,
    grace: SECONDS,
    live: [true, false, "no", 0],
    stdin: [true, false, "data.tar", 1],
    startUs: [{}, [1], { x: 1 }, { x: "1" }, { x: 1.5e15 }, 1_796_456_505_123_456, null],
  },
  clock: { t0: [0, -1, 1.5, "1", 2 ** 53, 1_796_456_505_123_456, 1_796_456_505_123, null] },
  signal: {
    procs: PROCS,
    signal: ["SIGTERM", "TERM", "sigkill", 15, 0, 99, "SIGFOO", "", -1, 1.5, true, null],
    grace: SECONDS,
  },
  ps: { procs: PROCS, running: [true, false, "yes", 1] },
  logs: {
    proc: IDS,
    stream: STREAMS,
    offset: [0, -1, 1e20, NaN, "0", 2 ** 53],
    limit: [1, 0, -5, 2 ** 53, "10"],
  },
  watch: { id: IDS, condition: CONDITIONS, timeout: SECONDS },
  unwatch: { watches: [["w1"], [], "w1", [1], ["a.b"], ["w1", "w2", "w1"]] },
  programs: {
    action: [...PROGRAM_ACTIONS, "STATUS", "", 1, null, "kill", ["status"]],
    names: [["all"], [], ["web:0"], ["web:*"], ["a b"], "all", [1], ["web:"]],
    config: ["programs: {}", "", 1, "x".repeat(1000), "[[["],
    file: ["p.yaml", "", "a\nb", 1, "x".repeat(5000)],
    ack: [true, false, "yes"],
    timeout: SECONDS,
  },
  tail: { name: NAMES, stream: STREAMS, bytes: [1, 0, 65536, 65537, -1, "10", 0.5] },
  follow: { name: NAMES, seconds: SECONDS },
  input: {
    name: NAMES,
    data: [new Uint8Array([1, 2, 3]), new Uint8Array(0), "text", 1, [1, 2]],
    eof: [true, false, "yes", 0],
  },
  // Only malformed items: a well-formed put is acknowledged at once (the agent acts).
  put: {
    id: IDS,
    stream: ["tutti_xfer", "", 1],
    chunks: ["tutti.xfer", 1],
    chunk: [1, 0, -1, 4096, "4096", 2 ** 53],
    items: [
      [{ dest: "/x", into: true, entries: [{ path: "../f", kind: "dir", mode: 493 }] }],
      [{ dest: "/x", into: false, entries: [] }],
      [{ dest: "", into: "yes", entries: {} }],
      "items",
      [1],
    ],
  },
  // Paths that exist or are refused: get and read only read.
  get: { paths: [["/etc/hostname"], [], ["/"], [""], "x", [1]] },
  read: {
    path: ["/etc/hostname", "etc/hostname", "", 1],
    offset: [0, -1, 2 ** 53, "0", 1e9],
    limit: [1, 0, 65536, 2 ** 40, "1"],
  },
  queue: {
    name: ["sweep", "a.b", "", 1],
    slots: [1, 0, -1, "2", 2.5],
    lease: [30, 0, "30"],
    retries: [0, -1, "1"],
    backoff: [1, -1, "1"],
    timeout: SECONDS,
  },
};

/** The fields of a `watch` condition, for conditions assembled field by field. */
const CONDITION_FIELDS: Record<string, readonly unknown[]> = {
  kind: ["file", "port", "exit", "output", "command", "nope", 1],
  path: ["", "a\0b", "/no/such/dir/x", 5],
  event: ["exists", "modified", "removed", "created", 1],
  port: [0, 1, 65535, 65536, 80.5, -1, "80"],
  address: ["", "127.0.0.1", "x".repeat(65), 4],
  proc: IDS,
  pattern: ["(", "x", "x".repeat(1001), "(a+)+$", 1],
  flags: ["", "i", "g", "imsu", 1],
  stream: STREAMS,
  from: ["start", "now", "then", 0],
  argv: [[], [""], ["true", 1], "true"],
  shell: ["", 1, ["true"]],
  cwd: ["/", "", 1],
  env: [{ A: 1 }, ["A=1"]],
  interval: SECONDS,
  probeTimeout: SECONDS,
};

/** Versions: mostly the right one, so that requests reach the verbs' parsers. */
const VERSIONS: unknown[] = [2, 0, -1, "1", 1.5, null, true, [1], { v: 1 }, 2n ** 64n - 1n];

/** Broadcast targets: matching, not matching, malformed, of the wrong type. */
const TARGETS: unknown[] = [
  { hosts: "fz-1" },
  { hosts: "fz-*" },
  { hosts: "fz-[1-3]" },
  { hosts: "other" },
  { exclude: "fz-1" },
  { hosts: "fz-[1-1000000000]" },
  { hosts: "n[1-999999999999999999999]" },
  { hosts: "[" },
  { hosts: "fz-[3-1]" },
  { hosts: "fz-[1-5/0]" },
  { hosts: "@nodes.txt" },
  { hosts: "" },
  { hosts: "a,,b" },
  { hosts: "[a-" },
  { hosts: "*".repeat(3000) },
  { hosts: "fz-1,".repeat(2000) },
  { hosts: 5 },
  { where: { rack: "r1" } },
  { where: { rack: 1 } },
  { where: { rack: "[" } },
  { where: "rack=r1" },
  "fz-1",
  5,
  [],
  null,
];

/** A value for `field`: a near-valid one from its pool, a random value, or a raw (maybe malformed) item. */
function fieldValue(rng: Rng, pool: readonly unknown[] | undefined, raw: boolean): Bytes {
  if (raw && rng.chance(0.3)) return rawItem(rng);
  if (pool && pool.length > 0 && rng.chance(0.55)) return enc(rng.pick(pool));
  return enc(anyValue(rng, 1));
}

function fieldsOf(
  rng: Rng,
  fields: Record<string, readonly unknown[]>,
  raw: boolean,
): [Bytes, Bytes][] {
  const entries: [Bytes, Bytes][] = [];
  for (const [name, pool] of Object.entries(fields)) {
    if (rng.chance(0.45)) entries.push([text(name), fieldValue(rng, pool, raw)]);
  }
  return entries;
}

/**
 * A map for `verb`: `v` (mostly 1), a random subset of the verb's fields with
 * near-valid or wrong values, sometimes a `target`, unknown keys, keys that
 * are not strings, duplicated keys. With `raw`, values may be malformed.
 */
export function requestMap(rng: Rng, verb: string, raw: boolean): Uint8Array {
  const entries: [Bytes, Bytes][] = [];
  if (!rng.chance(0.04)) {
    entries.push([
      text("v"),
      rng.chance(0.9) ? [PROTOCOL_VERSION] : fieldValue(rng, VERSIONS, raw),
    ]);
  }
  const fields = FIELDS[verb] ?? FIELDS[rng.pick(FUZZ_VERBS)];
  entries.push(...fieldsOf(rng, fields, raw));
  if (verb === "watch" && rng.chance(0.5)) {
    entries.push([text("condition"), mapOf(fieldsOf(rng, CONDITION_FIELDS, raw), false)]);
  }
  if (rng.chance(0.3)) entries.push([text("target"), fieldValue(rng, TARGETS, raw)]);
  if (rng.chance(0.1)) entries.push([text(randomString(rng)), fieldValue(rng, undefined, raw)]);
  if (rng.chance(0.05)) {
    // Keys that are not text: numbers and booleans become strings, anything else is refused.
    entries.push([enc(rng.pick([1, -1, true, null, [1], { a: 1 }, 2n ** 64n - 1n])), [0x01]]);
  }
  if (rng.chance(0.05)) entries.push([text(rng.pick(["__proto__", "constructor", "v"])), [0x02]]);
  // Shuffled: `v` is not always first.
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  return new Uint8Array(mapOf(entries, rng.chance(0.1)));
}

// ---------------------------------------------------------------- messages

export const KINDS = [
  "random",
  "wrong-type",
  "fields",
  "fields-raw",
  "truncated",
  "huge-length",
  "deep",
  "mutated",
  "spliced",
] as const;
export type Kind = typeof KINDS[number];

const KIND_WEIGHTS: [number, Kind][] = [
  [12, "random"],
  [10, "wrong-type"],
  [22, "fields"],
  [12, "fields-raw"],
  [10, "truncated"],
  [8, "huge-length"],
  [4, "deep"],
  [20, "mutated"],
  [2, "spliced"],
];

/** Bytes that mean something to a CBOR decoder, for mutations. */
const INTERESTING = [0x00, 0x17, 0x18, 0x1b, 0x1f, 0x5f, 0x7f, 0x9f, 0xbf, 0xc0, 0xd8, 0xf7, 0xff];

function randomBytes(rng: Rng): Uint8Array {
  const b = rng.bytes(rng.chance(0.95) ? rng.size(256) : rng.size(16384));
  // Often a map head, so the decoder goes deeper than the first byte.
  if (b.length > 0 && rng.chance(0.4)) b[0] = 0xa0 | rng.int(32);
  return b;
}

function wrongType(rng: Rng): Uint8Array {
  if (rng.chance(0.3)) return new Uint8Array(rawItem(rng));
  let x = anyValue(rng);
  while (x !== null && typeof x === "object" && Object.getPrototypeOf(x) === Object.prototype) {
    x = anyValue(rng);
  }
  return new Uint8Array(enc(x));
}

function hugeLength(rng: Rng, verb: string): Uint8Array {
  const huge = [
    ...head(rng.pick([2, 3, 4, 5]), rng.pick(HUGE_LENGTHS), rng.pick([4, 8] as const)),
    ...rng.bytes(rng.size(32)),
  ];
  switch (rng.int(3)) {
    case 0:
      return new Uint8Array(huge);
    case 1: { // a map claiming billions of entries, followed by a real request's entries
      const map = requestMap(rng, verb, false);
      return new Uint8Array([
        ...head(5, rng.pick(HUGE_LENGTHS), rng.pick([4, 8] as const)),
        ...map.subarray(1),
      ]);
    }
    default: { // a real request with one field's value claiming a huge length
      const field = rng.pick(Object.keys(FIELDS[verb] ?? FIELDS.run).concat("v", "target"));
      return new Uint8Array(mapOf([[text("v"), [0x01]], [text(field), huge]], false));
    }
  }
}

function deep(rng: Rng): Uint8Array {
  const depth = rng.chance(0.9) ? 10 + rng.size(3000) : 10_000 + rng.int(90_000);
  const unit = rng.pick([[0x81], [0xa1, 0x61, 0x61], [0x9f], [0xd8, 0x64], [0xbf, 0x61, 0x61]]);
  const body = new Uint8Array(depth * unit.length + 1);
  for (let i = 0; i < depth; i++) body.set(unit, i * unit.length);
  body[body.length - 1] = 0x01;
  if (rng.chance(0.5)) return body;
  // Inside a request: {v: 1, <field>: [[[[...]]]]}.
  const field = rng.pick(["argv", "procs", "condition", "target", "names", "env", "data"]);
  return new Uint8Array([...mapOf([[text("v"), [0x01]], [text(field), []]], false), ...body]);
}

function mutate(rng: Rng, b: Uint8Array, other: () => Uint8Array): Uint8Array {
  let out = [...b];
  for (let n = 1 + rng.size(8); n > 0; n--) {
    const at = rng.int(out.length + 1);
    switch (rng.int(7)) {
      case 0: // bit flip
        if (at < out.length) out[at] ^= 1 << rng.int(8);
        break;
      case 1:
        if (at < out.length) out[at] = rng.pick(INTERESTING);
        break;
      case 2:
        out.splice(at, 0, ...rng.bytes(1 + rng.size(8)));
        break;
      case 3:
        out.splice(at, 1 + rng.size(8));
        break;
      case 4: { // duplicate a range
        const len = 1 + rng.size(16);
        out.splice(at, 0, ...out.slice(at, at + len));
        break;
      }
      case 5: { // splice in a part of another message
        const o = other();
        const from = rng.int(o.length + 1);
        out.splice(at, rng.size(8), ...o.subarray(from, from + 1 + rng.size(32)));
        break;
      }
      default:
        if (at < out.length) out[at] = (out[at] + rng.pick([1, -1, 0x20, -0x20])) & 0xff;
    }
    if (out.length > 65536) out = out.slice(0, 65536);
  }
  return new Uint8Array(out);
}

/** One fuzz message for `verb` (any verb name, known or not), and the generator that made it. */
export function generate(rng: Rng, verb: string): { kind: Kind; bytes: Uint8Array } {
  const kind = rng.weighted(KIND_WEIGHTS);
  const other = () => requestMap(rng, verb, rng.chance(0.3));
  let bytes: Uint8Array;
  switch (kind) {
    case "random":
      bytes = randomBytes(rng);
      break;
    case "wrong-type":
      bytes = wrongType(rng);
      break;
    case "fields":
      bytes = requestMap(rng, verb, false);
      break;
    case "fields-raw":
      bytes = requestMap(rng, verb, true);
      break;
    case "truncated": {
      const whole = requestMap(rng, verb, false);
      bytes = whole.subarray(0, rng.int(whole.length));
      break;
    }
    case "huge-length":
      bytes = hugeLength(rng, verb);
      break;
    case "deep":
      bytes = deep(rng);
      break;
    case "mutated":
      bytes = mutate(rng, requestMap(rng, verb, rng.chance(0.2)), other);
      break;
    case "spliced": {
      const a = other(), b = other();
      bytes = rng.chance(0.5)
        ? new Uint8Array([...a, ...b])
        : new Uint8Array([...a.subarray(0, rng.int(a.length)), ...b.subarray(rng.int(b.length))]);
      break;
    }
  }
  return { kind, bytes };
}

// ---------------------------------------------------------------- safety

/**
 * Parsers of the verbs that act: spawn (`run`, `watch` with a command
 * probe), signal, hold something (`watch`, `follow`), change programs
 * (`programs` other than `status`) or write to one (`input`). A message they
 * accept is never sent: the agent would do what it asks.
 */
const ACTING = new Map<string, (m: Record<string, unknown>) => boolean>([
  ["run", (m) => (parseRunRequest(m), true)],
  ["signal", (m) => (parseSignalRequest(m), true)],
  ["watch", (m) => (parseWatchRequest(m), true)],
  ["follow", (m) => (parseFollowRequest(m), true)],
  ["input", (m) => (parseInputRequest(m), true)],
  ["programs", (m) => parseProgramsRequest(m).action !== "status"],
  ["shutdown", () => true],
  ["upgrade", () => true],
  ["queue", (m) => (parseQueueRequest(m), true)],
]);

export type Verdict =
  /** The agent will refuse it or only read: send it; `reply` says whether an answer is due. */
  | { send: true; reply: boolean }
  /** The agent would act on it: never sent. */
  | { send: false; why: string };

/**
 * What the agent `host` (without labels) does with `bytes` on `verb`,
 * decided with the same decoder and parsers it uses: skip what it would act
 * on; otherwise, whether it answers (a broadcast whose target leaves it out
 * is not answered).
 */
export function classify(
  verb: string,
  broadcast: boolean,
  bytes: Uint8Array,
  host: string,
): Verdict {
  let m: Record<string, unknown>;
  try {
    m = decodeMap(bytes);
  } catch {
    return { send: true, reply: true }; // EBADMSG or EPROTO
  }
  if (broadcast) {
    try {
      if (!matchTarget(parseTarget(m), host, {})) {
        // Silent, but judged like any other: a fuzzer must not rely on a target to stay safe.
        return acts(verb, m) ? { send: false, why: verb } : { send: true, reply: false };
      }
    } catch {
      return { send: true, reply: true }; // EINVAL or EBADSEL before the verb is looked at
    }
  }
  return acts(verb, m) ? { send: false, why: verb } : { send: true, reply: true };
}

function acts(verb: string, m: Record<string, unknown>): boolean {
  const parse = ACTING.get(verb); // a Map: `constructor` is an unknown verb, not Object
  if (parse === undefined) return false;
  try {
    return parse(m);
  } catch {
    // A TuttiError is the refusal the agent answers. Anything else is a parser bug that the
    // agent answers with EINTERNAL, also before acting: sent, so that the test reports it.
    return false;
  }
}

/** Hex of the first `max` bytes, for replaying a message by hand. */
export function hex(b: Uint8Array, max = 512): string {
  const s = [...b.subarray(0, max)].map((x) => x.toString(16).padStart(2, "0")).join("");
  return b.length > max ? `${s}... (${b.length} bytes)` : `${s} (${b.length} bytes)`;
}
