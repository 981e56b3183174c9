/**
 * An agent killed with SIGKILL and started again with the same --config and
 * state dir: the programs its predecessor supervised were never stopped
 * (the keeper holds them), and the new agent adopts them: the same pids, one
 * copy each, counted in /proc; their output goes on into their files while
 * no agent runs; their stdin still works; and supervisord's semantics hold
 * afterwards (an adopted process that dies is restarted; one whose
 * definition changed while no agent ran is replaced).
 */
import { deepStrictEqual, match, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ask, exists, until, World } from "./harness.ts";
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
  "an agent SIGKILLed and restarted adopts its programs: same pids, output and input on, autorestart after",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      // Each process's command line carries a mark to find it by in /proc.
      const marks: Record<string, string> = {
        ticker: `ticker-${tag}`,
        manual: `1001.${tag}`,
        echo: `echo-${tag}`,
        conf: `1002.${tag}`,
      };
      const mark = (name: string) => marks[name];
      const log = (name: string) => `${world.dir}/${name}.log`;
      const yaml = (version: string) =>
        `programs:
  ticker:
    cmd: sh -c 'while true; do echo tick; sleep 0.05; done' ${mark("ticker")}
    starttime: 0.2
    stdout: ${log("ticker")}
  manual:
    cmd: sleep ${mark("manual")}
    starttime: 0.2
    autostart: false
  echo:
    cmd: sh -c 'while read line; do echo "got $line"; done' ${mark("echo")}
    starttime: 0.2
    stdout: ${log("echo")}
  conf:
    cmd: sleep ${mark("conf")}
    starttime: 0.2
    env: {VERSION: "${version}"}
`;
      const config = writeConfig(world, yaml("1"));
      const { agent, log: events } = await supervisingAgent(world, "h1", config);
      for (const p of ["ticker", "echo", "conf"]) await events.reached(p, "RUNNING");
      const started = await programs(world, "h1", { action: "start", names: ["manual"] });
      strictEqual(started.body.ok, true, JSON.stringify(started.body));
      const pid = (name: string) => {
        const pids = processesWith(mark(name));
        strictEqual(pids.length, 1, `${name}: one copy, got ${pids}`);
        return pids[0];
      };
      const old = Object.fromEntries(
        ["ticker", "manual", "echo", "conf"].map((n) => [n, pid(n)]),
      );

      await agent.kill();
      // Abandoned, they still run, and the ticker's output still reaches its file.
      for (const [name, p] of Object.entries(old)) strictEqual(pid(name), p);
      const size = Deno.statSync(log("ticker")).size;
      await until(
        "the ticker writing while no agent runs",
        () => Deno.statSync(log("ticker")).size > size,
      );

      // conf's definition changes while no agent runs.
      writeConfig(world, yaml("2"));
      const from = events.events.length;
      await world.agent("h1", { args: ["--config", config] });
      for (const p of ["ticker", "manual", "echo", "conf"]) await events.reached(p, "RUNNING", 2);
      for (const p of ["ticker", "manual", "echo"]) strictEqual(pid(p), old[p], `${p} adopted`);
      notStrictEqual(pid("conf"), old.conf, "conf, changed, was replaced");
      const said = events.events.slice(from).map((e) => e.message as string);
      strictEqual(
        said.filter((m) => /^adopted: '(ticker|manual|echo)' with pid/.test(m)).length,
        3,
      );
      ok(
        said.some((m) =>
          m.includes(`'conf' (pid ${old.conf}) left by an earlier agent is no longer`)
        ),
        said.join("\n"),
      );
      const status = await programs(world, "h1", { action: "status" });
      deepStrictEqual(
        (status.body.processes as { name: string; state: string }[]).map((r) =>
          `${r.name}=${r.state}`
        ),
        ["ticker=RUNNING", "manual=RUNNING", "echo=RUNNING", "conf=RUNNING"],
      );

      // Its stdin is the keeper's: input still reaches the adopted process.
      const input = await ask(world, "h1", "input", {
        name: "echo",
        data: new TextEncoder().encode("hello\n"),
      });
      strictEqual(input.body.ok, true, JSON.stringify(input.body));
      // The keeper creates a program's output file with its first byte.
      await until(
        "the adopted echo answering",
        () => exists(log("echo")) && Deno.readTextFileSync(log("echo")).includes("got hello"),
      );

      // `tail` has the adopted ticker's output.
      const tail = await ask(world, "h1", "tail", { name: "ticker", stream: "stdout", bytes: 100 });
      match(new TextDecoder().decode(tail.body.data as Uint8Array), /tick\n$/);

      // supervisord's semantics go on: the adopted process, killed, is restarted.
      Deno.kill(old.manual, "SIGKILL");
      await events.reached("manual", "RUNNING", 3);
      notStrictEqual(pid("manual"), old.manual);
      events.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test(
  "upgrade in place: not one program is stopped, the new agent adopts them all",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const config = writeConfig(
        world,
        `programs:
  web:
    cmd: sleep 1003.${tag}
    numprocs: 3
    starttime: 0.2
`,
      );
      const { agent, log: events } = await supervisingAgent(world, "h1", config);
      for (const p of ["web:0", "web:1", "web:2"]) await events.reached(p, "RUNNING");
      const before = processesWith(`1003.${tag}`);
      strictEqual(before.length, 3);
      const up = await world.controller(["upgrade", "--hosts", "h1"]);
      strictEqual(up.code, 0, up.stderr);
      for (const p of ["web:0", "web:1", "web:2"]) await events.reached(p, "RUNNING", 2);
      deepStrictEqual(processesWith(`1003.${tag}`), before, "the same three processes");
      ok(events.events.every((e) => e.to !== "STOPPING"), "nothing was stopped");
      ok(agent.output.join("").includes("restarting in place"));
      events.close();
    } finally {
      await closeWorld(world);
    }
  },
);
