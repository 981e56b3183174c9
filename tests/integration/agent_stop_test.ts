/**
 * Clean stop: SIGTERM (or SIGINT) makes the agent say bye, stop every process
 * group it started, publish their exits, and exit 0.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { ask, groupGone, groupMembers, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(
    `${signal} to the agent publishes bye and kills the processes it started`,
    opts,
    async () => {
      const world = await World.create();
      try {
        const agent = await world.agent("a1");
        const watch = await ProcWatch.open(world, "a1");
        const bye = Promise.withResolvers<Record<string, unknown>>();
        const sub = world.nc.subscribe(world.subjects.presence("a1"), {
          callback: (_err, m) => {
            const body = decodeMap(m.data);
            if (body.type === "bye") bye.resolve(body);
          },
        });
        await world.nc.flush();
        const tree = await ask(world, "a1", "run", {
          id: "tree",
          shell: "sleep 1000 & sleep 1000",
        });
        const single = await ask(world, "a1", "run", { id: "single", argv: ["sleep", "1000"] });
        const pgids = [tree, single].map((r) => (r.body.proc as { pid: number }).pid);
        await until("both groups populated", () => groupMembers(pgids[0]).length === 3);

        agent.proc.kill(signal);
        const status = await agent.proc.status;
        assert.equal(status.code, 0, agent.output.join(""));
        const said = await bye.promise;
        assert.equal(said.host, "a1");
        assert.equal(said.running, 2, "bye says how many processes it is about to stop");
        for (const id of ["tree", "single"]) {
          const exit = await watch.exit(id, 5000);
          assert.equal(exit.signal, "SIGTERM", id);
        }
        for (const pgid of pgids) await groupGone(pgid);
        sub.unsubscribe();
        watch.close();
      } finally {
        await world.close();
      }
    },
  );
}
