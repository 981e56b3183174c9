/**
 * The shell's line editor without a terminal: bytes → keys (escape
 * sequences, split reads, UTF-8), and keys → line, cursor and output.
 */
import assert from "node:assert/strict";
import {
  commonPrefix,
  type Completer,
  formatColumns,
  LineEditor,
  renderLine,
} from "../../controller/shell/editor.ts";
import { type Key, KeyDecoder } from "../../controller/shell/keys.ts";

const enc = new TextEncoder();

function keys(s: string | Uint8Array): Key[] {
  return new KeyDecoder().feed(typeof s === "string" ? enc.encode(s) : s);
}

/** An editor fed `input` as typed bytes; returns it with everything it wrote and its end. */
function typed(
  input: string,
  opts: { history?: string[]; complete?: Completer; columns?: number } = {},
) {
  const e = new LineEditor({ prompt: "> ", ...opts });
  let output = e.begin();
  let done: unknown;
  for (const k of keys(input)) {
    const step = e.handle(k);
    output += step.output;
    if (step.done) done = step.done;
  }
  return { e, output, done };
}

Deno.test("keys: text, controls, arrows, home/end in both encodings, delete", () => {
  assert.deepEqual(keys("ab\x01\x05\r"), [
    { name: "text", text: "ab" },
    { name: "ctrl-a" },
    { name: "ctrl-e" },
    { name: "enter" },
  ]);
  assert.deepEqual(
    keys("\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[3~").map((k) =>
      k.name
    ),
    ["up", "down", "right", "left", "home", "end", "home", "end", "home", "end", "delete"],
  );
  assert.deepEqual(keys("\x7f\x08\t\x03\x04\x0b\x0c\x15\x17\x1d").map((k) => k.name), [
    "backspace",
    "backspace",
    "tab",
    "ctrl-c",
    "ctrl-d",
    "ctrl-k",
    "ctrl-l",
    "ctrl-u",
    "ctrl-w",
    "ctrl-]",
  ]);
  assert.deepEqual(keys("\x1bb\x1bf\x1b[1;5D\x1b[1;5C").map((k) => k.name), [
    "word-left",
    "word-right",
    "word-left",
    "word-right",
  ]);
});

Deno.test("keys: unknown escape sequences are swallowed, not typed", () => {
  assert.deepEqual(keys("a\x1b[15~b\x1b[200~c"), [
    { name: "text", text: "a" },
    { name: "text", text: "b" },
    { name: "text", text: "c" },
  ]);
});

Deno.test("keys: an escape sequence or a UTF-8 character split over two reads is one key", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.feed(enc.encode("x\x1b[")), [{ name: "text", text: "x" }]);
  assert.deepEqual(d.feed(enc.encode("D")), [{ name: "left" }]);
  const e = enc.encode("é");
  assert.deepEqual(d.feed(e.subarray(0, 1)), []);
  assert.deepEqual(d.feed(e.subarray(1)), [{ name: "text", text: "é" }]);
  assert.deepEqual(d.feed(enc.encode("\x1b")), []);
  assert.deepEqual(d.feed(enc.encode("b")), [{ name: "word-left" }]);
});

Deno.test("editor: typing, moving and inserting in the middle", () => {
  const { e } = typed("helo\x1b[D\x1b[Dl");
  assert.equal(e.line, "hello");
  assert.equal(e.cursor, 3);
  const home = typed("world\x01hello \x05!");
  assert.equal(home.e.line, "hello world!");
  assert.equal(home.e.cursor, 12);
  const arrows = typed("abc\x1b[H\x1b[C\x1b[3~");
  assert.equal(arrows.e.line, "ac");
  assert.equal(arrows.e.cursor, 1);
});

Deno.test("editor: backspace and delete at the edges do nothing", () => {
  const { e, output } = typed("\x7f\x1b[3~a\x1b[3~\x01\x7f");
  assert.equal(e.line, "a");
  assert.equal(e.cursor, 0);
  assert.ok(!output.includes("\x07"), "no bell for a no-op delete");
});

Deno.test("editor: Ctrl-U, Ctrl-K, Ctrl-W", () => {
  assert.equal(typed("start web db\x17").e.line, "start web ");
  assert.equal(typed("start web db  \x17").e.line, "start web ");
  const u = typed("start web\x1b[D\x1b[D\x1b[D\x15");
  assert.deepEqual([u.e.line, u.e.cursor], ["web", 0]);
  const k = typed("start web\x01\x1b[C\x1b[C\x0b");
  assert.deepEqual([k.e.line, k.e.cursor], ["st", 2]);
  const w = typed("tail -f web\x1bb\x1bb");
  assert.equal(w.e.cursor, 5);
});

Deno.test("editor: Enter submits the line; Ctrl-D ends only an empty line", () => {
  const enter = typed("status web\r");
  assert.deepEqual(enter.done, { type: "line", line: "status web" });
  assert.ok(enter.output.endsWith("\r\n"));
  assert.deepEqual(typed("\x04").done, { type: "eof" });
  const del = typed("ab\x01\x04");
  assert.equal(del.done, undefined);
  assert.equal(del.e.line, "b");
});

Deno.test("editor: Ctrl-C abandons the line and shows a new prompt; Ctrl-L clears the screen", () => {
  const c = typed("stop all\x03");
  assert.equal(c.e.line, "");
  assert.ok(c.output.includes("^C\r\n\r> "));
  assert.equal(c.done, undefined);
  const l = typed("st\x0c");
  assert.ok(l.output.includes("\x1b[H\x1b[2J\r> st"));
  assert.equal(l.e.line, "st");
});

Deno.test("editor: Up/Down browse the history and come back to the line being typed", () => {
  const history = ["status", "start web"];
  const { e } = typed("sto\x1b[A", { history });
  assert.equal(e.line, "start web");
  e.handle({ name: "up" });
  assert.equal(e.line, "status");
  const top = e.handle({ name: "up" });
  assert.equal(top.output, "\x07", "bell at the oldest entry");
  e.handle({ name: "down" });
  e.handle({ name: "down" });
  assert.equal(e.line, "sto");
  assert.equal(e.cursor, 3);
  assert.equal(e.handle({ name: "down" }).output, "\x07");
});

Deno.test("editor: history added between lines is seen by the next one", () => {
  const history: string[] = [];
  const e = new LineEditor({ prompt: "> ", history });
  e.begin();
  history.push("hosts");
  e.begin();
  e.handle({ name: "ctrl-p" });
  assert.equal(e.line, "hosts");
});

const words = ["status", "start", "stop", "shutdown", "help"];
const complete: Completer = (before) => {
  const word = before.split(" ").pop()!;
  return { word, candidates: words };
};

Deno.test("editor: Tab completes a unique word with a space, a common prefix without", () => {
  const one = typed("he\t", { complete });
  assert.equal(one.e.line, "help ");
  const common = typed("sta\t", { complete });
  assert.equal(common.e.line, "sta", "status/start share only sta");
  const longer = typed("sh\t", { complete });
  assert.equal(longer.e.line, "shutdown ");
  const none = typed("x\t", { complete });
  assert.equal(none.e.line, "x");
  assert.ok(none.output.endsWith("\x07"));
});

Deno.test("editor: a second Tab lists the candidates in columns, then redraws the line", () => {
  const first = typed("st\t", { complete });
  assert.ok(first.output.endsWith("\x07"));
  assert.ok(!first.output.includes("status"));
  const second = typed("st\t\t", { complete, columns: 80 });
  assert.ok(second.output.includes("\r\nstart   status  stop\r\n\r> st"), second.output);
  assert.equal(second.e.line, "st");
  // A key between the two Tabs starts over.
  const apart = typed("s\tt\t", { complete });
  assert.ok(!apart.output.includes("status"));
});

Deno.test("editor: completion in the middle of a line replaces the word before the cursor", () => {
  const { e } = typed("he x\x1b[D\x1b[D\t", { complete });
  assert.equal(e.line, "help  x");
  assert.equal(e.cursor, 5);
});

Deno.test("editor: a host prefix completes without a space", () => {
  const hosts: Completer = (before) => ({ word: before, candidates: ["g5k-1:"] });
  assert.equal(typed("g5\t", { complete: hosts }).e.line, "g5k-1:");
});

Deno.test("renderLine: the cursor's column, and sideways scrolling of long lines", () => {
  assert.equal(renderLine("> ", [..."abc"], 1, 80), "\r> abc\x1b[0K\r\x1b[3C");
  assert.equal(renderLine("", [], 0, 80), "\r\x1b[0K\r");
  // 10 columns, prompt 2: the cursor at the end of 12 characters shows the last 7 of them.
  assert.equal(renderLine("> ", [..."abcdefghijkl"], 12, 10), "\r> fghijkl\x1b[0K\r\x1b[9C");
  assert.equal(renderLine("> ", [..."abcdefghijkl"], 0, 10), "\r> abcdefgh\x1b[0K\r\x1b[2C");
});

Deno.test("formatColumns and commonPrefix", () => {
  assert.equal(formatColumns(["a", "bb", "c", "d", "e"], 8), "a   d\r\nbb  e\r\nc\r\n");
  assert.equal(formatColumns(["only"], 2), "only\r\n");
  assert.equal(commonPrefix(["web:0", "web:1", "web"]), "web");
  assert.equal(commonPrefix(["a", "b"]), "");
});
