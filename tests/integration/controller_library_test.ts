/**
 * The controller library as an experiment script uses it (controller/mod.ts):
 * typed events and results for run, ping, hosts, ps, signal/kill and logs.
 */
import assert from "node:assert/strict";
import { Controller, type RunEvent, TuttiError } from "../../controller/mod.ts";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function connect(world: World): Promise<Controller> {
  return await Controller.connect({
    servers: [world.broker.url],
    prefix: world.prefix,
    stateDir: `${world.dir}/library`,
    ackTimeoutMs: 3000,
  });
}

Deno.test("run: one stream of typed events per host and a summary", opts, async () => {
  const world = await World.create();
  let c: Controller | undefined;
  try {
    c = await connect(world);
    await world.agentsNamed(["lib-1", "lib-2"]);
    const run = c.run({ hosts: "lib-[1-3]", shell: "echo out; echo err >&2; exit 2", id: "lib" });
    assert.equal(run.id, "lib");
    const seen: RunEvent[] = [];
    for await (const e of run) seen.push(e);
    const summary = await run.done;
    assert.equal(summary.ok, false);
    assert.deepEqual(summary.hosts.map((h) => [h.host, h.status, h.proc?.code ?? h.error?.code]), [
      ["lib-1", "failed", 2],
      ["lib-2", "failed", 2],
      ["lib-3", "noresponse", "ENORESPONSE"],
    ]);
    for (const host of ["lib-1", "lib-2"]) {
      const mine = seen.filter((e) => e.host === host);
      assert.equal(mine[0].type, "started");
      assert.equal(mine.at(-1)!.type, "exit");
      const text = (stream: string) =>
        new TextDecoder().decode(
          new Uint8Array(
            mine.flatMap((e) => e.type === "output" && e.stream === stream ? [...e.data] : []),
          ),
        );
      assert.equal(text("stdout"), "out\n");
      assert.equal(text("stderr"), "err\n");
    }
    const last = seen.at(-1)!;
    assert.ok(last.type === "error" && last.host === "lib-3", JSON.stringify(last));
    assert.equal(last.error.code, "ENORESPONSE");
    assert.match(last.error.message, /^no answer within 3\.\ds$/);
    assert.equal(new TextDecoder().decode(await c.logs("lib-1", "lib").bytes()), "out\n");
  } finally {
    await c?.close();
    await world.close();
  }
});

Deno.test("ping, hosts, ps, kill: typed replies per host", opts, async () => {
  const world = await World.create();
  let c: Controller | undefined;
  try {
    c = await connect(world);
    await world.agent("lib-1", { labels: { rack: "r1" } });
    const pings = await c.ping({ hosts: "lib-*" }).done;
    assert.equal(pings.length, 1);
    const p = pings[0];
    assert.ok(p.ok);
    if (p.ok) assert.deepEqual(p.labels, { rack: "r1" });
    const hosts = await c.hosts();
    assert.deepEqual(hosts.map((h) => [h.host, h.state]), [["lib-1", "up"]]);

    const started = await c.run({ hosts: "lib-1", argv: ["sleep", "600"], detach: true }).done;
    assert.ok(started.ok);
    const id = started.hosts[0].proc!.id;
    const ps = await c.ps({ hosts: "lib-1" }).done;
    assert.ok(ps[0].ok && ps[0].procs.some((x) => x.id === id && x.state === "running"));
    const killed = await c.kill({ hosts: "lib-1" }, [id], { grace: 1 }).done;
    assert.ok(killed[0].ok && killed[0].results[0].ok);
    const lib = c;
    assert.throws(() => lib.run({ hosts: "lib-[", argv: ["true"] }), TuttiError);
    assert.throws(() => lib.kill({ hosts: "lib-1" }, ["bad id"]), /not a valid name/);
  } finally {
    await c?.close();
    await world.close();
  }
});
