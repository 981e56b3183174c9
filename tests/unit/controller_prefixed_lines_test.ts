/**
 * The live view's lines: prefixed by host, whole, bytes unchanged, and a
 * line longer than a piece written in pieces of exactly that size (the
 * first `h: `, the others `h+ `) whatever the chunks it came in. Checked
 * against a plain reference written line by line, over random chunkings.
 */
import assert from "node:assert/strict";
import { OutBuffer, PIECE_BYTES, PrefixedLines } from "../../controller/render/prefixed_lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(out: OutBuffer): string {
  return dec.decode(out.take().slice());
}

/** What the view must print for `data` of one host, ended: the rule, written plainly. */
function reference(host: string, data: Uint8Array, piece: number): Uint8Array {
  const parts: number[] = [];
  const put = (s: string) => parts.push(...enc.encode(s));
  let start = 0;
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    const ended = nl >= 0;
    if (!ended) nl = data.length;
    const line = data.subarray(start, nl);
    if (line.length === 0) {
      put(`${host}: \n`);
    }
    for (let at = 0; at < line.length; at += piece) {
      put(at === 0 ? `${host}: ` : `${host}+ `);
      parts.push(...line.subarray(at, Math.min(line.length, at + piece)));
      parts.push(0x0a);
    }
    start = nl + 1;
  }
  return new Uint8Array(parts);
}

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("whole lines get the prefix; a partial line waits for its newline or the end", () => {
  const out = new OutBuffer();
  const l = new PrefixedLines("t-1", out);
  l.push(enc.encode("one\ntw"));
  assert.equal(text(out), "t-1: one\n");
  l.push(enc.encode("o\nthr"));
  l.push(enc.encode("ee"));
  assert.equal(text(out), "t-1: two\n");
  l.end();
  assert.equal(text(out), "t-1: three\n");
  l.end();
  assert.equal(text(out), "", "nothing pending: end writes nothing");
  l.push(enc.encode("\n\n"));
  assert.equal(text(out), "t-1: \nt-1: \n", "empty lines are lines");
});

Deno.test("bytes pass through unchanged, whatever the encoding", () => {
  const out = new OutBuffer();
  const l = new PrefixedLines("h", out);
  l.push(new Uint8Array([0xff, 0xfe, 0x0a, 0x00, 0x0d, 0x0a]));
  assert.deepEqual([...out.take()], [
    ...enc.encode("h: "),
    0xff,
    0xfe,
    0x0a,
    ...enc.encode("h: "),
    0x00,
    0x0d,
    0x0a,
  ]);
});

Deno.test("a long line goes out in pieces of exactly the piece size, marked as continued", () => {
  const out = new OutBuffer();
  const l = new PrefixedLines("h", out, 8);
  l.push(enc.encode("0123456789abcdefghij\nxy"));
  assert.equal(text(out), "h: 01234567\nh+ 89abcdef\nh+ ghij\n");
  // A line with no newline yet is written as soon as a piece of it is complete.
  l.push(enc.encode("z0123"));
  assert.equal(text(out), "", "7 bytes: less than a piece");
  l.push(enc.encode("456789ABCDEF"));
  assert.equal(text(out), "h: xyz01234\nh+ 56789ABC\n", "not held: the pieces are out");
  l.push(enc.encode(""));
  assert.equal(text(out), "");
  l.end();
  assert.equal(text(out), "h+ DEF\n");
  // A newline right after a full piece ends the line: no empty piece.
  l.push(enc.encode("01234567"));
  l.push(enc.encode("\nnext\n"));
  assert.equal(text(out), "h: 01234567\nh: next\n");
});

Deno.test("the same bytes print the same whatever their chunks (random, against a reference)", () => {
  const next = random(Number(Deno.env.get("TUTTI_FUZZ_SEED") ?? 7));
  for (let round = 0; round < 400; round++) {
    const piece = 1 + Math.floor(next() * 40);
    const n = Math.floor(next() * 400);
    const newlines = 0.02 + next() * 0.2;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = next() < newlines ? 0x0a : 0x61 + Math.floor(next() * 26);
    // Prefixes of 8 bytes at most are written as words, longer ones byte by byte: both.
    const host = round % 2 === 0 ? "host-9" : "a-longer-host-name-17";
    const out = new OutBuffer();
    const l = new PrefixedLines(host, out, piece);
    let got = "";
    for (let at = 0; at < n;) {
      const size = 1 + Math.floor(next() * 30);
      l.push(data.slice(at, at + size));
      got += text(out);
      at += size;
    }
    l.end();
    got += text(out);
    const want = dec.decode(reference(host, data, piece));
    assert.equal(got, want, `round ${round}, piece ${piece}: ${JSON.stringify(dec.decode(data))}`);
  }
});

Deno.test("one line of several MiB without a newline is never held: memory stays one piece", () => {
  const out = new OutBuffer();
  const l = new PrefixedLines("h", out);
  const chunk = new Uint8Array(100_000).fill(0x30);
  let written = 0;
  let pieces = 0;
  for (let i = 0; i < 50; i++) {
    l.push(chunk);
    const b = out.take();
    written += b.length;
    for (let j = 0; j < b.length; j++) if (b[j] === 0x0a) pieces++;
    // What waits is less than a piece: at most one piece's bytes are kept back.
    assert.ok(i * 100_000 + 100_000 - (written - pieces * 4) < PIECE_BYTES);
  }
  l.end();
  const rest = out.take();
  written += rest.length;
  const total = 50 * 100_000;
  const count = Math.ceil(total / PIECE_BYTES);
  assert.equal(written, total + count * ("h: ".length + 1));
});

Deno.test("hosts sharing one buffer never mix their lines", () => {
  const out = new OutBuffer();
  const a = new PrefixedLines("a", out);
  const b = new PrefixedLines("b", out);
  a.push(enc.encode("a1\na2-par"));
  b.push(enc.encode("b1-par"));
  a.push(enc.encode("t\n"));
  b.push(enc.encode("t\nb2\n"));
  a.note("[3 bytes of stdout missing: EIO gone]");
  assert.equal(
    text(out),
    "a: a1\na: a2-part\nb: b1-part\nb: b2\na: [3 bytes of stdout missing: EIO gone]\n",
  );
});

Deno.test("a note ends the pending partial line first", () => {
  const out = new OutBuffer();
  const l = new PrefixedLines("h", out);
  l.push(enc.encode("half"));
  l.note("[5 bytes of stdout missing: ESRCH gone]");
  l.push(enc.encode("after\n"));
  assert.equal(text(out), "h: half\nh: [5 bytes of stdout missing: ESRCH gone]\nh: after\n");
});
