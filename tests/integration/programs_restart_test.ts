/**
 * Restarts as supervisord makes them, through a real agent started with
 * `--config`: a process killed by hand comes back (and the event log file
 * and `P.log.<host>` say it died unexpectedly), a program that exits at
 * once ends FATAL after exactly `startretries` retries, and `exitcodes`
 * with `autorestart: unexpected` tell expected exits from unexpected ones.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { World } from "./harness.ts";
import {
  closeWorld,
  eventLogLines,
  marker,
  processesWith,
  programs,
  supervisingAgent,
  writeConfig,
} from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a process killed by hand is restarted, and the event log says it died unexpectedly",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const config = writeConfig(
        world,
        `programs:
  sleeper:
    cmd: sleep 1000.${tag}
    starttime: 0.3
    stoptime: 1
`,
      );
      const { agent, log } = await supervisingAgent(world, "h1", config);
      const first = await log.reached("sleeper", "RUNNING");
      deepStrictEqual(processesWith(tag), [first.pid]);

      Deno.kill(first.pid!, "SIGKILL");
      const exited = await log.reached("sleeper", "EXITED");
      strictEqual(exited.expected, false);
      strictEqual(exited.signal, "SIGKILL");
      strictEqual(exited.code, null);
      strictEqual(exited.message, "exited: sleeper (terminated by SIGKILL; not expected)");
      const again = await log.reached("sleeper", "RUNNING", 2);
      ok(again.pid !== first.pid);
      deepStrictEqual(processesWith(tag), [again.pid]);
      deepStrictEqual(log.transitions("sleeper"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
        "EXITED>STARTING",
        "STARTING>RUNNING",
      ]);
      const i = log.events.indexOf(exited);
      strictEqual(log.headers[i]["Tutti-Type"], "state");
      strictEqual(exited.host, "h1");

      // The same event, in the file, with an ISO timestamp.
      const lines = eventLogLines(`${agent.stateDir}/events.log`);
      const line = lines.find((l) => l.to === "EXITED" && l.process === "sleeper");
      ok(line, JSON.stringify(lines));
      strictEqual(line.expected, false);
      strictEqual(line.signal, "SIGKILL");
      strictEqual(line.message, exited.message);
      strictEqual(line.time, new Date(exited.time as number).toISOString());
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test(
  "a program that exits at once ends FATAL after exactly startretries retries",
  opts,
  async () => {
    const world = await World.create();
    try {
      const config = writeConfig(
        world,
        `programs:
  crash:
    cmd: sh -c 'exit 1'
    starttime: 1
    startretries: 2
`,
      );
      const { log } = await supervisingAgent(world, "h1", config);
      await log.reached("crash", "FATAL");
      // One start, then startretries (2) retries, each dying before starttime.
      deepStrictEqual(log.transitions("crash"), [
        "STOPPED>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>FATAL",
      ]);
      const status = await world.controller(["programs", "status", "--hosts", "h1"]);
      strictEqual(status.code, 0, status.stderr);
      strictEqual(
        status.stdout,
        `h1: ${"crash".padEnd(33)}${
          "FATAL".padEnd(10)
        }Exited too quickly (process log may have details)\n`,
      );
      // FATAL stays FATAL: no later start.
      const reply = await programs(world, "h1", { action: "status", names: ["crash"] });
      const rows = reply.body.processes as Record<string, unknown>[];
      strictEqual(rows[0].state, "FATAL");
      strictEqual(log.transitions("crash").length, 7);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test(
  "exitcodes and autorestart: unexpected tell expected exits from unexpected ones",
  opts,
  async () => {
    const world = await World.create();
    try {
      const flag = `${world.dir}/second-run`;
      // `flaky` exits 3 (unexpected) the first time, then 2 (expected) once restarted.
      const config = writeConfig(
        world,
        `programs:
  expected:
    cmd: sh -c 'sleep 0.4; exit 2'
    starttime: 0.2
    exitcodes: [0, 2]
    autorestart: unexpected
  flaky:
    cmd: sh -c 'sleep 0.4; if [ -e ${flag} ]; then exit 2; fi; touch ${flag}; exit 3'
    starttime: 0.2
    exitcodes: [0, 2]
    autorestart: unexpected
`,
      );
      const { log } = await supervisingAgent(world, "h1", config);
      const expected = await log.reached("expected", "EXITED");
      strictEqual(expected.expected, true);
      strictEqual(expected.code, 2);
      strictEqual(expected.message, "exited: expected (exit status 2; expected)");

      const unexpected = await log.reached("flaky", "EXITED", 1);
      strictEqual(unexpected.expected, false);
      strictEqual(unexpected.code, 3);
      strictEqual(unexpected.message, "exited: flaky (exit status 3; not expected)");
      const second = await log.reached("flaky", "EXITED", 2);
      strictEqual(second.expected, true);
      strictEqual(second.code, 2);
      deepStrictEqual(log.transitions("flaky"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
        "EXITED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
      ]);

      // The expected exit was not followed by a restart: both stay EXITED.
      const reply = await programs(world, "h1", { action: "status" });
      const states = (reply.body.processes as Record<string, unknown>[]).map((r) =>
        `${r.name}=${r.state}`
      );
      deepStrictEqual(states, ["expected=EXITED", "flaky=EXITED"]);
      deepStrictEqual(log.transitions("expected"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
      ]);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test(
  "a process killed by a real-time signal exits, then restarts or not as autorestart says",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const config = writeConfig(
        world,
        `programs:
  once:
    cmd: sleep 1000.${tag}
    starttime: 0.3
    autorestart: never
  again:
    cmd: sleep 1001.${tag}
    starttime: 0.3
    autorestart: unexpected
`,
      );
      const { log } = await supervisingAgent(world, "h1", config);
      const once = await log.reached("once", "RUNNING");
      const again = await log.reached("again", "RUNNING");
      // Deno.kill cannot send a real-time signal: the shell's kill can.
      await new Deno.Command("sh", { args: ["-c", `kill -34 ${once.pid}; kill -50 ${again.pid}`] })
        .output();

      const exited = await log.reached("once", "EXITED");
      deepStrictEqual([exited.code, exited.signal, exited.expected], [null, "SIGRT34", false]);
      strictEqual(exited.message, "exited: once (terminated by SIGRT34; not expected)");
      const second = await log.reached("again", "EXITED");
      strictEqual(second.signal, "SIGRT50");
      const back = await log.reached("again", "RUNNING", 2);
      ok(back.pid !== again.pid);

      // The controller parses the status rows: `once` stayed EXITED, with its signal.
      const status = await world.controller(["programs", "status", "--hosts", "h1", "--json"]);
      strictEqual(status.code, 0, status.stderr);
      const rows = status.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      deepStrictEqual(
        rows.map((r) => [r.name, r.state, r.exitCode, r.exitSignal]),
        [["once", "EXITED", null, "SIGRT34"], ["again", "RUNNING", null, "SIGRT50"]],
      );
      deepStrictEqual(log.transitions("once"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
      ]);
      log.close();
    } finally {
      // Not closeWorld: an agent whose run never ends (the bug this tests) would never stop;
      // world.close() stops it with SIGKILL after a while.
      await world.close();
    }
  },
);
