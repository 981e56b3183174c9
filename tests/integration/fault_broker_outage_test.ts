/**
 * The broker dies for ten seconds in the middle of a fan-out to 50 hosts.
 * The processes must not notice (their output pipes keep being drained into
 * the spool), every exit status must reach the controller once the broker is
 * back, the output written during the outage must come back in order and
 * marked as recovered, and `logs` must return every byte of it.
 */
import assert from "node:assert/strict";
import { Controller } from "../../controller/mod.ts";
import { alive, jsonLines, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const HOSTS = 50;
const OUTAGE_MS = 10_000;
/** Lines of `seq` each process writes while the broker is down: 288,895 bytes, over 4 pipe buffers. */
const LINES = 50_000;

/**
 * Says it is ready, then waits for SIGUSR1 (sent once the broker is down) in
 * one-second naps, then writes a lot and ends. The trap is set before the
 * first line, so the test never signals a shell that would die of it.
 */
const SCRIPT = `trap 'go=1; kill $nap 2>/dev/null' USR1
echo "$TUTTI_HOST before"
while [ -z "$go" ]; do sleep 1 & nap=$!; wait $nap; done
seq 1 ${LINES}
echo "$TUTTI_HOST after"`;

function seqText(n: number): string {
  let s = "";
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}

interface JsonEvent {
  type: string;
  host?: string;
  text?: string;
  pid?: number;
  code?: number;
  signal?: string | null;
  recovered?: boolean;
}

Deno.test(
  "broker down 10 s during a fan-out to 50 hosts: undisturbed, every status, every byte",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      const names = Array.from({ length: HOSTS }, (_, i) => `bo-${i + 1}`);
      const agents = await world.agentsNamed(names);
      const run = world.spawnController([
        "run",
        "--hosts",
        `bo-[1-${HOSTS}]`,
        "--id",
        "outage",
        "--json",
        "--",
        "sh",
        "-c",
        SCRIPT,
      ]);
      const before = (out: string) =>
        jsonLines<JsonEvent>(out).filter((e) =>
          e.type === "output" && e.text?.endsWith(" before\n")
        ).length;
      await run.waitFor(`${HOSTS} "before" lines`, (out) => before(out) === HOSTS, 60_000);
      const pids = jsonLines<JsonEvent>(run.stdout).filter((e) => e.type === "started").map((e) =>
        e.pid!
      );
      assert.equal(pids.length, HOSTS);

      await world.broker.stop();
      const down = Date.now();
      // Every agent must know the link is gone before the output starts, so that all of it
      // goes to the spool only (the agent logs the disconnect; no message can say it).
      await until(
        "every agent to see the disconnect",
        () => agents.every((a) => a.output.join("").includes("disconnected from")),
        20_000,
      );
      for (const pid of pids) Deno.kill(pid, "SIGUSR1");
      // Undisturbed: each process writes far more than a pipe holds and ends while nobody can
      // hear about it. An agent that stopped draining its pipes would leave them blocked here.
      await until(
        "every process to end during the outage",
        () => pids.every((p) => !alive(p)),
        60_000,
      );
      assert.equal(world.broker.proc, null, "the broker is still down");
      const rest = OUTAGE_MS - (Date.now() - down);
      // The outage lasts ten seconds, as in the scenario: this wait is its length, not a sync.
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      await world.broker.restart();

      const r = await run.result(120_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), `${HOSTS} hosts: ${HOSTS} ok`);
      const all = jsonLines<JsonEvent>(r.stdout);
      const body = seqText(LINES);
      for (const host of names) {
        const mine = all.filter((e) => e.host === host);
        const output = mine.filter((e) => e.type === "output");
        assert.equal(
          output.map((e) => e.text).join(""),
          `${host} before\n${body}${host} after\n`,
          `${host}: output complete and in order`,
        );
        assert.equal(output[0].recovered, undefined, `${host}: the first line came live`);
        // What was written during the outage is replayed by the agent once its link is back, or,
        // where the controller's own connection came back later, fetched from the spool
        // (`recovered`): complete and in order either way, as asserted above.
        const exit = mine.find((e) => e.type === "exit");
        assert.deepEqual([exit?.code, exit?.signal], [0, null], `${host}: exit status`);
      }

      // `logs` returns the whole spooled output, byte for byte, on every host.
      c = await Controller.connect({
        servers: [world.broker.url],
        prefix: world.prefix,
        stateDir: `${world.dir}/library`,
      });
      const expected = (host: string) =>
        new TextEncoder().encode(`${host} before\n${body}${host} after\n`);
      for (const host of names) {
        const bytes = await c.logs(host, "outage").bytes();
        assert.deepEqual(bytes, expected(host), `${host}: logs byte-exact`);
      }
    } finally {
      await c?.close();
      await world.close();
    }
  },
);
