/**
 * `controller top --once` against real agents: hosts with telemetry are
 * listed with their figures (a managed process among them), a host without
 * telemetry is named with what to do, and a host that stopped answering is
 * marked as such.
 */
import assert from "node:assert/strict";
import { killGroups, startedPids } from "./detached.ts";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** The table row of `host` split in columns (two spaces or more apart). */
function row(stdout: string, host: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith(`${host} `));
  assert.ok(line, `no row for ${host} in:\n${stdout}`);
  return line.split(/\s{2,}/);
}

Deno.test("top --once lists telemetry agents with their figures", opts, async () => {
  const world = await World.create();
  let started: number[] = [];
  try {
    await world.agentsNamed(["t-1", "t-2"], { args: ["--telemetry", "300ms"] });
    await world.agent("t-3");
    const run = await world.controller([
      "run",
      "--hosts",
      "t-1",
      "--detach",
      "--id",
      "slp",
      "--",
      "sleep",
      "600",
    ]);
    assert.equal(run.code, 0, run.stderr);
    started = startedPids(run.stdout);

    const r = await world.controller(["top", "--once", "--hosts", "t-[1-3]", "--sort", "host"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(lines[0], /^tutti top · 3 hosts: 3 up · sorted by host · \d\d:\d\d:\d\d$/);
    assert.match(lines[2], /^HOST\s+STATE\s+CPU%\s+LOAD\s+MEM%\s+MEM\s+RX\/s\s+TX\/s\s+PROCS$/);
    for (const host of ["t-1", "t-2"]) {
      const [name, state, cpu, load, memPct, mem, rx, tx] = row(r.stdout, host);
      assert.equal(name, host);
      assert.equal(state, "up");
      assert.match(cpu, /^\d+\.\d$/, `${host} cpu`);
      assert.ok(Number(cpu) >= 0 && Number(cpu) <= 100, cpu);
      assert.match(load, /^\d+\.\d\d$/);
      assert.match(memPct, /^\d+\.\d$/);
      assert.ok(Number(memPct) > 0 && Number(memPct) < 100, memPct);
      assert.match(mem, /^[\d.]+[KMGT]?\/[\d.]+[KMGT]?$/);
      assert.match(rx, /^[\d.]+[KMGT]?$/);
      assert.match(tx, /^[\d.]+[KMGT]?$/);
    }
    // The managed process on t-1 is in its row, with its CPU share.
    assert.match(row(r.stdout, "t-1").at(-1)!, /^1: slp \d+\.\d%$/);
    assert.equal(row(r.stdout, "t-2").at(-1), "0");
    // t-3 runs without telemetry: listed, no figures, named on stderr.
    assert.deepEqual(row(r.stdout, "t-3"), ["t-3", "up", "-", "-", "-", "-", "-", "-", "-"]);
    assert.equal(r.stderr, "no telemetry from t-3: start their agents with --telemetry 1s\n");

    // An agent that is gone is shown as such (the controller knows it from the run above).
    await world.agents.find((a) => a.name === "t-2")!.kill();
    const gone = await world.controller(["top", "--once", "--ack-timeout", "3s", "--sort", "cpu"]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout.split("\n")[0], /^tutti top · 3 hosts: 2 up, 1 not answering · /);
    assert.deepEqual(row(gone.stdout, "t-2").slice(0, 3), ["t-2", "no response", "-"]);
    // Sorted by CPU: hosts with figures first, the silent one and the one without telemetry last.
    const order = gone.stdout.split("\n").slice(3).map((l) => l.split(" ")[0]).filter(Boolean);
    assert.equal(order[0], "t-1");
  } finally {
    killGroups(started);
    await world.close();
  }
});

Deno.test("top --once without any telemetry says so and fails", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["n-1", "n-2", "n-3"]);
    const r = await world.controller(["top", "--once", "--hosts", "n-[1-3]"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "no telemetry from n-[1-3]: start their agents with --telemetry 1s\n");
  } finally {
    await world.close();
  }
});
