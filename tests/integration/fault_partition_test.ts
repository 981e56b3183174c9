/**
 * A 30 s partition of one agent of five (its link stalled, not closed: the
 * TCP connection stays open and carries nothing) while its process writes
 * output and exits. The four others finish at once; the run reports the
 * partitioned host lost (not failed) and ends; while the link is down the
 * host is `lost` for `hosts` and does not answer `ps`; once the link heals,
 * its agent is back and `ps`/`logs` give the real exit status and every byte
 * (README: exit statuses stay in the agent's table, output in its spool), as
 * does the same `run --id` again.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { alive, jsonLines, until, World } from "./harness.ts";
import { TcpProxy } from "./tcp_proxy.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const PARTITION_MS = 30_000;
const HEARTBEAT = "1s";

function seq(n: number): string {
  return Array.from({ length: n }, (_, i) => `${i + 1}\n`).join("");
}

Deno.test(
  "a 30 s partition of one agent of five: the others finish at once, it is lost while cut, everything arrives after",
  opts,
  async () => {
    const world = await World.create();
    const proxy = TcpProxy.start(world.broker.url);
    try {
      const args = ["--heartbeat", HEARTBEAT];
      await world.agentsNamed(["p-1", "p-2", "p-3", "p-4"], { args });
      const p5 = await world.agent("p-5", { args, server: proxy.url });
      const go = `${world.dir}/go`;
      const script = `case $TUTTI_HOST in
        p-5) echo before; while [ ! -e ${go} ]; do sleep 0.02; done; seq 1 20000; echo after >&2; exit 7;;
        *) seq 1 2000;;
      esac`;
      const c = world.spawnController([
        "run",
        "--hosts",
        "p-[1-5]",
        "--id",
        "part",
        "--json",
        "--",
        "sh",
        "-c",
        script,
      ]);
      await c.waitFor(
        "p-5's first line",
        (out) => jsonLines(out).some((e) => e.host === "p-5" && e.text === "before\n"),
      );
      const pid = jsonLines(c.stdout).find((e) => e.host === "p-5" && e.type === "started")
        ?.pid as number;

      proxy.stall();
      const stalledAt = Date.now();
      await Deno.writeTextFile(go, "");
      // The process writes and exits while its agent is cut off (no event can say so: poll).
      await until("p-5's process to exit", () => !alive(pid), 20_000);

      const r = await c.result(PARTITION_MS);
      const events = jsonLines(r.stdout);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "5 hosts: 4 ok, 1 lost (p-5)");
      const lostAt = events.findIndex((e) => e.host === "p-5" && e.type === "error");
      assert.equal((events[lostAt].error as { code: string }).code, "ELOST");
      assert.ok(!events.some((e) => e.host === "p-5" && e.type === "exit"), "no exit for p-5");
      for (const host of ["p-1", "p-2", "p-3", "p-4"]) {
        // The others were not held up by the partitioned host: done before it was given up on.
        const exit = events.findIndex((e) => e.host === host && e.type === "exit");
        assert.ok(exit >= 0 && exit < lostAt, `${host} exited before p-5 was lost`);
        assert.equal(events[exit].code, 0);
        const text = events.filter((e) => e.host === host && e.type === "output")
          .map((e) => e.text).join("");
        assert.equal(text, seq(2000), `${host}: output complete`);
      }

      // While cut: lost for `hosts`, no answer to `ps` (the broker still has its old connection).
      const hosts = await world.controller(["hosts", "--json"]);
      assert.deepEqual(
        jsonLines(hosts.stdout).map((h) => `${h.host}:${h.state}`),
        ["p-1:up", "p-2:up", "p-3:up", "p-4:up", "p-5:lost"],
      );
      const cutPs = await world.controller(["ps", "--hosts", "p-5", "--all"]);
      assert.equal(cutPs.code, 1);
      assert.equal(cutPs.stderr.trimEnd().split("\n").at(-1), "1 host: 0 ok, 1 no response (p-5)");

      // The partition lasts its 30 s (a duration, not a wait for an event), then heals.
      const hello = helloOf(world, "p-5");
      await world.nc.flush();
      await new Promise((r) => setTimeout(r, Math.max(0, stalledAt + PARTITION_MS - Date.now())));
      proxy.heal();
      await hello;
      // It noticed the dead link by itself (PINGs every heartbeat) and came back on a new one.
      assert.match(p5.output.join(""), /has not answered 2 PINGs: dropping the connection/);

      const ps = await world.controller(["ps", "--hosts", "p-5", "--all", "--json", "part"]);
      assert.equal(ps.code, 0, ps.stderr);
      const [proc] = jsonLines(ps.stdout);
      assert.equal(proc.state, "exited");
      assert.equal(proc.code, 7);
      assert.equal(proc.pid, pid);
      const out = await world.controller(["logs", "p-5", "part"]);
      assert.equal(out.stdout, "before\n" + seq(20000));
      const err = await world.controller(["logs", "p-5", "part", "--stream", "stderr"]);
      assert.equal(err.stdout, "after\n");
      // The same run again (same id: nothing is started twice) follows it to its end.
      const again = await world.controller(
        ["run", "--hosts", "p-5", "--id", "part", "--json", "--", "sh", "-c", script],
      );
      assert.equal(again.stderr.trimEnd().split("\n").at(-1), "1 host: 0 ok, 1 failed (p-5)");
      const events2 = jsonLines(again.stdout);
      assert.equal(events2.find((e) => e.type === "started")?.existing, true);
      assert.equal(events2.find((e) => e.type === "exit")?.code, 7);
      const text = (stream: string) =>
        events2.filter((e) => e.type === "output" && e.stream === stream).map((e) => e.text)
          .join("");
      assert.equal(text("stdout"), "before\n" + seq(20000));
      assert.equal(text("stderr"), "after\n");
    } finally {
      proxy.close();
      await world.close();
    }
  },
);

/** Resolves at the next `hello` of `host`. */
async function helloOf(world: World, host: string): Promise<void> {
  for await (const m of world.nc.subscribe(world.subjects.presence(host))) {
    if (decodeMap(m.data).type === "hello") return;
  }
}
