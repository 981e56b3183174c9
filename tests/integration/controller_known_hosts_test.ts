/**
 * The known-hosts cache is per server: one controller state directory used
 * against two separate brokers expects, on each, only the hosts seen there.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "hosts seen on broker A are not expected by a glob on broker B, and A still remembers them",
  opts,
  async () => {
    const a = await World.create();
    const b = await World.create();
    try {
      const shared = { TUTTI_STATE_DIR: `${a.dir}/shared-controller` };
      const [, , a3] = await a.agentsNamed(["a-1", "a-2", "a-3"], {
        labels: { rack: "r1" },
        args: ["--heartbeat", "2s"],
      });
      await b.agent("b-1");

      const seen = await a.controller(["hosts"], { env: shared });
      assert.equal(seen.code, 0, seen.stderr);
      assert.deepEqual(
        seen.stdout.trimEnd().split("\n").slice(1).map((r) => r.split(/\s+/)[0]),
        ["a-1", "a-2", "a-3"],
      );
      // What the ping answers said is kept: a label selector and liveness need it later.
      const file = JSON.parse(
        await Deno.readTextFile(`${shared.TUTTI_STATE_DIR}/known_hosts.json`),
      );
      const servers = Object.values(file.servers) as Record<string, Record<string, unknown>>[];
      assert.equal(servers.length, 1);
      const a1 = servers[0].tutti["a-1"] as { labels?: unknown; heartbeat?: unknown };
      assert.deepEqual(a1.labels, { rack: "r1" });
      assert.equal(a1.heartbeat, 2000);

      const onB = await b.controller(["run", "--hosts", "*", "--", "true"], { env: shared });
      assert.equal(onB.code, 0, onB.stderr);
      assert.equal(lastLine(onB.stderr), "1 host: 1 ok");
      assert.doesNotMatch(onB.stderr, /no response/);

      // Back on A, its hosts are still expected: the silent one is reported.
      await a3.stop();
      const onA = await a.controller(["run", "--hosts", "*", "--ack-timeout", "1s", "--", "true"], {
        env: shared,
      });
      assert.equal(onA.code, 1, onA.stderr);
      assert.equal(lastLine(onA.stderr), "3 hosts: 2 ok, 1 no response (a-3)");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
);

function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}
