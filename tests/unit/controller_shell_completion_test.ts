/**
 * Tab completion: commands, then per command program names (with `all`
 * where it applies, `HOST:` prefixes and the programs of one host), host
 * names, command names and options; and the catalog it reads.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../../controller/shell/commands.ts";
import { Catalog, shellCompleter } from "../../controller/shell/completion.ts";
import { row } from "./controller_shell_fixture.ts";

function setup() {
  const catalog = new Catalog();
  catalog.learnHosts(["g5k-1", "g5k-2", "h9"]);
  catalog.learnStatus([
    row("g5k-1", "nginx"),
    row("g5k-1", "web:0"),
    row("g5k-1", "web:1"),
    row("g5k-2", "db"),
  ], true);
  const complete = shellCompleter(COMMANDS, catalog);
  /** The candidates that fit the word being completed. */
  const fits = (before: string) => {
    const { word, candidates } = complete(before);
    return candidates.filter((c) => c.startsWith(word)).sort();
  };
  return { catalog, complete, fits };
}

Deno.test("the first word completes among the commands and their aliases", () => {
  const { fits, complete } = setup();
  assert.deepEqual(fits("st"), ["start", "status", "stop"]);
  assert.deepEqual(fits("ex"), ["exit"]);
  assert.deepEqual(fits("  re"), ["reload", "restart"]);
  assert.equal(complete("sta").word, "sta");
  assert.equal(fits("").length, COMMANDS.length + 1);
});

Deno.test("program arguments: processes and programs of every host, all where it applies", () => {
  const { fits } = setup();
  assert.deepEqual(fits("status "), ["db", "nginx", "web", "web:0", "web:1"]);
  assert.deepEqual(fits("stop "), ["all", "db", "nginx", "web", "web:0", "web:1"]);
  assert.deepEqual(fits("restart nginx w"), ["web", "web:0", "web:1"]);
  assert.deepEqual(fits("start web:"), ["web:0", "web:1"]);
});

Deno.test("a word no program begins with offers hosts, then that host's programs", () => {
  const { fits } = setup();
  assert.deepEqual(fits("start g5"), ["g5k-1:", "g5k-2:"]);
  assert.deepEqual(fits("start g5k-1:"), [
    "g5k-1:nginx",
    "g5k-1:web",
    "g5k-1:web:0",
    "g5k-1:web:1",
  ]);
  assert.deepEqual(fits("status g5k-2:d"), ["g5k-2:db"]);
  assert.deepEqual(fits("status zz"), []);
});

Deno.test("tail and attach take one program, tail's options complete", () => {
  const { fits } = setup();
  assert.deepEqual(fits("tail -f ng"), ["nginx"]);
  assert.deepEqual(fits("tail nginx "), []);
  assert.deepEqual(fits("tail -"), ["--stderr", "-f"]);
  assert.deepEqual(fits("attach d"), ["db"]);
  assert.deepEqual(fits("attach db d"), []);
});

Deno.test("hosts for shutdown and reload, commands for help, nothing for the others", () => {
  const { fits } = setup();
  assert.deepEqual(fits("shutdown g"), ["g5k-1", "g5k-2"]);
  assert.deepEqual(fits("reload h"), ["h9"]);
  assert.deepEqual(fits("help ta"), ["tail"]);
  assert.deepEqual(fits("help tail "), []);
  assert.deepEqual(fits("quit "), []);
  assert.deepEqual(fits("nosuch x"), []);
});

Deno.test("catalog: a full status replaces a host's names, a partial one adds to them", () => {
  const { catalog } = setup();
  catalog.learnStatus([row("g5k-1", "cache")], false);
  assert.deepEqual(catalog.programs("g5k-1"), ["cache", "nginx", "web", "web:0", "web:1"]);
  catalog.learnStatus([row("g5k-1", "cache")], true);
  assert.deepEqual(catalog.programs("g5k-1"), ["cache"]);
  assert.deepEqual(catalog.programs(), ["cache", "db"]);
  catalog.learnStatus([row("new-1", "x")], true);
  assert.ok(catalog.hosts().includes("new-1"), "a host seen in a status is a host");
  catalog.learnHosts(["g5k-1"]);
  assert.deepEqual(catalog.programs(), ["cache"], "hosts gone take their programs along");
});
