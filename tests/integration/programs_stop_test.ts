/**
 * Stops: a program that ignores SIGTERM (and a grandchild that does too) is
 * killed with SIGKILL after its stoptime by `controller programs stop`, and
 * `controller shutdown` stops an agent cleanly, its programs the same way.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { World } from "./harness.ts";
import {
  closeWorld,
  marker,
  processesWith,
  supervisingAgent,
  writeConfig,
} from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** sh ignores TERM, and so do the two sleeps it starts (ignored signals stay ignored across exec). */
function stubborn(tag: string, stoptime: number): string {
  return `programs:
  stubborn:
    cmd: sh -c 'trap "" TERM; sleep 1001.${tag} & exec sleep 1000.${tag}'
    starttime: 0.3
    stoptime: ${stoptime}
  polite:
    cmd: sleep 1002.${tag}
    starttime: 0.3
`;
}

Deno.test(
  "a program ignoring SIGTERM is killed after stoptime, grandchildren included",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const { log } = await supervisingAgent(world, "h1", writeConfig(world, stubborn(tag, 2)));
      const running = await log.reached("stubborn", "RUNNING");
      await log.reached("polite", "RUNNING");
      strictEqual(processesWith(`1000.${tag}`).length, 1, "the leader runs");
      strictEqual(processesWith(`1001.${tag}`).length, 1, "the grandchild runs");

      // The stop takes stoptime (2 s), longer than the ack timeout: the agent's early
      // acknowledgement is what keeps the controller waiting for its answer.
      const r = await world.controller([
        "programs",
        "stop",
        "stubborn",
        "--hosts",
        "h1",
        "--ack-timeout",
        "500ms",
      ]);
      strictEqual(r.code, 0, r.stderr);
      strictEqual(r.stdout, "h1: stubborn: stopped\n");
      strictEqual(r.stderr, "1 host: 1 ok\n");

      // The answer came once the group was gone: SIGTERM ignored, SIGKILL after stoptime.
      deepStrictEqual(processesWith(`1000.${tag}`), []);
      deepStrictEqual(processesWith(`1001.${tag}`), []);
      const kill = log.events.find((e) =>
        e.type === "notice" && e.process === "stubborn" && /SIGKILL/.test(e.message)
      );
      ok(kill, log.events.map((e) => e.message).join("\n"));
      strictEqual(
        kill.message,
        `killing 'stubborn' (${running.pid}) with SIGKILL: still running 2 s after SIGTERM`,
      );
      const stopped = await log.reached("stubborn", "STOPPED");
      strictEqual(stopped.signal, "SIGKILL");
      ok(log.events.indexOf(kill) < log.events.indexOf(stopped));
      deepStrictEqual(log.transitions("stubborn"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>STOPPING",
        "STOPPING>STOPPED",
      ]);
      // The other program is untouched.
      strictEqual(processesWith(`1002.${tag}`).length, 1);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test(
  "controller shutdown stops the agent after answering, its programs first",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const { agent, log } = await supervisingAgent(
        world,
        "h1",
        writeConfig(world, stubborn(tag, 1)),
      );
      await log.reached("stubborn", "RUNNING");
      await log.reached("polite", "RUNNING");

      const r = await world.controller(["programs", "status", "--hosts", "h1"]);
      strictEqual(r.code, 0, r.stderr);
      const down = await world.controller(["shutdown", "--hosts", "h1"]);
      strictEqual(down.code, 0, down.stderr);
      strictEqual(down.stdout, "h1: shutting down\n");
      const status = await agent.proc.status;
      strictEqual(status.code, 0, agent.output.join(""));
      // Every program stopped before the agent exited, the stubborn one with SIGKILL.
      deepStrictEqual(processesWith(tag), []);
      strictEqual((await log.reached("stubborn", "STOPPED")).signal, "SIGKILL");
      strictEqual((await log.reached("polite", "STOPPED")).signal, "SIGTERM");
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);
