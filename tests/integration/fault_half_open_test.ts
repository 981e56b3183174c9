/**
 * Half-open connections: a link that stops carrying packets and sends no
 * FIN, so no socket on either side is told anything (tcp_proxy.ts `stall`).
 *
 * - The agent's link: the agent PINGs the server every heartbeat and drops
 *   the connection when two PINGs are unanswered at the third, so it notices
 *   within 3 heartbeats (agent/connection.ts `halfOpenBoundMs`); a controller
 *   following one of its processes counts it lost after 3 heartbeats of
 *   silence (confirmed by a round trip). After the heal the agent is back on
 *   a new connection and its process is found and followed to its end.
 * - The controller's link: silence it cannot confirm (its round trip is stuck
 *   in the dead link too) proves nothing, so no host is declared lost however
 *   long the agents seem silent; after the heal the run ends with every exit
 *   status and byte.
 *
 * Bounds are asserted generously (the intervals' bound plus SLACK_MS, for a
 * loaded machine): what is tested is the mechanism, not the machine's speed.
 */
import assert from "node:assert/strict";
import { halfOpenBoundMs } from "../../agent/connection.ts";
import { MISSED_BEATS } from "../../controller/broadcast/liveness.ts";
import { decodeMap } from "../../protocol/codec.ts";
import { alive, jsonLines, until, World } from "./harness.ts";
import { TcpProxy } from "./tcp_proxy.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const HEARTBEAT_MS = 1000;
const SLACK_MS = 10_000;

Deno.test(
  "a half-open agent link: the agent and the controller notice within 3 heartbeats; all is well after the heal",
  opts,
  async () => {
    const world = await World.create();
    const proxy = TcpProxy.start(world.broker.url);
    try {
      const args = ["--heartbeat", `${HEARTBEAT_MS}ms`];
      await world.agent("ho-1", { args });
      const agent = await world.agent("ho-2", { args, server: proxy.url });
      // The controller learns the heartbeat periods (its known-hosts cache) while all is well.
      const hosts = await world.controller(["hosts", "--json"]);
      assert.deepEqual(jsonLines(hosts.stdout).map((h) => h.heartbeat), [
        HEARTBEAT_MS,
        HEARTBEAT_MS,
      ]);

      const go = `${world.dir}/go`;
      const script = `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; echo end; exit 4`;
      const c = world.spawnController(
        ["run", "--hosts", "ho-[1-2]", "--id", "ho", "--json", "--", "sh", "-c", script],
      );
      await c.waitFor(
        "both first lines",
        (out) => jsonLines(out).filter((e) => e.text === "start\n").length === 2,
      );
      const pid = jsonLines(c.stdout).find((e) => e.host === "ho-2" && e.type === "started")
        ?.pid as number;

      proxy.stall();
      const stalledAt = Date.now();

      // The controller: ho-2 is lost once 3 heartbeats passed in silence, not before, not long after.
      await c.waitFor(
        "ho-2 lost",
        (out) => jsonLines(out).some((e) => e.host === "ho-2" && e.type === "error"),
        MISSED_BEATS * HEARTBEAT_MS + SLACK_MS,
      );
      const controllerNoticed = Date.now() - stalledAt;
      const lost = jsonLines(c.stdout).find((e) => e.host === "ho-2" && e.type === "error")!
        .error as { code: string; message: string };
      assert.equal(lost.code, "ELOST");
      const silentFor = Number(/for (\d+\.\d)s$/.exec(lost.message)?.[1]);
      assert.ok(silentFor >= MISSED_BEATS * HEARTBEAT_MS / 1000, lost.message);
      assert.ok(controllerNoticed < MISSED_BEATS * HEARTBEAT_MS + SLACK_MS);

      // The agent: it drops the dead connection by itself (nothing closed it).
      const bound = halfOpenBoundMs(HEARTBEAT_MS);
      await until(
        "ho-2 to drop its connection",
        () => agent.output.join("").includes("has not answered 2 PINGs: dropping the connection"),
        bound + SLACK_MS,
        20,
      );
      const agentNoticed = Date.now() - stalledAt;
      assert.ok(agentNoticed < bound + SLACK_MS, `${agentNoticed} ms`);
      await until(
        "ho-2 to log the disconnect",
        () => agent.output.join("").includes("disconnected from"),
        SLACK_MS,
        20,
      );

      // ho-1 finishes; the run ends with ho-2 lost, not failed, and does not hang on it.
      await Deno.writeTextFile(go, "");
      await until("ho-2's process to exit", () => !alive(pid), SLACK_MS);
      const r = await c.result();
      assert.equal(
        r.stderr.trimEnd().split("\n").at(-1),
        "2 hosts: 0 ok, 1 failed (ho-1), 1 lost (ho-2)",
      );

      // Healed: back on a new connection (hello), it answers, and its process is all there.
      const hello = helloOf(world, "ho-2");
      await world.nc.flush();
      proxy.heal();
      await hello;
      const again = await world.controller(
        ["run", "--hosts", "ho-2", "--id", "ho", "--json", "--", "sh", "-c", script],
      );
      const events = jsonLines(again.stdout);
      assert.equal(events.find((e) => e.type === "started")?.existing, true);
      assert.equal(events.find((e) => e.type === "exit")?.code, 4);
      assert.equal(
        events.filter((e) => e.type === "output").map((e) => e.text).join(""),
        "start\nend\n",
      );
      const back = await world.controller(["hosts", "--json"]);
      assert.deepEqual(jsonLines(back.stdout).map((h) => `${h.host}:${h.state}`), [
        "ho-1:up",
        "ho-2:up",
      ]);
    } finally {
      proxy.close();
      await world.close();
    }
  },
);

Deno.test(
  "a half-open controller link during a run: nobody is declared lost; after the heal every exit and byte arrive",
  opts,
  async () => {
    const world = await World.create();
    const proxy = TcpProxy.start(world.broker.url);
    try {
      // Short heartbeats: the stall lasts many times the 3 beats after which a host is lost.
      await world.agentsNamed(["hc-1", "hc-2"], { args: ["--heartbeat", "300ms"] });
      const go = `${world.dir}/go`;
      const script = `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; seq 1 5000; exit 3`;
      const c = world.spawnController(
        ["run", "--hosts", "hc-[1-2]", "--json", "--", "sh", "-c", script],
        { env: { NATS_URL: proxy.url } },
      );
      await c.waitFor(
        "both first lines",
        (out) => jsonLines(out).filter((e) => e.text === "start\n").length === 2,
      );
      const pids = jsonLines(c.stdout).filter((e) => e.type === "started").map((e) =>
        e.pid as number
      );
      proxy.stall();
      await Deno.writeTextFile(go, "");
      await until("the processes to exit", () => pids.every((p) => !alive(p)), SLACK_MS);
      // Ten heartbeat periods in which the controller hears nothing from anyone.
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(!c.stdout.includes('"error"'), c.stdout);
      proxy.heal();
      const r = await c.result();
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "2 hosts: 0 ok, 2 failed (hc-[1-2])");
      const events = jsonLines(r.stdout);
      assert.ok(!events.some((e) => e.type === "error"), "no host lost");
      const expected = "start\n" + Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join("");
      for (const host of ["hc-1", "hc-2"]) {
        assert.equal(events.find((e) => e.host === host && e.type === "exit")?.code, 3);
        const text = events.filter((e) => e.host === host && e.type === "output").map((e) => e.text)
          .join("");
        assert.equal(text, expected, `${host}: every byte`);
      }
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
