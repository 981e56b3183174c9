/**
 * An agent killed with SIGKILL says no `bye`: the controller must still
 * answer at once for that host (no response, lost) instead of hanging, for
 * every verb, and the agent restarted under the same name must reappear.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function lastLine(s: string): string {
  return s.trimEnd().split("\n").at(-1)!;
}

function hostStates(stdout: string): string[] {
  return stdout.trimEnd().split("\n").map((l) => JSON.parse(l)).map((h) => `${h.host}:${h.state}`);
}

Deno.test(
  "an agent killed with SIGKILL is reported, never waited for; restarted, it is back",
  opts,
  async () => {
    const world = await World.create();
    try {
      const [, k2] = await world.agentsNamed(["k-1", "k-2", "k-3"], {
        args: ["--heartbeat", "300ms"],
      });
      // The controller learns the three hosts (its known-hosts cache) while they are up.
      const first = await world.controller(["hosts", "--json"]);
      assert.deepEqual(hostStates(first.stdout), ["k-1:up", "k-2:up", "k-3:up"]);

      await k2.kill();
      assert.equal((await k2.proc.status).signal, "SIGKILL");

      // Named hosts: the silent one is "no response" and the others still run.
      const named = await world.controller(["run", "--hosts", "k-[1-3]", "--", "echo", "ok"]);
      assert.equal(named.code, 1, named.stderr);
      assert.equal(lastLine(named.stderr), "3 hosts: 2 ok, 1 no response (k-2)");
      assert.match(named.stdout, /^k-1: ok$/m);
      assert.match(named.stdout, /^k-3: ok$/m);

      // A glob expects the known hosts too: the dead one is not silently left out.
      const glob = await world.controller(["run", "--hosts", "k-*", "--", "true"]);
      assert.equal(lastLine(glob.stderr), "3 hosts: 2 ok, 1 no response (k-2)");
      const ps = await world.controller(["ps", "--hosts", "k-[1-3]"]);
      assert.equal(ps.code, 1);
      assert.match(ps.stderr, /k-2/);

      const lost = await world.controller(["hosts", "--json"]);
      assert.deepEqual(hostStates(lost.stdout), ["k-1:up", "k-2:lost", "k-3:up"]);
      const table = await world.controller(["hosts"]);
      assert.match(table.stdout, /^k-2\s+lost \(last seen \d+s ago\)$/m);

      // Restarted under the same name (and state directory), it is back.
      await world.agent("k-2", { args: ["--heartbeat", "300ms"] });
      const back = await world.controller(["hosts", "--json"]);
      assert.deepEqual(hostStates(back.stdout), ["k-1:up", "k-2:up", "k-3:up"]);
      const again = await world.controller(["run", "--hosts", "k-[1-3]", "--", "true"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(lastLine(again.stderr), "3 hosts: 3 ok");
    } finally {
      await world.close();
    }
  },
);
