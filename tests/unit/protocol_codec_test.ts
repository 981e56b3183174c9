// The CBOR codec: plain maps that any CBOR library reads, byte strings kept as bytes, and every
// malformed payload turned into EBADMSG / EPROTO instead of a crash.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { decode, decodeMap, encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";
import { nestsDeeperThan } from "../../protocol/cbor_nesting.ts";

const text = (s: string) => [0x60 + s.length, ...new TextEncoder().encode(s)]; // short text string
const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("codec: maps round-trip with nesting, numbers, null and booleans", () => {
  const value = {
    v: 1,
    s: "héllo ✓",
    empty: "",
    n: [0, -1, 23, 24, 255, 65536, 2 ** 40, -(2 ** 40), 1.5, -0.25],
    t: true,
    f: false,
    z: null,
    nested: { a: [1, "x", { y: null, deeper: { list: [[], {}] } }] },
    env: { PATH: "/bin", EMPTY: "" },
  };
  deepStrictEqual(decodeMap(encode(value)), value);
});

Deno.test("codec: byte strings stay Uint8Array, also inside maps and arrays", () => {
  const data = new Uint8Array(300).map((_, i) => i & 0xff);
  const out = decodeMap(encode({ v: 1, data, list: [new Uint8Array([0, 255])], empty: bytes() }));
  ok(out.data instanceof Uint8Array);
  deepStrictEqual([...(out.data as Uint8Array)], [...data]);
  const list = out.list as Uint8Array[];
  ok(list[0] instanceof Uint8Array);
  deepStrictEqual([...list[0]], [0, 255]);
  ok(out.empty instanceof Uint8Array);
  strictEqual((out.empty as Uint8Array).length, 0);
});

Deno.test("codec: the encoding is plain CBOR (a map with text keys, no tags, bytes as major type 2)", () => {
  // {"v": 1, "a": h'0102'} written out by hand, as another language's library would.
  deepStrictEqual([...encode({ v: 1, a: bytes(1, 2) })], [
    0xa2,
    ...text("v"),
    0x01,
    ...text("a"),
    0x42,
    0x01,
    0x02,
  ]);
  // And a hand-written map decodes to the same object.
  deepStrictEqual(decodeMap(bytes(0xa2, ...text("v"), 0x01, ...text("k"), ...text("x"))), {
    v: 1,
    k: "x",
  });
  // Indefinite-length maps (some encoders stream them) are read as well.
  deepStrictEqual(decodeMap(bytes(0xbf, ...text("v"), 0x01, 0xff)), { v: 1 });
});

Deno.test("codec: decodeMap accepts exactly v = PROTOCOL_VERSION", () => {
  strictEqual(PROTOCOL_VERSION, 1);
  deepStrictEqual(decodeMap(encode({ v: PROTOCOL_VERSION, x: 1 })), { v: 1, x: 1 });
});

/** Payloads that are not one well-formed CBOR item. */
const GARBAGE: [string, Uint8Array][] = [
  ["empty", bytes()],
  ["reserved additional info", bytes(0x1c)],
  ["lone break code", bytes(0xff)],
  ["map cut after its header", bytes(0xa1)],
  ["map cut after a key", bytes(0xa2, ...text("v"), 0x01)],
  ["text cut short", bytes(0x65, 0x61)],
  ["unterminated indefinite map", bytes(0xbf, ...text("v"))],
  ["unterminated indefinite array", bytes(0x9f)],
  ["trailing bytes after the map", bytes(0xa1, ...text("v"), 0x01, 0x00)],
  ["two maps", bytes(0xa1, ...text("v"), 0x01, 0xa1, ...text("v"), 0x01)],
  ["huge byte string length", bytes(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
  ["huge array length", bytes(0x9a, 0xff, 0xff, 0xff, 0xff)],
  ["huge map length", bytes(0xba, 0xff, 0xff, 0xff, 0xff)],
  ["text", new TextEncoder().encode("run echo hi")],
  ["JSON", new TextEncoder().encode('{"v":1,"argv":["echo"]}')],
  ["deep nesting", new Uint8Array(200_000).fill(0x81)],
];

for (const [name, payload] of GARBAGE) {
  Deno.test(`codec: garbage (${name}) is EBADMSG`, () => {
    assertTuttiError(() => decodeMap(payload), "EBADMSG");
  });
}

Deno.test("codec: random bytes never throw anything but a TuttiError", () => {
  for (let i = 0; i < 2000; i++) {
    const payload = crypto.getRandomValues(new Uint8Array(1 + (i % 64)));
    try {
      decodeMap(payload);
    } catch (e) {
      const code = (e as { code?: string }).code;
      ok(code === "EBADMSG" || code === "EPROTO", `${e} for ${[...payload]}`);
    }
  }
});

Deno.test("codec: a well-formed non-map is EBADMSG naming what it is", () => {
  assertTuttiError(() => decodeMap(encode([1, 2])), "EBADMSG", "array");
  assertTuttiError(() => decodeMap(encode("v")), "EBADMSG", "string");
  assertTuttiError(() => decodeMap(encode(42)), "EBADMSG", "number");
  assertTuttiError(() => decodeMap(encode(null)), "EBADMSG", "null");
  assertTuttiError(() => decodeMap(encode(bytes(1))), "EBADMSG", "byte string");
  assertTuttiError(() => decodeMap(bytes(0xf5)), "EBADMSG", "boolean"); // true
  assertTuttiError(() => decodeMap(bytes(0xc1, 0x00)), "EBADMSG", "tagged"); // epoch date 0
});

Deno.test("codec: a missing or unsupported version is EPROTO", () => {
  assertTuttiError(() => decodeMap(encode({})), "EPROTO", "undefined");
  assertTuttiError(() => decodeMap(encode({ argv: ["x"] })), "EPROTO");
  assertTuttiError(() => decodeMap(encode({ v: 2 })), "EPROTO", "2", "v1");
  assertTuttiError(() => decodeMap(encode({ v: 0 })), "EPROTO");
  assertTuttiError(() => decodeMap(encode({ v: "1" })), "EPROTO", '"1"');
  assertTuttiError(() => decodeMap(encode({ v: 1.5 })), "EPROTO");
  assertTuttiError(() => decodeMap(encode({ v: null })), "EPROTO");
  // A 64-bit version (decoded as a BigInt) still gets its EPROTO, not a JSON error.
  const big = bytes(0xa1, ...text("v"), 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  assertTuttiError(() => decodeMap(big), "EPROTO", "18446744073709551615");
  // Shared-reference tags can make a cyclic value; the message must still be built.
  const cyclic = bytes(0xa1, ...text("v"), 0xd8, 0x1c, 0xa1, ...text("a"), 0xd8, 0x1d, 0x00);
  assertTuttiError(() => decodeMap(cyclic), "EPROTO");
});

Deno.test("codec: decode alone reads any item (events that are not maps use it)", () => {
  deepStrictEqual(decode(encode([1, "a"])), [1, "a"]);
  strictEqual(decode(encode("x")), "x");
});

Deno.test("codec: integral numbers past 32 bits are CBOR integers, not float64", () => {
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  // An epoch-millisecond time and 16 GiB: major type 0 with an 8-byte argument (0x1b).
  strictEqual(hex(encode(1_700_000_000_123)), "1b0000018bcfe5687b");
  strictEqual(hex(encode(2 ** 34)), "1b0000000400000000");
  strictEqual(hex(encode(-(2 ** 40))), "3b000000ffffffffff");
  // Up to 32 bits cbor-x already picks the shortest integer; fractions stay float64.
  strictEqual(hex(encode(0xffffffff)), "1affffffff");
  strictEqual(hex(encode(1.5)), "fb3ff8000000000000");
  // Inside maps and arrays too, without touching the caller's objects or byte strings.
  const body = { v: 1, at: 1_700_000_000_123, list: [2 ** 40, 0.5], data: new Uint8Array([9]) };
  const wire = encode(body);
  ok(hex(wire).includes("1b0000018bcfe5687b"));
  ok(hex(wire).includes("1b0000010000000000"));
  strictEqual(typeof body.at, "number");
  const back = decodeMap(wire);
  deepStrictEqual({ ...back, data: [...(back.data as Uint8Array)] }, { ...body, data: [9] });
});

Deno.test("codec: a 64-bit integer decodes as a number, as any CBOR encoder may send it", () => {
  // {v: 1, t: 1700000000123} with both values as 8-byte integers (a Go or Rust client's uint64).
  const wide = bytes(
    0xa2,
    ...text("v"),
    0x1b,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    ...text("t"),
    0x1b,
    0x00,
    0x00,
    0x01,
    0x8b,
    0xcf,
    0xe5,
    0x68,
    0x7b,
  );
  deepStrictEqual(decodeMap(wide), { v: 1, t: 1_700_000_000_123 });
});

Deno.test("codec: 64-bit integers past 2^53 stay BigInts (refused by every field), negatives too", () => {
  // [-2^40 as an 8-byte negative integer, 2^64-1]
  const list = bytes(
    0x82,
    0x3b,
    0,
    0,
    0,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x1b,
    ...Array(8).fill(0xff),
  );
  deepStrictEqual(decode(list), [-(2 ** 40), 2n ** 64n - 1n]);
});

Deno.test("codec: nesting past 64 levels is EBADMSG, the same however deep the caller's stack is", () => {
  const deep = new Uint8Array([0xa1, 0x61, 0x76, 0x01, ...new Array(5000).fill(0x9f)]);
  const message = (depth: number): string => {
    if (depth > 0) return message(depth - 1);
    try {
      decode(deep);
      return "decoded";
    } catch (e) {
      return (e as Error).message;
    }
  };
  const shallow = message(0);
  strictEqual(shallow, "payload is not valid CBOR here: nested deeper than 64 levels");
  strictEqual(message(2000), shallow);
  // Real messages, byte strings included, pass the walk untouched.
  const body = {
    v: 1,
    data: new Uint8Array(100_000),
    procs: [{ argv: ["a", "b"], env: { A: "1" } }],
  };
  strictEqual((decode(encode(body)) as { data: Uint8Array }).data.length, 100_000);
  strictEqual(nestsDeeperThan(encode([[[[1]]]]), 3), true);
  strictEqual(nestsDeeperThan(encode([[[[1]]]]), 4), false);
  strictEqual(nestsDeeperThan(encode({ a: [{ b: [1, 2, { c: "x" }] }] }), 8), false);
});
