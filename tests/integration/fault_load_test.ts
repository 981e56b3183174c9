/**
 * Ten controllers (library instances, each with its own NATS connection)
 * fan out at the same time to twenty agents, round after round. Every
 * request must be answered, and nothing may cross between controllers:
 * each run carries its controller's token in its output and its
 * controller's number as exit code, and each controller must see exactly
 * its own, on every host, every round.
 */
import assert from "node:assert/strict";
import { Controller, type RunEvent } from "../../controller/mod.ts";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CONTROLLERS = 10;
const AGENTS = 20;
const ROUNDS = 5;

/** Prints the controller's token and the host, and exits with the controller's number. */
const SCRIPT = 'echo "$1 $TUTTI_HOST"; exit "$2"';

async function rounds(c: Controller, k: number, hosts: string[]): Promise<number> {
  let checked = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const token = `c${k}-r${round}-${crypto.randomUUID()}`;
    const run = c.run({
      hosts: `ld-[1-${AGENTS}]`,
      argv: ["sh", "-c", SCRIPT, "sh", token, `${k}`],
    });
    const seen: RunEvent[] = [];
    for await (const e of run) seen.push(e);
    const summary = await run.done;
    const where = `controller ${k}, round ${round}`;
    assert.deepEqual(
      summary.hosts.map((h) => [h.host, h.status, h.proc?.id, h.proc?.code]),
      hosts.map((h) => [h, k === 0 ? "ok" : "failed", run.id, k]),
      `${where}: one exit status per host, with this controller's code`,
    );
    for (const host of hosts) {
      const out = seen.filter((e) => e.host === host && e.type === "output")
        .map((e) => e.type === "output" ? new TextDecoder().decode(e.data) : "").join("");
      assert.equal(out, `${token} ${host}\n`, `${where}: ${host}'s output is this run's`);
    }
    assert.ok(
      seen.every((e) => e.type !== "started" && e.type !== "exit" || e.proc.id === run.id),
      `${where}: only this run's processes`,
    );
    assert.ok(seen.every((e) => e.type !== "error" && e.type !== "missing"), where);
    // A second kind of request in the same stream of work: every host answers a ping.
    const pings = await c.ping({ hosts: `ld-[1-${AGENTS}]` }).done;
    assert.deepEqual(pings.map((p) => [p.host, p.ok]), hosts.map((h) => [h, true]), where);
    checked += AGENTS;
  }
  return checked;
}

Deno.test(
  "ten controllers fan out concurrently to twenty agents: all answered, nothing mixed up",
  opts,
  async () => {
    const world = await World.create();
    const controllers: Controller[] = [];
    try {
      const hosts = Array.from({ length: AGENTS }, (_, i) => `ld-${i + 1}`); // the order of summaries
      await world.agentsNamed(hosts);
      for (let k = 0; k < CONTROLLERS; k++) {
        controllers.push(
          await Controller.connect({
            servers: [world.broker.url],
            prefix: world.prefix,
            stateDir: `${world.dir}/controller-${k}`,
          }),
        );
      }
      const counts = await Promise.all(controllers.map((c, k) => rounds(c, k, hosts)));
      assert.deepEqual(counts, controllers.map(() => ROUNDS * AGENTS));

      // Every process of every round is in each agent's table, with its own exit code.
      const ps = await controllers[0].ps({ hosts: `ld-[1-${AGENTS}]` }, { all: true }).done;
      for (const r of ps) {
        assert.ok(r.ok, r.host);
        if (!r.ok) continue;
        assert.equal(r.procs.length, CONTROLLERS * ROUNDS, `${r.host}: every run is in its table`);
        const codes = r.procs.map((p) => p.code).sort();
        const want = controllers.flatMap((_, k) => Array(ROUNDS).fill(k)).sort();
        assert.deepEqual(codes, want, `${r.host}: exit codes`);
      }
    } finally {
      await Promise.all(controllers.map((c) => c.close()));
      await world.close();
    }
  },
);
