/**
 * A cluster of three nats-servers on loopback, one agent on each. The server
 * one agent is connected to is killed while its process runs and ends: the
 * agent moves to another server of the cluster (it learnt them from the
 * cluster's INFO, though it was only given its own), and the controller
 * still gets every exit status and every byte of output.
 */
import assert from "node:assert/strict";
import { alive, Broker, freePort, jsonLines, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

interface Node {
  broker: Broker;
  monitor: number;
}

/** The cluster's args for server `i` of `ports.length`: its route port and routes to the others. */
function clusterArgs(i: number, routePorts: number[], monitor: number): string[] {
  const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
  return [
    "--cluster_name",
    "tutti-test",
    "--cluster",
    `nats://127.0.0.1:${routePorts[i]}`,
    "--routes",
    routes.join(","),
    "-m",
    String(monitor),
  ];
}

async function monitor(node: Node, what: "routez" | "connz"): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${node.monitor}/${what}`);
  return await r.json();
}

/** Names of the client connections a server holds (agents name theirs `tutti-agent <host>`). */
async function clients(node: Node): Promise<string[]> {
  const connz = await monitor(node, "connz") as { connections?: { name?: string }[] };
  return (connz.connections ?? []).map((c) => c.name ?? "");
}

Deno.test(
  "three-server cluster: the agent of a killed server moves, no status or byte lost",
  opts,
  async () => {
    const routePorts = [freePort(), freePort(), freePort()];
    const monitors = [freePort(), freePort(), freePort()];
    const world = await World.create({ brokerArgs: clusterArgs(0, routePorts, monitors[0]) });
    const others: Broker[] = [];
    try {
      for (const i of [1, 2]) {
        others.push(await Broker.start({ args: clusterArgs(i, routePorts, monitors[i]) }));
      }
      const nodes: Node[] = [world.broker, ...others].map((broker, i) => ({
        broker,
        monitor: monitors[i],
      }));
      // Routes carry interest in order with messages: once the mesh is complete, a `hello`
      // seen on one server means that agent's subscriptions are known there too.
      for (const n of nodes) {
        await until(
          `server ${n.broker.url} to route to both others`,
          async () => (await monitor(n, "routez")).num_routes === 2,
          20_000,
        );
      }
      const names = ["cl-1", "cl-2", "cl-3"];
      // Each agent is given its own server only.
      const agents = await Promise.all(
        names.map((name, i) => world.agent(name, { server: nodes[i].broker.url })),
      );
      for (const [i, name] of names.entries()) {
        assert.ok(
          (await clients(nodes[i])).includes(`tutti-agent ${name}`),
          `${name} on node ${i}`,
        );
      }

      const go = `${world.dir}/go`;
      const run = world.spawnController([
        "run",
        "--hosts",
        "cl-[1-3]",
        "--json",
        "--",
        "sh",
        "-c",
        'echo "$TUTTI_HOST before"; while [ ! -e "$1" ]; do sleep 0.1; done; echo "$TUTTI_HOST after"',
        "sh",
        go,
      ]);
      await run.waitFor(
        "three live 'before' lines",
        (out) => jsonLines(out).filter((e) => e.type === "output").length === 3,
      );
      const pids = jsonLines(run.stdout).filter((e) => e.type === "started").map((e) => e.pid);

      // cl-2's server goes; its process ends before cl-2 can have reconnected anywhere.
      await nodes[1].broker.stop();
      await Deno.writeTextFile(go, "");
      await until(
        "the processes to end",
        () => pids.every((p) => !alive(p as number)),
        20_000,
      );
      const moved = await until(
        "cl-2 to be connected to another server",
        async () => {
          for (const i of [0, 2]) {
            if ((await clients(nodes[i])).includes("tutti-agent cl-2")) return i + 1;
          }
          return 0;
        },
        30_000,
      );
      assert.ok(moved === 1 || moved === 3);
      // The server lists the connection before the client has finished its handshake and logged.
      await until(
        "cl-2 to log its reconnection",
        () => /reconnected to 127\.0\.0\.1:\d+/.test(agents[1].output.join("")),
        10_000,
      );

      const r = await run.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "3 hosts: 3 ok");
      const all = jsonLines(r.stdout);
      for (const host of names) {
        const text = all.filter((e) => e.host === host && e.type === "output").map((e) => e.text)
          .join("");
        assert.equal(text, `${host} before\n${host} after\n`, `${host}: every byte, in order`);
        assert.equal(all.find((e) => e.host === host && e.type === "exit")?.code, 0, host);
      }
      const hosts = await world.controller(["hosts", "--json"]);
      assert.deepEqual(
        jsonLines(hosts.stdout).map((h) => `${h.host}:${h.state}`),
        ["cl-1:up", "cl-2:up", "cl-3:up"],
      );
    } finally {
      await world.close();
      await Promise.all(others.map((b) => b.stop()));
    }
  },
);
