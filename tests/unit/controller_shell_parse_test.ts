/**
 * The shell's command parsing: words and quotes, scripts split on `;` and
 * newlines, comments, and `HOST:PROG` targets.
 */
import assert from "node:assert/strict";
import {
  groupByHost,
  ParseError,
  parseLine,
  parseScript,
  parseTarget,
} from "../../controller/shell/parse.ts";

Deno.test("parseScript: commands split on ; and newlines, blanks and empty commands dropped", () => {
  assert.deepEqual(parseScript("status; start web db\n\n  stop all ;;"), [
    ["status"],
    ["start", "web", "db"],
    ["stop", "all"],
  ]);
  assert.deepEqual(parseScript(""), []);
  assert.deepEqual(parseScript(" \t\r\n"), []);
});

Deno.test("parseScript: quotes, escapes and comments", () => {
  assert.deepEqual(parseScript(`help 'a b' "c;d" e\\ f "x\\"y" 'it''s'`), [
    ["help", "a b", "c;d", "e f", 'x"y', "its"],
  ]);
  assert.deepEqual(parseScript("status # what runs\n# a whole line\nhosts"), [
    ["status"],
    ["hosts"],
  ]);
  assert.deepEqual(parseScript("a#b"), [["a#b"]]);
  assert.deepEqual(parseScript("''"), [[""]], "an empty quoted word is a word");
});

Deno.test("parseScript: unterminated quotes and a trailing backslash are errors", () => {
  assert.throws(() => parseScript("start 'web"), new ParseError("unterminated single quote"));
  assert.throws(() => parseScript('start "web'), new ParseError("unterminated double quote"));
  assert.throws(() => parseScript("start web\\"), ParseError);
});

Deno.test("parseLine: one command only", () => {
  assert.deepEqual(parseLine("  tail -f  web "), ["tail", "-f", "web"]);
  assert.deepEqual(parseLine(""), []);
  assert.throws(() => parseLine("a; b"), ParseError);
});

Deno.test("parseTarget: programs, processes, and HOST:PROG", () => {
  assert.deepEqual(parseTarget("nginx"), { name: "nginx" });
  assert.deepEqual(parseTarget("all"), { name: "all" });
  assert.deepEqual(parseTarget("web:0"), { name: "web:0" });
  assert.deepEqual(parseTarget("web:*"), { name: "web:*" });
  assert.deepEqual(parseTarget("g5k-3:nginx"), { host: "g5k-3", name: "nginx" });
  assert.deepEqual(parseTarget("g5k-3:web:12"), { host: "g5k-3", name: "web:12" });
  assert.deepEqual(parseTarget("g5k-3:web:*"), { host: "g5k-3", name: "web:*" });
  assert.deepEqual(parseTarget("g5k-3:all"), { host: "g5k-3", name: "all" });
  assert.throws(() => parseTarget("g5k.3:web"), /"g5k.3" is not a host name/);
  assert.throws(() => parseTarget("g5k-3:"), /no program after the host/);
});

Deno.test("groupByHost: one group per host, every host first, names once", () => {
  const groups = groupByHost([
    { name: "web" },
    { host: "h1", name: "db" },
    { name: "web" },
    { name: "cache" },
    { host: "h1", name: "web" },
  ]);
  assert.deepEqual([...groups], [[undefined, ["web", "cache"]], ["h1", ["db", "web"]]]);
});
