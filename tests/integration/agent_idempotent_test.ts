/**
 * Idempotent run: a retry with the same id never starts a second process;
 * the same id with another command is EEXIST; ids the agent makes are unique.
 */
import assert from "node:assert/strict";
import { encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import { isToken } from "../../protocol/subjects.ts";
import { ask, ProcWatch, requestBytes, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("a retried run with the same id starts one process", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    const req = { id: "once", argv: ["sleep", "1000"], env: { A: "1", B: "2" } };
    // Three copies in flight at once, as a controller retrying on a timeout would send them.
    const subject = world.subjects.host("a1", "run");
    const payload = encode({ v: PROTOCOL_VERSION, ...req });
    const replies = await Promise.all(
      [1, 2, 3].map(() => requestBytes(world, subject, payload)),
    );
    const pids = replies.map((r) => (r.body.proc as { pid: number }).pid);
    assert.equal(new Set(pids).size, 1, `one pid, got ${pids}`);
    assert.deepEqual(replies.map((r) => r.body.existing).sort(), [false, true, true]);

    // Same command, env in another order: still the same request.
    const again = await ask(world, "a1", "run", { ...req, env: { B: "2", A: "1" } });
    assert.equal(again.body.existing, true);
    assert.equal((again.body.proc as { pid: number }).pid, pids[0]);

    const other = await ask(world, "a1", "run", { id: "once", argv: ["sleep", "999"] });
    assert.equal(other.body.ok, false);
    assert.equal((other.body.error as { code: string }).code, "EEXIST");
    assert.equal(other.headers["Tutti-Error"], "EEXIST");

    await ask(world, "a1", "signal", { procs: ["once"], signal: "SIGKILL" });
    await watch.exit("once");
    // After the exit the entry is still there: a late retry starts nothing either.
    const late = await ask(world, "a1", "run", req);
    assert.equal(late.body.existing, true);
    assert.equal((late.body.proc as { state: string }).state, "exited");
    assert.equal(watch.of("once", "started").length, 1);
    const ps = await ask(world, "a1", "ps", { procs: ["once"] });
    assert.equal((ps.body.procs as unknown[]).length, 1);
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test("runs without an id get distinct valid ids", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await ask(world, "a1", "run", { argv: ["true"] });
      const id = (r.body.proc as { id: string }).id;
      assert.ok(isToken(id), id);
      assert.equal(r.headers["Tutti-Proc"], id);
      ids.add(id);
    }
    assert.equal(ids.size, 20);
  } finally {
    await world.close();
  }
});

Deno.test(
  "the table keeps at most --keep exited entries and removes their spool",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1", { args: ["--keep", "2"] });
      const watch = await ProcWatch.open(world, "a1");
      for (const id of ["k1", "k2", "k3"]) {
        await ask(world, "a1", "run", { id, shell: `echo ${id}` });
        await watch.exit(id);
      }
      const ps = await ask(world, "a1", "ps");
      assert.deepEqual((ps.body.procs as { id: string }[]).map((p) => p.id), ["k2", "k3"]);
      const gone = await ask(world, "a1", "logs", { proc: "k1" });
      assert.equal((gone.body.error as { code: string }).code, "ESRCH");
      const spool = () =>
        [...Deno.readDirSync(`${agent.stateDir}/spool`)].map((e) => e.name).sort();
      // The removal is not part of any reply: watch the directory.
      await until("k1's spool removed", () => !spool().includes("k1.stdout"));
      assert.deepEqual(spool(), ["k2.stdout", "k3.stdout"]);
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test("exited entries older than --keep-for leave the table by themselves", opts, async () => {
  const world = await World.create();
  try {
    const agent = await world.agent("a1", { args: ["--keep-for", "1s"] });
    const watch = await ProcWatch.open(world, "a1");
    await ask(world, "a1", "run", { id: "brief", shell: "echo hi" });
    const exit = await watch.exit("brief");
    const ps = async () => (await ask(world, "a1", "ps")).body.procs as { id: string }[];
    assert.deepEqual((await ps()).map((p) => p.id), ["brief"], "still there right after the exit");
    // Time passing is the condition here; the agent's own timer must act without a request.
    await until("the spool file is removed", () => {
      try {
        Deno.statSync(`${agent.stateDir}/spool/brief.stdout`);
        return false;
      } catch {
        return true;
      }
    });
    assert.ok(Date.now() >= (exit.ended as number) + 1000, "not before --keep-for has passed");
    assert.deepEqual(await ps(), []);
    watch.close();
  } finally {
    await world.close();
  }
});
