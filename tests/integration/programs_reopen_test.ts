/**
 * Output files after a rotation (supervisord issue 273): once the file is
 * renamed, SIGUSR2 to the agent, or `controller programs reopen-logs`,
 * makes the program's output go to a new file at the configured path, and
 * the event log too.
 */
import { ok, strictEqual } from "node:assert/strict";
import { until, World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "SIGUSR2 and reopen-logs reopen output files and the event log after a rotation",
  opts,
  async () => {
    const world = await World.create();
    try {
      const out = `${world.dir}/ticker.out`;
      const config = writeConfig(
        world,
        `programs:
  ticker:
    cmd: sh -c 'while :; do echo tick; sleep 0.05; done'
    starttime: 0.2
    stoptime: 1
    stdout: ${out}
`,
      );
      const { agent, log } = await supervisingAgent(world, "h1", config);
      await log.reached("ticker", "RUNNING");
      const events = `${agent.stateDir}/events.log`;
      // The program writes on its own schedule: its file is polled.
      await until("output in the file", () => size(out) > 0);

      // 1. Rotated by hand, reopened with SIGUSR2.
      Deno.renameSync(out, `${out}.1`);
      Deno.renameSync(events, `${events}.1`);
      Deno.kill(agent.pid, "SIGUSR2");
      await until("a new output file", () => size(out) > 0);
      const before = size(`${out}.1`);
      await until("more output in the new file", () => size(out) > 10);
      strictEqual(size(`${out}.1`), before, "the rotated file no longer grows");
      // The next event goes to a new event log.
      const r = await world.controller(["programs", "restart", "ticker", "--hosts", "h1"]);
      strictEqual(r.code, 0, r.stderr);
      ok(Deno.readTextFileSync(events).includes('"to":"STOPPING"'));
      ok(!Deno.readTextFileSync(`${events}.1`).includes('"to":"STOPPING"'));

      // 2. Rotated again, reopened by the controller.
      Deno.renameSync(out, `${out}.2`);
      const reopen = await world.controller(["programs", "reopen-logs", "--hosts", "h1"]);
      strictEqual(reopen.code, 0, reopen.stderr);
      strictEqual(reopen.stdout, "h1: output files reopened\n");
      await until("a new output file again", () => size(out) > 0);
      const second = size(`${out}.2`);
      await until("more output in the newest file", () => size(out) > 10);
      strictEqual(size(`${out}.2`), second);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

function size(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}
