/**
 * An agent killed with SIGKILL and started again: the processes its
 * predecessor left are stopped (SIGKILL after stoptime for a stubborn one),
 * then started afresh, so exactly one copy of each program runs. The
 * predecessor is a real process (supervisor_fixture_agent.ts) killed for real.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { TuttiError } from "../../protocol/errors.ts";
import { Supervisor } from "../../agent/supervisor/supervisor.ts";
import { alive, Recorder } from "./supervisor_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const FIXTURE = new URL("./supervisor_fixture_agent.ts", import.meta.url).pathname;

Deno.test(
  "an agent killed with SIGKILL and restarted never leaves two copies running",
  opts,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "tutti-sup-" });
    const stateDir = `${dir}/state`;
    const tag = String(Math.floor(Math.random() * 1e6)).padStart(6, "0");
    const durations = { sleeper: `1000.${tag}`, manual: `1001.${tag}`, stubborn: `1002.${tag}` };
    const config = `${dir}/programs.yaml`;
    Deno.writeTextFileSync(
      config,
      `programs:
  sleeper:
    cmd: sleep ${durations.sleeper}
    starttime: 0.2
    stoptime: 1
  manual:
    cmd: sleep ${durations.manual}
    starttime: 0.2
    stoptime: 1
    autostart: false
  stubborn:
    cmd: sh -c 'trap "" TERM; exec sleep ${durations.stubborn}'
    starttime: 0.2
    stoptime: 0.5
`,
    );
    let sup: Supervisor | null = null;
    const old = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE, stateDir, config, "manual"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      // The predecessor reports each process RUNNING on its stdout.
      const oldPids: Record<string, number> = {};
      const lines = old.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      while (Object.keys(oldPids).length < 3) {
        const { done, value } = await lines.read();
        if (done) throw new Error("the first agent ended early");
        buffered += value;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const { process, pid } = JSON.parse(buffered.slice(0, nl));
          oldPids[process] = pid;
          buffered = buffered.slice(nl + 1);
        }
      }
      for (const [name, duration] of Object.entries(durations)) {
        deepStrictEqual(sleeping(duration), [oldPids[name]], `${name} runs once`);
      }

      // While the first agent lives, nobody else may supervise from its state dir.
      let refused: unknown = null;
      await Supervisor.open({ stateDir }).catch((e) => refused = e);
      ok(refused instanceof TuttiError && refused.code === "EEXIST", String(refused));

      old.kill("SIGKILL");
      await old.status;
      await lines.cancel().catch(() => {});
      // Abandoned, its programs still run.
      for (const pid of Object.values(oldPids)) ok(alive(pid));

      const rec = new Recorder();
      sup = await Supervisor.open({ stateDir, onEvent: rec.listen });
      // open() has stopped every leftover before returning.
      for (const pid of Object.values(oldPids)) ok(!alive(pid), `old pid ${pid} is gone`);
      const notices = rec.events.filter((e) => e.type === "notice").map((e) => e.message).sort();
      deepStrictEqual(notices, [
        `'manual' (pid ${oldPids.manual}) left by an earlier agent: stopped with SIGTERM`,
        `'sleeper' (pid ${oldPids.sleeper}) left by an earlier agent: stopped with SIGTERM`,
        `'stubborn' (pid ${oldPids.stubborn}) left by an earlier agent: killed with SIGKILL after 0.5 s`,
      ]);

      await sup.load({ path: config });
      const fresh: Record<string, number> = {};
      for (const name of Object.keys(durations)) {
        fresh[name] = (await rec.reached(name, "RUNNING")).pid!;
      }
      // `manual` (autostart false) was running: it is started again.
      ok(rec.events.some((e) => e.message.includes("starting 'manual' again")));
      for (const [name, duration] of Object.entries(durations)) {
        deepStrictEqual(sleeping(duration), [fresh[name]], `exactly one ${name}`);
      }
      // A clean shutdown leaves nothing for the next agent to clean up.
      await sup.shutdown();
      sup = null;
      const state = JSON.parse(Deno.readTextFileSync(`${stateDir}/supervisor.json`));
      deepStrictEqual(state.runs, []);
      for (const duration of Object.values(durations)) strictEqual(sleeping(duration).length, 0);
    } finally {
      try {
        old.kill("SIGKILL");
      } catch {
        // already dead
      }
      await sup?.shutdown();
      for (const duration of Object.values(durations)) {
        for (const pid of sleeping(duration)) Deno.kill(pid, "SIGKILL");
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

/** Live `sleep DURATION` processes. */
function sleeping(duration: string): number[] {
  const marker = `sleep\0${duration}\0`;
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) {
        if (alive(Number(e.name))) out.push(Number(e.name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
