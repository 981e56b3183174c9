/**
 * The guard policy of every operation: a malformed message from a peer in
 * the middle of a run is counted and reported, never fatal and never
 * silent, and the run still completes with every host's real exit status.
 */
import assert from "node:assert/strict";
import { encode } from "../../protocol/codec.ts";
import { jsonLines, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Publishes three malformed messages about `id` on g-1 (event, event, presence). */
async function inject(world: World, id: string): Promise<void> {
  const s = world.subjects;
  world.nc.publish(s.proc("g-1", id, "exit"), new Uint8Array([0xff, 0x00, 0x13]));
  world.nc.publish(s.proc("g-2", id, "started"), encode({ v: 1, id, state: "running" }));
  world.nc.publish(s.presence("g-1"), encode({ v: 1, type: "beat", host: "g-1" }));
  await world.nc.flush();
}

function waitingCommand(gate: string): string[] {
  return ["sh", "-c", `while [ ! -e ${gate} ]; do sleep 0.05; done; echo done`];
}

Deno.test(
  "malformed messages in the middle of a run are counted and shown; the run completes",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["g-1", "g-2"]);

      // --json: each ignored message is a line among the events.
      const gate = `${world.dir}/gate-json`;
      const c = world.spawnController([
        "run",
        "--hosts",
        "g-[1-2]",
        "--id",
        "gj",
        "--json",
        "--",
        ...waitingCommand(gate),
      ]);
      await c.waitFor(
        "two started processes",
        (out) => jsonLines(out).filter((e) => e.type === "started").length === 2,
      );
      await inject(world, "gj");
      await Deno.writeTextFile(gate, "");
      const r = await c.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "2 hosts: 2 ok");
      const events = jsonLines(r.stdout);
      const ignored = events.filter((e) => e.type === "ignored");
      assert.deepEqual(
        ignored.map((e) => [e.subject, (e.error as { code: string }).code]).sort(),
        [
          ["tutti.presence.g-1", "EBADMSG"],
          ["tutti.proc.g-1.gj.exit", "EBADMSG"],
          ["tutti.proc.g-2.gj.started", "EBADMSG"],
        ],
      );
      assert.match(
        (ignored.find((e) => e.subject === "tutti.proc.g-2.gj.started")!.error as {
          message: string;
        })
          .message,
        /field "/,
        "the message names the field",
      );
      for (const host of ["g-1", "g-2"]) {
        const exit = events.find((e) => e.type === "exit" && e.host === host);
        assert.equal(exit?.code, 0, `${host} exited 0`);
        const text = events.filter((e) => e.type === "output" && e.host === host)
          .map((e) => e.text).join("");
        assert.equal(text, "done\n");
      }

      // Default view: one line says how many, after the output, and the exit status is kept.
      const gate2 = `${world.dir}/gate-text`;
      const watches = await Promise.all(["g-1", "g-2"].map((h) => ProcWatch.open(world, h, "gt")));
      const c2 = world.spawnController([
        "run",
        "--hosts",
        "g-[1-2]",
        "--id",
        "gt",
        "--",
        ...waitingCommand(gate2),
      ]);
      await until(
        "two started processes",
        () => watches.every((w) => w.of("gt", "started").length > 0),
      );
      await inject(world, "gt");
      await Deno.writeTextFile(gate2, "");
      const r2 = await c2.result();
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(r2.stdout.trimEnd().split("\n").sort(), ["g-1: done", "g-2: done"]);
      assert.match(
        r2.stderr,
        /^controller: 3 messages from peers were ignored \(the first: a \w+ message on tutti\.\S+ .*\); --verbose shows each$/m,
      );
    } finally {
      await world.close();
    }
  },
);
