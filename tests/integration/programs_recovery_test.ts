/**
 * An agent killed with SIGKILL and started again with the same --config and
 * state dir: what its predecessor left running is stopped (SIGKILL after
 * stoptime for a program ignoring SIGTERM) and started afresh, so exactly
 * one copy of each program runs afterwards, counted in /proc.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { World } from "./harness.ts";
import {
  closeWorld,
  marker,
  processesWith,
  programs,
  supervisingAgent,
  writeConfig,
} from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "an agent SIGKILLed and restarted leaves exactly one copy of each program",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const argv = { plain: `1000.${tag}`, manual: `1001.${tag}`, stubborn: `1002.${tag}` };
      const config = writeConfig(
        world,
        `programs:
  plain:
    cmd: sleep ${argv.plain}
    starttime: 0.2
    stoptime: 1
  manual:
    cmd: sleep ${argv.manual}
    starttime: 0.2
    autostart: false
  stubborn:
    cmd: sh -c 'trap "" TERM; exec sleep ${argv.stubborn}'
    starttime: 0.2
    stoptime: 0.5
`,
      );
      const { agent, log } = await supervisingAgent(world, "h1", config);
      await log.reached("plain", "RUNNING");
      await log.reached("stubborn", "RUNNING");
      const started = await programs(world, "h1", { action: "start", names: ["manual"] });
      strictEqual(started.body.ok, true, JSON.stringify(started.body));
      const old: Record<string, number[]> = {};
      for (const [name, text] of Object.entries(argv)) {
        old[name] = processesWith(text);
        strictEqual(old[name].length, 1, `${name} runs once`);
      }

      await agent.kill();
      // Abandoned, they still run.
      for (const [name, text] of Object.entries(argv)) {
        deepStrictEqual(
          processesWith(text),
          old[name],
        );
      }

      const mark = log.events.length;
      await world.agent("h1", { args: ["--config", config] });
      for (const name of Object.keys(argv)) await log.reached(name, "RUNNING", 2);
      for (const [name, text] of Object.entries(argv)) {
        const now = processesWith(text);
        strictEqual(now.length, 1, `${name}: exactly one copy, got ${now}`);
        ok(now[0] !== old[name][0], `${name} was started afresh`);
      }
      // The new agent said what it did with each leftover.
      const notices = log.events.slice(mark).filter((e) => e.type === "notice").map((e) =>
        e.message
      );
      deepStrictEqual(notices.sort(), [
        `'manual' (pid ${old.manual[0]}) left by an earlier agent: stopped with SIGTERM`,
        `'plain' (pid ${old.plain[0]}) left by an earlier agent: stopped with SIGTERM`,
        `'stubborn' (pid ${
          old.stubborn[0]
        }) left by an earlier agent: killed with SIGKILL after 0.5 s`,
        "starting 'manual' again: it was running when the earlier agent died",
      ]);
      const status = await programs(world, "h1", { action: "status" });
      deepStrictEqual(
        (status.body.processes as { name: string; state: string }[]).map((r) =>
          `${r.name}=${r.state}`
        ),
        ["plain=RUNNING", "manual=RUNNING", "stubborn=RUNNING"],
      );
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);
