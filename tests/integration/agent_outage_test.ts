/**
 * Broker outages: processes keep running while the broker is down, output
 * written meanwhile waits in the spool and is replayed live once the agent
 * is back (after its hello, with no `dropped` range), and `ps` gives the exit
 * status of a process that ended during the outage.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { AGENT_JS, alive, ask, DENO, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** A shell line that waits (polling, it has no other way) until `file` exists. */
const waitFor = (file: string) => `while [ ! -e '${file}' ]; do sleep 0.02; done`;

Deno.test(
  "a run survives a broker restart; what it wrote meanwhile is replayed live, ps has the rest",
  opts,
  async () => {
    const world = await World.create();
    try {
      const agent = await world.agent("a1");
      const d = world.dir;
      const watch = await ProcWatch.open(world, "a1");
      const disconnects = () => agent.output.join("").split("disconnected from").length - 1;
      // One process ends during the outage; the other writes during it and ends after.
      await ask(world, "a1", "run", {
        id: "during",
        shell: `${waitFor(`${d}/go1`)}; echo finished; exit 7`,
      });
      const r = await ask(world, "a1", "run", {
        id: "across",
        shell: `${waitFor(`${d}/go1`)}; echo while-down; ${waitFor(`${d}/go2`)}; echo back; exit 3`,
      });
      const acrossPid = (r.body.proc as { pid: number }).pid;

      await world.broker.stop();
      // The agent must have seen the link drop before output is produced, or it
      // would publish into a dead socket; its log line is the only sign of it.
      await until("the agent notices the outage", () => disconnects() > 0);
      await Deno.writeTextFile(`${d}/go1`, "");
      await until("output written during the outage reaches the spool", async () => {
        const text = await Deno.readTextFile(`${agent.stateDir}/spool/across.stdout`).catch(() =>
          ""
        );
        return text === "while-down\n";
      });
      assert.ok(alive(acrossPid), "the process keeps running while the broker is down");

      const hello = Promise.withResolvers<void>();
      const presence = world.nc.subscribe(world.subjects.presence("a1"), {
        callback: (_err, m) => {
          if (decodeMap(m.data).type === "hello") hello.resolve();
        },
      });
      await world.broker.restart();
      await hello.promise;
      presence.unsubscribe();

      await Deno.writeTextFile(`${d}/go2`, "");
      const exit = await watch.exit("across");
      assert.equal(exit.code, 3);
      assert.deepEqual(watch.of("across", "dropped"), [], "nothing skipped: it was held back");
      const live = watch.of("across", "stdout");
      assert.deepEqual(live.map((e) => e.headers["Tutti-Offset"]), ["0", "11"]);
      assert.equal(watch.text("across"), "while-down\nback\n");

      // The exit of "during" was published into the outage; ps still has it.
      const ps = await ask(world, "a1", "ps", { procs: ["during"] });
      const during = (ps.body.procs as Record<string, unknown>[])[0];
      assert.deepEqual([during.state, during.code, during.stdout], ["exited", 7, 9]);
      const logs = await ask(world, "a1", "logs", { proc: "during" });
      assert.equal(new TextDecoder().decode(logs.body.data as Uint8Array), "finished\n");
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test("an agent started before its broker connects once the broker is up", opts, async () => {
  const world = await World.create();
  let proc: Deno.ChildProcess | undefined;
  try {
    await world.broker.stop();
    proc = new Deno.Command(DENO, {
      args: ["run", "-A", "--no-config", AGENT_JS, "--server", world.broker.url, "--name", "late"]
        .concat(["--state-dir", `${world.dir}/late`]),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await world.broker.restart();
    // Its hello may come before the test's own connection is back: ask until it answers.
    const r = await until(
      "the late agent answers",
      () => ask(world, "late", "ping", {}, 500).catch(() => null),
      20_000,
    );
    assert.equal(r.body.host, "late");
  } finally {
    try {
      proc?.kill("SIGKILL");
    } catch { /* gone */ }
    await proc?.status;
    await world.close();
  }
});
