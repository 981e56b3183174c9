/**
 * The shell's commands over a table of hosts and processes: what each one
 * asks the agents, what it prints, and whether it counts as a failure;
 * scripts (`-c`, stdin lines) and their exit status.
 */
import assert from "node:assert/strict";
import { MemoryOut } from "../../controller/render/out.ts";
import { InputQueue } from "../../controller/shell/input_queue.ts";
import { scriptSurroundings, Shell } from "../../controller/shell/shell.ts";
import { statusLines } from "../../controller/shell/render.ts";
import { row, TableBackend } from "./controller_shell_fixture.ts";

const enc = new TextEncoder();

function setup() {
  const backend = new TableBackend([
    row("h1", "nginx"),
    row("h1", "web:0"),
    row("h1", "web:1", "STOPPED"),
    row("h2", "nginx"),
    row("h2", "db", "STOPPED"),
  ]);
  const out = new MemoryOut();
  const shell = new Shell(backend, out);
  const run = (script: string) => shell.runScript(script, scriptSurroundings(out, null));
  return { backend, out, shell, run };
}

Deno.test("status: every process of every host, prefixed by host, in supervisorctl's columns", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("status"), true);
  const lines = out.out.split("\n").slice(0, -1);
  assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(0, 3).join(" ")), [
    "h1: nginx RUNNING",
    "h1: web:0 RUNNING",
    "h1: web:1 STOPPED",
    "h2: nginx RUNNING",
    "h2: db STOPPED",
  ]);
  assert.equal(lines[0], `h1: ${"nginx".padEnd(33)}RUNNING   pid 100, uptime 0:00:05`);
  assert.equal(out.err, "");
  assert.deepEqual(backend.calls, ["status * "].map((s) => s.trimEnd()));
});

Deno.test("status NAME: a name some hosts lack is no error; one no host has is", async () => {
  const { out, run } = setup();
  assert.equal(await run("status db"), true);
  assert.match(out.out, /^h2: db\s+STOPPED/);
  assert.equal(out.err, "");
  const other = setup();
  assert.equal(await other.run("status nope"), false);
  assert.equal(other.out.err, "h[1-2]: nope: ERROR (no such process)\n");
});

Deno.test("status HOST:NAME asks that host only; a program names its processes", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("status h1:web"), true);
  assert.deepEqual(backend.calls, ["status h1 web"]);
  assert.equal(out.out.split("\n").length - 1, 2);
  assert.match(out.out, /^h1: web:0 .*\nh1: web:1 /);
});

Deno.test("start/stop/restart: supervisorctl's words; refusals fail the command", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("stop nginx"), true);
  assert.equal(out.out, "h[1-2]: nginx: stopped\n");
  assert.equal(await run("start nginx h2:db"), true);
  assert.deepEqual(backend.calls, ["stop * nginx", "start * nginx", "start h2 db"]);
  assert.equal(await run("start nginx"), false);
  assert.match(out.err, /^h\[1-2\]: nginx: ERROR \(already started\)$/m);
  // h1 has no db: only h2's refusal is news.
  assert.equal(await run("start h2:db; start db"), false);
  assert.equal(out.err.split("\n").at(-2), "h2: db: ERROR (already started)");
  assert.ok(!out.err.includes("h1: db"), out.err);
  assert.equal(await run("restart all"), true);
  assert.match(out.out, /h1: web:1: started/);
});

Deno.test("restart says stopped, then started, as supervisorctl does", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("restart nginx"), true);
  assert.equal(out.out, "h[1-2]: nginx: stopped\nh[1-2]: nginx: started\n");
  assert.deepEqual(backend.calls, ["stop * nginx", "start * nginx"]);
});

Deno.test("start without a name is a usage error and asks nothing", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("start"), false);
  assert.equal(out.err, "error: start needs a NAME (or all)\n");
  assert.deepEqual(backend.calls, []);
});

Deno.test("a host that does not answer is reported and fails the command", async () => {
  const { out, run, backend } = setup();
  backend.silent.add("h3");
  backend.silent.add("h4");
  assert.equal(await run("status"), false);
  assert.match(out.out, /^h1: nginx/);
  assert.equal(out.err, "h[3-4]: ERROR (ENORESPONSE no answer)\n");
});

Deno.test("reload: one line per change, hosts folded", async () => {
  const { out, run } = setup();
  assert.equal(await run("reload"), true);
  assert.equal(out.out, "h[1-2]: programs.yaml: added cache; changed web\n");
});

Deno.test("reload teaches completion the programs it added", async () => {
  const { run, shell } = setup();
  assert.equal(await run("reload h2"), true);
  assert.deepEqual(shell.catalog.programs("h2"), ["cache"]);
});

Deno.test("hosts: up and lost hosts, and it feeds completion", async () => {
  const { out, run, backend, shell } = setup();
  backend.silent.add("h3");
  assert.equal(await run("hosts"), true);
  // A lost host is news, not a failure: its line says why (the library says since when).
  assert.equal(out.out, "h1: up\nh2: up\nh3: no answer\n");
  assert.equal(out.err, "");
  assert.deepEqual(shell.catalog.hosts(), ["h1", "h2"]);
});

Deno.test("shutdown in a script asks nothing", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("shutdown h2"), true);
  assert.deepEqual(backend.calls, ["shutdown h2"]);
  assert.equal(out.out, "h2: shut down\n");
});

Deno.test("tail: the one host that has the process, or HOST:PROG; ambiguity is an error", async () => {
  const { out, run, backend } = setup();
  backend.output.set("h2:db", "db says hi\n");
  backend.output.set("h1:nginx", "one\n");
  assert.equal(await run("tail db"), true);
  assert.equal(out.out, "db says hi\n");
  assert.deepEqual(backend.calls, ["status * db", "tail h2 db stdout"]);
  assert.equal(await run("tail --stderr h1:nginx"), true);
  assert.deepEqual(backend.calls.slice(-2), ["status h1 nginx", "tail h1 nginx stderr"]);
  assert.equal(await run("tail h1:web"), false);
  assert.match(out.err, /error: web is web:0, web:1: name one process/);
  assert.equal(await run("tail h2:web"), false);
  assert.match(out.err, /error: no process web on h2\n$/);
  assert.equal(await run("tail nginx"), false);
  assert.match(out.err, /error: nginx is on h\[1-2\]: name one host \(h1:nginx\)/);
  assert.equal(await run("tail ghost"), false);
  assert.match(out.err, /error: no process ghost on any host/);
  assert.equal(await run("tail -x db"), false);
  assert.match(out.err, /error: tail: unknown option -x/);
});

Deno.test("attach in a script forwards the input to the process until it ends", async () => {
  const { out, shell, backend } = setup();
  const input = new InputQueue();
  input.push(enc.encode("hello\n"));
  input.end();
  const ok = await shell.runScript("attach h2:db", scriptSurroundings(out, () => input));
  assert.equal(ok, true);
  assert.deepEqual(backend.typed, ["hello\n"]);
  assert.deepEqual(backend.calls, ["status h2 db", "attach h2 db"]);
  // Without any input to forward (commands read from stdin), attach refuses.
  const lines = await shell.runScript("attach h2:db", scriptSurroundings(out, null));
  assert.equal(lines, false);
  assert.match(out.err, /attach needs a terminal/);
});

Deno.test("a script goes on after a failure and fails as a whole; quit ends it", async () => {
  const { out, run, backend } = setup();
  assert.equal(await run("bogus; status h1:nginx"), false);
  assert.match(out.err, /unknown command "bogus" \(help lists them\)/);
  assert.match(out.out, /h1: nginx/);
  assert.equal(await run("quit; stop all"), true);
  assert.ok(!backend.calls.some((c) => c.startsWith("stop")));
  assert.equal(await run("status 'h1:nginx"), false);
  assert.match(out.err, /error: unterminated single quote/);
});

Deno.test("commands on stdin: each line as it comes, any failure fails the whole", async () => {
  const { out, shell, backend } = setup();
  const input = new InputQueue();
  const where = scriptSurroundings(out, null);
  const done = shell.runLines(input, where);
  input.push(enc.encode("status h1:ng"));
  input.push(enc.encode("inx\nstop h2:db # already\n"));
  input.push(enc.encode("status nope"));
  input.end();
  assert.equal(await done, false);
  assert.deepEqual(backend.calls, ["status h1 nginx", "stop h2 db", "status * nope"]);
  assert.equal(out.out.split("\n")[1], "h2: db: stopped");
});

Deno.test("help lists every command; help CMD shows its usage", async () => {
  const { out, run, shell } = setup();
  assert.equal(await run("help"), true);
  for (const c of shell.commands) assert.ok(out.out.includes(`  ${c.usage}`), c.name);
  assert.match(out.out, /Ctrl-] detaches/);
  assert.equal(await run("help tail"), true);
  assert.match(out.out, /tail \[-f\] \[--stderr\] PROG\nthe end of a program's output/);
  assert.equal(await run("help exit"), true);
  assert.match(out.out, /^quit\n/m);
  assert.equal(await run("help nope"), false);
});

Deno.test("statusLines: long names widen the column for every host", () => {
  const long = "x".repeat(40);
  const text = statusLines([row("h10", long), row("h9", "a")]);
  assert.equal(text.split("\n")[0], `h9:  ${"a".padEnd(43)}RUNNING   pid 100, uptime 0:00:05`);
  assert.equal(text.split("\n")[1], `h10: ${long}   RUNNING   pid 100, uptime 0:00:05`);
});
