/**
 * One host's run as a state machine, driven by hand: whichever of reply,
 * `started` event or `ps` comes first starts it, output that arrives early
 * waits for `started`, `exit` waits for the output to be complete, and a
 * host given up on says so once.
 */
import assert from "node:assert/strict";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { RunEvent } from "../../controller/events.ts";
import { HostRun } from "../../controller/host_run.ts";

const enc = new TextEncoder();

function proc(over: Partial<ProcInfo> = {}): ProcInfo {
  return {
    id: "r1",
    host: "t-1",
    pid: 7,
    argv: ["x"],
    cwd: "/",
    state: "running",
    started: 1,
    ended: null,
    code: null,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
    ...over,
  };
}

function setup(spool = "", detach = false) {
  const events: RunEvent[] = [];
  const phases: string[] = [];
  const h = new HostRun("t-1", {
    emit: (e) => events.push(e),
    read: (_host, _stream, offset, limit) =>
      Promise.resolve(enc.encode(spool).slice(offset, offset + limit)),
    changed: (h) => phases.push(h.phase),
    detach,
  });
  const kinds = () =>
    events.map((e) => e.type === "output" ? `output:${new TextDecoder().decode(e.data)}` : e.type);
  return { h, events, phases, kinds };
}

Deno.test("started, output, exit: in order, the exit after the last byte", async () => {
  const { h, kinds, phases } = setup("hello\n");
  h.started(proc(), false);
  h.output("stdout", 0, enc.encode("hel"));
  await h.exited(proc({ state: "exited", code: 0, stdout: 6 }));
  assert.deepEqual(kinds(), ["started", "output:hel", "output:lo\n", "exit"]);
  assert.deepEqual(phases, ["running", "finishing", "done"]);
  assert.deepEqual(h.outcome?.status, "ok");
});

Deno.test("output before the start is known waits for it; a second start is ignored", () => {
  const { h, kinds } = setup();
  h.output("stdout", 0, enc.encode("early\n"));
  assert.deepEqual(kinds(), []);
  h.started(proc(), false);
  h.started(proc(), true);
  assert.deepEqual(kinds(), ["started", "output:early\n"]);
});

Deno.test("an idempotent retry of an exited process fetches its whole output", async () => {
  const { h, kinds, events } = setup("all of it\n");
  const done = proc({ state: "exited", code: 3, stdout: 10 });
  h.started(done, true);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(kinds(), ["started", "output:all of it\n", "exit"]);
  assert.equal((events[0] as { existing: boolean }).existing, true);
  assert.equal(h.outcome?.status, "failed");
});

Deno.test("a spawn error or a loss ends the host once, with its code", () => {
  const refused = setup();
  refused.h.refused({ code: "ENOENT", message: "spawn ./foo: no such file or directory" });
  refused.h.fail({ code: "ELOST", message: "late" });
  assert.deepEqual(refused.kinds(), ["error"]);
  assert.equal(refused.h.outcome?.status, "failed");
  assert.equal(refused.h.outcome?.error?.code, "ENOENT");

  const lost = setup();
  lost.h.started(proc(), false);
  lost.h.fail({ code: "ELOST", message: "no heartbeat from t-1 for 15.0s" });
  lost.h.output("stdout", 0, enc.encode("too late\n"));
  assert.deepEqual(lost.kinds(), ["started", "error"]);
  assert.equal(lost.h.outcome?.status, "lost");
});

Deno.test("a detached run is done for a host once it started there", () => {
  const { h, kinds } = setup("", true);
  h.started(proc(), false);
  assert.ok(h.done);
  assert.equal(h.outcome?.status, "ok");
  assert.deepEqual(kinds(), ["started"]);
});
