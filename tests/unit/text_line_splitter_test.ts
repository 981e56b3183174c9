/**
 * The one byte-level line splitter (protocol/text/line_splitter.ts) that
 * output watches ("skip") and the CLI's live view ("cut") are built on.
 */
import assert from "node:assert/strict";
import { LineSplitter, type LineSplitterOptions } from "../../protocol/text/line_splitter.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The lines handed out for `chunks`, as text. */
function split(
  chunks: (string | Uint8Array)[],
  options: LineSplitterOptions = {},
  flush = true,
): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => {
    out.push(dec.decode(l));
  }, options);
  for (const c of chunks) s.push(typeof c === "string" ? enc.encode(c) : c);
  if (flush) s.flush();
  return out;
}

Deno.test("LF ends a line; CR is kept unless stripCR, and only before the newline", () => {
  assert.deepEqual(split(["a\r\nb\r\n"]), ["a\r", "b\r"]);
  assert.deepEqual(split(["a\r\nb\r\n"], { stripCR: true }), ["a", "b"]);
  assert.deepEqual(
    split(["a\r", "\nb\rc\n"], { stripCR: true }),
    ["a", "b\rc"],
    "CR across chunks",
  );
  assert.deepEqual(split(["\r\n\n"], { stripCR: true }), ["", ""]);
  assert.deepEqual(split(["x\r"], { stripCR: true }), ["x"], "the flushed last line too");
  assert.deepEqual(split(["lone\rCR"]), ["lone\rCR"], "CR alone ends nothing");
});

Deno.test("a line across many chunks is handed out once, whole", () => {
  const text = "the quick brown fox jumps over the lazy dog";
  let calls = 0;
  let got = "";
  const s = new LineSplitter((l) => {
    calls++;
    got = dec.decode(l);
  });
  for (const byte of enc.encode(text)) s.push(new Uint8Array([byte]));
  assert.deepEqual(calls, 0, "nothing before the newline");
  s.push(enc.encode("\nnext"));
  assert.deepEqual([calls, got], [1, text]);
  s.flush();
  assert.deepEqual([calls, got], [2, "next"]);
  assert.deepEqual(s.flush(), false);
  assert.deepEqual(calls, 2, "a second flush hands out nothing");
});

Deno.test("without flush, the partial line waits", () => {
  assert.deepEqual(split(["a\nrest"], {}, false), ["a"]);
});

Deno.test("empty chunks change nothing", () => {
  assert.deepEqual(split(["", "ab", "", "", "c\n", ""]), ["abc"]);
  assert.deepEqual(split([""]), []);
  assert.deepEqual(split(["", "x", ""], { onLongLine: "skip", maxLine: 1 }), ["x"]);
});

Deno.test("a chunk of many lines: each is a view of the chunk, not a copy", () => {
  const chunk = enc.encode("one\ntwo\n\nthree\n");
  const seen: Uint8Array[] = [];
  new LineSplitter((l) => {
    seen.push(l);
  }).push(chunk);
  assert.deepEqual(seen.map((l) => dec.decode(l)), ["one", "two", "", "three"]);
  for (const l of seen) assert.ok(l.buffer === chunk.buffer, "a view of the chunk");
});

Deno.test("a line exactly maxLine long is handed out once, whole, in both modes", () => {
  for (const onLongLine of ["cut", "skip"] as const) {
    const o = { maxLine: 4, onLongLine };
    assert.deepEqual(split(["abcd\nef\n"], o), ["abcd", "ef"], `${onLongLine}, one chunk`);
    assert.deepEqual(split(["ab", "cd", "\nef\n"], o), ["abcd", "ef"], `${onLongLine}, chunks`);
    assert.deepEqual(split(["abcd"], o), ["abcd"], `${onLongLine}, unterminated`);
    assert.deepEqual(split(["abc\n"], o), ["abc"], `${onLongLine}, one less`);
  }
});

Deno.test("skip: a longer line is handed out as its first maxLine bytes, the rest skipped", () => {
  const o: LineSplitterOptions = { maxLine: 4, onLongLine: "skip" };
  assert.deepEqual(split(["abcdefgh\nxy\n"], o), ["abcd", "xy"], "one chunk");
  assert.deepEqual(split(["ab", "cdef", "gh\nxy\n"], o), ["abcd", "xy"], "chunks");
  assert.deepEqual(
    split(["abc", "defgh", "ijk", "\nxy"], o),
    ["abcd", "xy"],
    "skipped over chunks",
  );
  assert.deepEqual(split(["abcdefgh"], o), ["abcd"], "unterminated");
  // Handed out as soon as maxLine bytes wait: a watch need not wait for the newline.
  const early: string[] = [];
  const s = new LineSplitter((l) => {
    early.push(dec.decode(l));
  }, o);
  s.push(enc.encode("ab"));
  s.push(enc.encode("cdefg"));
  assert.deepEqual(early, ["abcd"]);
});

Deno.test("cut: no byte is dropped, and what waits stays under maxLine", () => {
  const o: LineSplitterOptions = { maxLine: 4, onLongLine: "cut" };
  assert.deepEqual(split(["abcdefgh\nxy\n"], o), ["abcdefgh", "xy"], "whole in one chunk: whole");
  assert.deepEqual(split(["ab", "c", "d", "efg", "h\n"], o), ["abcd", "efgh"]);
  assert.deepEqual(split(["ab", "cdefgh", "ij\n"], o), ["abcdefgh", "ij"]);
  assert.deepEqual(split(["abcdefgh"], o), ["abcdefgh"], "unterminated");
});

Deno.test("a partial line is copied: the caller may reuse its buffer", () => {
  for (const onLongLine of ["cut", "skip"] as const) {
    const buf = enc.encode("abc");
    const out: string[] = [];
    const s = new LineSplitter((l) => {
      out.push(dec.decode(l));
    }, { onLongLine });
    s.push(buf);
    buf.set(enc.encode("XYZ"));
    s.push(enc.encode("\n"));
    assert.deepEqual(out, ["abc"], onLongLine);
  }
});

Deno.test("stop: the handler's true ends the splitter", () => {
  const seen: string[] = [];
  const s = new LineSplitter((l) => {
    seen.push(dec.decode(l));
    return seen.length === 2;
  });
  assert.deepEqual(s.push(enc.encode("1\n2\n3\n")), true);
  assert.deepEqual(s.push(enc.encode("4\n")), true, "still stopped");
  assert.deepEqual(s.flush(), true);
  assert.deepEqual(seen, ["1", "2"]);
});

Deno.test("any chunking gives the same lines (random data and cuts)", () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const data = new Uint8Array(rand(200));
    for (let i = 0; i < data.length; i++) data[i] = rand(5) === 0 ? 0x0a : 0x61 + rand(3);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < data.length;) {
      const n = Math.min(data.length - at, rand(12));
      chunks.push(data.slice(at, at + n));
      at += n;
    }
    const maxLine = 1 + rand(10);
    const text = dec.decode(data);
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    assert.deepEqual(
      split(chunks, { maxLine, onLongLine: "skip" }),
      lines.map((l) => l.slice(0, maxLine)),
      `skip: ${JSON.stringify(text)} max ${maxLine}`,
    );
    const cut = split(chunks, { maxLine, onLongLine: "cut" });
    assert.deepEqual(cut.join(""), lines.join(""), `cut drops nothing: ${JSON.stringify(text)}`);
    assert.ok(cut.length >= lines.length, "cut: at least one piece per line");
  }
});

Deno.test("cut: a newline right after a cut ends the piece, it makes no empty line", () => {
  const o: LineSplitterOptions = { maxLine: 4, onLongLine: "cut" };
  assert.deepEqual(split(["abcdef", "\n", "\nx\n"], o), ["abcdef", "", "x"]);
  assert.deepEqual(split(["abcdef", "g\n"], o), ["abcdef", "g"], "more bytes: a new line");
  assert.deepEqual(split(["abcdef"], o), ["abcdef"], "flush has nothing left");
});
