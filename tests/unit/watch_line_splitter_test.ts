import { WATCHED_LINES } from "../../agent/watch/process_watch.ts";
import { LineSplitter } from "../../protocol/text/line_splitter.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const enc = (s: string) => new TextEncoder().encode(s);

function lines(chunks: string[], maxLine?: number, flush = true): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => {
    out.push(new TextDecoder().decode(l));
    return false;
  }, { ...WATCHED_LINES, maxLine });
  for (const c of chunks) s.push(enc(c));
  if (flush) s.flush();
  return out;
}

const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);

Deno.test("lines across chunk boundaries", () => {
  const cases: [string[], string[]][] = [
    [["a\nb\n"], ["a", "b"]],
    [["a", "b", "c\n"], ["abc"]],
    [["a\nb", "c\nd"], ["a", "bc", "d"]],
    [["\n\n"], ["", ""]],
    [["x\r\n", "y\r", "\n"], ["x", "y"]],
    [["no newline"], ["no newline"]],
    [[""], []],
  ];
  for (const [chunks, want] of cases) {
    const got = lines(chunks);
    assert(same(got, want), `${JSON.stringify(chunks)} → ${JSON.stringify(got)}`);
  }
  assert(same(lines(["a\nrest"], undefined, false), ["a"]), "no flush: the partial line waits");
});

Deno.test("a long line is tested on its first bytes, then skipped to its end", () => {
  assert(same(lines(["abcdefgh\nxy\n"], 4), ["abcd", "xy"]), "in one chunk");
  assert(same(lines(["ab", "cdef", "gh\nxy\n"], 4), ["abcd", "xy"]), "over chunks");
  assert(same(lines(["abcdefgh"], 4), ["abcd"]), "unterminated");
});

Deno.test("stop: later bytes are ignored", () => {
  const seen: string[] = [];
  const s = new LineSplitter((l) => {
    seen.push(new TextDecoder().decode(l));
    return seen.length === 2;
  }, WATCHED_LINES);
  assert(s.push(enc("1\n2\n3\n")) === true, "push says stop");
  assert(same(seen, ["1", "2"]), JSON.stringify(seen));
});

Deno.test("a chunk buffer reused by the caller does not change a waiting partial line", () => {
  const out: string[] = [];
  const s = new LineSplitter((l) => {
    out.push(new TextDecoder().decode(l));
    return false;
  }, WATCHED_LINES);
  const buf = enc("abc");
  s.push(buf);
  buf.set(enc("XYZ"));
  s.push(enc("\n"));
  assert(same(out, ["abc"]), JSON.stringify(out));
});
