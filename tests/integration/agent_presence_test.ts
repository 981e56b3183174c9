/**
 * Presence: `hello` carries who the agent is, `beat` follows every heartbeat
 * period with the current running count.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { ask, type Decoded, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("hello describes the agent; beats follow the heartbeat period", opts, async () => {
  const world = await World.create();
  try {
    const seen: Decoded[] = [];
    const beats = Promise.withResolvers<void>();
    const sub = world.nc.subscribe(world.subjects.presence("p1"), {
      callback: (_err, m) => {
        const headers: Record<string, string> = {};
        for (const k of m.headers?.keys() ?? []) headers[k] = m.headers!.get(k);
        seen.push({ subject: m.subject, body: decodeMap(m.data), headers });
        if (seen.filter((s) => s.body.type === "beat" && s.body.running === 1).length >= 2) {
          beats.resolve();
        }
      },
    });
    await world.nc.flush();
    await world.agent("p1", { labels: { site: "nancy" }, args: ["--heartbeat", "200ms"] });
    await ask(world, "p1", "run", { id: "s", argv: ["sleep", "1000"] });
    await beats.promise;
    sub.unsubscribe();

    const hello = seen[0];
    assert.equal(hello.body.type, "hello");
    assert.equal(hello.headers["Tutti-Type"], "hello");
    assert.equal(hello.headers["Tutti-Host"], "p1");
    const b = hello.body;
    assert.deepEqual([b.v, b.host, b.labels, b.heartbeat, b.running], [
      1,
      "p1",
      { site: "nancy" },
      200,
      0,
    ]);
    assert.equal(b.os, Deno.build.os);
    assert.equal(b.arch, Deno.build.arch);
    assert.ok((b.cores as number) >= 1 && (b.memory as number) > 0 && (b.boot as number) > 0);
    assert.match(String(b.version), /^\d+\.\d+\.\d+/);
    const types = seen.map((s) => s.body.type);
    assert.deepEqual(types.slice(1).filter((t) => t !== "beat"), [], "then only beats");
    await ask(world, "p1", "signal", { procs: ["s"], signal: "SIGKILL" });
  } finally {
    await world.close();
  }
});
