/**
 * The shell at a (fake) terminal: prompt, Tab completion from what the
 * agents answered, history written as commands are entered, Ctrl-C
 * interrupting a command, the shutdown question, attach with Ctrl-], and
 * the terminal put back in its mode at the end.
 */
import assert from "node:assert/strict";
import { History } from "../../controller/shell/history.ts";
import { InteractiveShell, PROMPT, splitAfterLineEnd } from "../../controller/shell/interactive.ts";
import { Shell } from "../../controller/shell/shell.ts";
import { FakeTerminal, row, TableBackend } from "./controller_shell_fixture.ts";

const enc = new TextEncoder();

function setup() {
  const backend = new TableBackend([row("h1", "nginx"), row("h2", "db", "STOPPED")]);
  const term = new FakeTerminal();
  const shell = new Shell(backend, { stdout: (t) => term.write(t), stderr: (t) => term.write(t) });
  const history = History.memory();
  const session = new InteractiveShell(shell, term, history);
  return { backend, term, shell, history, session };
}

Deno.test("prompt, a command, its output, and Ctrl-D: raw mode on, then off", async () => {
  const { term, session, history } = setup();
  const done = session.run();
  await term.shows(PROMPT);
  term.type("status\r");
  await term.shows("STOPPED");
  assert.match(term.screen, /h1: nginx\s+RUNNING\s+pid 100/);
  await term.shows(`\n\r${PROMPT}`);
  term.type("\x04");
  await done;
  assert.deepEqual(term.raw, [true, false]);
  assert.deepEqual(history.entries, ["status"]);
});

Deno.test("Tab completes a program name learnt from the agents", async () => {
  const { term, session } = setup();
  const done = session.run();
  await term.shows(PROMPT);
  // The catalog is filled in the background at start.
  await session.catalogFilled;
  term.type("stop ng\t");
  await term.shows("stop nginx ");
  term.type("\r");
  await term.shows("h1: nginx: stopped");
  term.type("quit\r");
  await done;
});

Deno.test("lines typed ahead in one read run one after the other", async () => {
  const { term, session, backend } = setup();
  const done = session.run();
  term.type("status h1:nginx\rstatus h2:db\rquit\r");
  await done;
  assert.deepEqual(backend.calls.filter((c) => c.startsWith("status h")), [
    "status h1 nginx",
    "status h2 db",
  ]);
  assert.match(term.screen, /h2: db\s+STOPPED/);
});

Deno.test("Ctrl-C ends tail -f and the shell goes on", async () => {
  const { term, session, backend } = setup();
  backend.output.set("h1:nginx", "line 1\n");
  const done = session.run();
  term.type("tail -f nginx\r");
  await term.shows("line 1\n");
  term.type("\x03");
  await term.shows(`^C\r\n`);
  await term.shows(`\r${PROMPT}`);
  term.type("\x04");
  await done;
});

Deno.test("Ctrl-C stops waiting for a slow command; its late answer is not printed", async () => {
  const { term, session, backend } = setup();
  const gate = Promise.withResolvers<void>();
  backend.reloadGate = gate.promise;
  const done = session.run();
  term.type("reload\r");
  await backend.until(() => backend.calls.includes("reload *"));
  term.type("\x03");
  await term.shows("^C\r\ninterrupted (the agents carry on with what was asked)\n");
  await term.shows(`\r${PROMPT}`);
  gate.resolve();
  term.type("status h2:db\r");
  await term.shows("h2: db");
  term.type("quit\r");
  await done;
  assert.ok(!term.screen.includes("programs.yaml"), "the abandoned reload printed nothing");
});

Deno.test("shutdown asks first: no stops nothing, y stops", async () => {
  const { term, session, backend } = setup();
  const done = session.run();
  term.type("shutdown h2\r");
  await term.shows("Really stop the agents on h2 and their programs? [y/N] ");
  term.type("n\r");
  await term.shows("not stopped\n");
  assert.ok(!backend.calls.some((c) => c.startsWith("shutdown")));
  term.type("shutdown h2\r");
  await term.shows("not stopped\n");
  term.type("y\r");
  await term.shows("h2: shut down\n");
  term.type("quit\r");
  await done;
  assert.deepEqual(backend.calls.filter((c) => c.startsWith("shutdown")), ["shutdown h2"]);
});

Deno.test("attach: output above the typed line, Enter sends it, Ctrl-D closes stdin, Ctrl-] detaches", async () => {
  const { term, session, backend } = setup();
  const done = session.run();
  term.type("attach h1:nginx\r");
  await term.shows("Ctrl-] detaches");
  backend.attachOutput.push(enc.encode("hello\nask> "));
  await term.shows("\r\x1b[0Khello\n");
  // The process's unfinished line stays in front of what is typed.
  await term.shows("\rask> \x1b[0K\r\x1b[5C");
  term.type("42\r");
  await backend.until(() => backend.typed.length > 0);
  assert.deepEqual(backend.typed, ["42\n"]);
  term.type("\x04");
  await backend.until(() => backend.inputClosed);
  term.type("\x1d");
  await term.shows("detached\n");
  term.type("quit\r");
  await done;
});

Deno.test("attach to a tty program: bytes both ways as they are, its size, Ctrl-] detaches", async () => {
  const { term, session, backend } = setup();
  backend.attachTerminal = true;
  const done = session.run();
  term.type("attach h1:nginx\r");
  await term.shows("Ctrl-] detaches");
  await backend.until(() => backend.sizes.length > 0);
  assert.deepEqual(backend.sizes, ["24x80"]);
  // No line editing here: the remote terminal echoes and edits; Ctrl-C is a byte for it.
  backend.attachOutput.push(enc.encode("\x1b[2J>>> "));
  await term.shows("\x1b[2J>>> ");
  term.type("ab\x03\x7fcd\r");
  await backend.until(() => backend.typed.length > 0);
  assert.deepEqual(backend.typed, ["ab\x03\x7fcd\r"]);
  term.resize(40);
  await backend.until(() => backend.sizes.length > 1);
  assert.deepEqual(backend.sizes, ["24x80", "40x80"]);
  // What comes before Ctrl-] in the same read is sent; the rest is not.
  term.type("x\x1dy");
  await term.shows("detached\n");
  assert.deepEqual(backend.typed, ["ab\x03\x7fcd\r", "x"]);
  term.resize(50);
  assert.deepEqual(backend.sizes, ["24x80", "40x80"], "resizes after detaching are not sent");
  term.type("quit\r");
  await done;
});

Deno.test("splitAfterLineEnd: CR, LF and CRLF end a line", () => {
  const s = (t: string) => splitAfterLineEnd(enc.encode(t)).map((b) => new TextDecoder().decode(b));
  assert.deepEqual(s("ab\rcd"), ["ab\r", "cd"]);
  assert.deepEqual(s("ab\r\ncd"), ["ab\r\n", "cd"]);
  assert.deepEqual(s("ab\ncd"), ["ab\n", "cd"]);
  assert.deepEqual(s("abc"), ["abc", ""]);
});
