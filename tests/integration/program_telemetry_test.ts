/**
 * Supervised programs in telemetry: an agent supervising three processes
 * (`web:0`, `web:1`, `ticker`) lists them on `P.tel.<host>.procs` with their
 * pids, names, programs and states, and `controller top --once` counts them
 * in its PROCS column.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { parseProcsTelemetry, type ProcsTelemetry } from "../../protocol/telemetry_messages.ts";
import { World } from "./harness.ts";
import { closeWorld, programs, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const CONFIG = `programs:
  web:
    cmd: sleep 1000
    numprocs: 2
    starttime: 0.1
    stoptime: 1
  ticker:
    cmd: sh -c 'while :; do sleep 0.5; done'
    starttime: 0.1
    stoptime: 1
`;

Deno.test("supervised processes are in process telemetry and in top", opts, async () => {
  const world = await World.create();
  try {
    const samples: ProcsTelemetry[] = [];
    let wake = () => {};
    const sub = world.nc.subscribe(world.subjects.telProcs("t1"), {
      callback: (_e, m) => {
        samples.push(parseProcsTelemetry(decodeMap(m.data)));
        wake();
      },
    });
    await world.nc.flush();
    const { log } = await supervisingAgent(world, "t1", writeConfig(world, CONFIG), [
      "--telemetry",
      "200ms",
    ]);
    for (const p of ["web:0", "web:1", "ticker"]) await log.reached(p, "RUNNING");
    // The first sample taken once all three are RUNNING.
    let sample: ProcsTelemetry | undefined;
    while (
      !(sample = samples.find((s) => s.procs.filter((p) => p.state === "RUNNING").length === 3))
    ) {
      await new Promise<void>((r) => wake = r);
    }
    const status = await programs(world, "t1", { action: "status" });
    const rows = status.body.processes as { name: string; program: string; pid: number }[];
    const want = rows.map((r) => ({ id: r.name, program: r.program, pid: r.pid }));
    const got = sample.procs.map((p) => ({ id: p.id, program: p.program, pid: p.pid }));
    assert.deepEqual(
      got.sort((a, b) => a.id.localeCompare(b.id)),
      want.sort((a, b) => a.id.localeCompare(b.id)),
    );
    for (const p of sample.procs) {
      assert.equal(p.state, "RUNNING");
      assert.ok(p.rss > 0, `${p.id} has resident memory`);
    }
    sub.unsubscribe();

    const top = await world.controller(["top", "--once", "--hosts", "t1"]);
    assert.equal(top.code, 0, top.stderr);
    const row = top.stdout.split("\n").find((l) => l.startsWith("t1 "));
    assert.match(row ?? "", /\s3: (web:0|web:1|ticker) [\d.]+%, .*$/, top.stdout);
    log.close();
  } finally {
    await closeWorld(world);
  }
});
