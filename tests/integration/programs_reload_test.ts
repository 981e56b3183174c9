/**
 * Reloads through a real agent: SIGHUP, `controller programs reload` and
 * `controller programs apply` each restart only what changed (the others
 * keep their pids), and a bad file keeps the running configuration while
 * the refusal names the file, line and key (in the event log, on
 * `P.log.<host>` and in the controller's error).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { World } from "./harness.ts";
import {
  closeWorld,
  eventLogLines,
  LogWatch,
  marker,
  programs,
  supervisingAgent,
  writeConfig,
} from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function config(tag: string, b: string, aExtra = ""): string {
  return `programs:
  a:
    cmd: sleep 1000.${tag}
    starttime: 0.2
    stoptime: 1${aExtra}
  b:
    cmd: ${b}
    starttime: 0.2
    stoptime: 1
  c:
    cmd: sleep 1002.${tag}
    numprocs: 2
    starttime: 0.2
    stoptime: 1
`;
}

/** name → pid of every process, from `status`. */
async function pids(world: World): Promise<Record<string, number | null>> {
  const r = await programs(world, "h1", { action: "status" });
  strictEqual(r.body.ok, true, JSON.stringify(r.body));
  const out: Record<string, number | null> = {};
  for (const row of r.body.processes as { name: string; pid: number | null }[]) {
    out[row.name] = row.pid;
  }
  return out;
}

/** Waits until every process is RUNNING (as many RUNNING events as given per process). */
async function running(log: LogWatch, counts: Record<string, number>): Promise<void> {
  for (const [name, n] of Object.entries(counts)) await log.reached(name, "RUNNING", n);
}

Deno.test(
  "reloads restart only what changed; a bad file changes nothing and names file:line:key",
  opts,
  async () => {
    const world = await World.create();
    try {
      const tag = marker();
      const path = writeConfig(world, config(tag, `sleep 1001.${tag}`));
      const { agent, log } = await supervisingAgent(world, "h1", path);
      await running(log, { a: 1, b: 1, "c:0": 1, "c:1": 1 });
      const before = await pids(world);

      // 1. SIGHUP after changing b: b restarts, the others keep their pids.
      writeConfig(world, config(tag, `sleep 1003.${tag}`));
      const mark = log.events.length;
      Deno.kill(agent.pid, "SIGHUP");
      const hup = await log.waitFor((e) => e.type === "reload", "the SIGHUP reload", 20_000, mark);
      strictEqual(hup.ok, true);
      deepStrictEqual(hup.changed, ["b"]);
      deepStrictEqual([hup.added, hup.removed], [[], []]);
      await running(log, { b: 2 });
      const afterHup = await pids(world);
      ok(afterHup.b !== before.b, "b was restarted");
      deepStrictEqual(
        [afterHup.a, afterHup["c:0"], afterHup["c:1"]],
        [before.a, before["c:0"], before["c:1"]],
      );

      // 2. `controller programs reload` after changing a.
      writeConfig(world, config(tag, `sleep 1003.${tag}`, "\n    env: {X: '1'}"));
      const reload = await world.controller(["programs", "reload", "--hosts", "h1"]);
      strictEqual(reload.code, 0, reload.stderr);
      strictEqual(reload.stdout, `h1: ${path}: changed a\n`);
      await running(log, { a: 2 });
      const afterReload = await pids(world);
      ok(afterReload.a !== before.a, "a was restarted");
      deepStrictEqual(
        [afterReload.b, afterReload["c:0"], afterReload["c:1"]],
        [afterHup.b, before["c:0"], before["c:1"]],
      );

      // 3. A bad file: SIGHUP and the controller are both refused, nothing changes.
      writeConfig(world, config(tag, `sleep 1003.${tag}`, "\n    autorestart: sometimes"));
      const where = `${path}:6: programs.a.autorestart: expected always, never or unexpected`;
      const mark2 = log.events.length;
      Deno.kill(agent.pid, "SIGHUP");
      const refused = await log.waitFor((e) => e.type === "reload", "the refusal", 20_000, mark2);
      strictEqual(refused.ok, false);
      ok(refused.message.includes(where), refused.message);
      const inFile = eventLogLines(`${agent.stateDir}/events.log`).filter((l) =>
        l.type === "reload" && l.ok === false
      );
      strictEqual(inFile.length, 1);
      ok(String(inFile[0].message).includes(where));
      const bad = await world.controller(["programs", "reload", "--hosts", "h1"]);
      strictEqual(bad.code, 1);
      strictEqual(bad.stdout, "");
      ok(bad.stderr.includes(`h1: EINVAL ${where}`), bad.stderr);
      ok(bad.stderr.endsWith("1 host: 0 ok, 1 failed (h1)\n"), bad.stderr);
      deepStrictEqual(await pids(world), afterReload);

      // 4. `controller programs apply`: c gets a third process, b leaves, the rest stays.
      const pushed = writeConfig(
        world,
        `programs:
  a:
    cmd: sleep 1000.${tag}
    starttime: 0.2
    stoptime: 1
    env: {X: '1'}
  c:
    cmd: sleep 1002.${tag}
    numprocs: 3
    starttime: 0.2
    stoptime: 1
`,
        "pushed.yaml",
      );
      const apply = await world.controller(["programs", "apply", pushed, "--hosts", "h1"]);
      strictEqual(apply.code, 0, apply.stderr);
      strictEqual(apply.stdout, `h1: ${pushed}: added c:2; removed b\n`);
      await running(log, { "c:2": 1 });
      await log.reached("b", "STOPPED");
      const afterApply = await pids(world);
      deepStrictEqual(Object.keys(afterApply), ["a", "c:0", "c:1", "c:2"]);
      deepStrictEqual(
        [afterApply.a, afterApply["c:0"], afterApply["c:1"]],
        [afterReload.a, before["c:0"], before["c:1"]],
      );
      const status = await programs(world, "h1", { action: "status" });
      strictEqual(status.body.config, pushed);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);

Deno.test("an agent without --config takes a pushed configuration", opts, async () => {
  const world = await World.create();
  try {
    const tag = marker();
    const log = await LogWatch.open(world, "h1");
    await world.agent("h1");
    const empty = await programs(world, "h1", { action: "status" });
    deepStrictEqual([empty.body.processes, empty.body.config], [[], ""]);
    const nothing = await programs(world, "h1", { action: "reload" });
    strictEqual(nothing.body.ok, false);
    deepStrictEqual((nothing.body.error as { code: string }).code, "EINVAL");

    const r = await programs(world, "h1", {
      action: "apply",
      config: `programs:\n  p:\n    cmd: sleep 1000.${tag}\n    starttime: 0.2\n`,
      file: "lab.yaml",
    });
    strictEqual(r.body.ok, true, JSON.stringify(r.body));
    deepStrictEqual(r.body.reload, {
      source: "lab.yaml",
      added: ["p"],
      changed: [],
      removed: [],
      unchanged: [],
    });
    await log.reached("p", "RUNNING");

    const bad = await programs(world, "h1", {
      action: "apply",
      config: "programs:\n  p:\n    cmd: sleep 1\n    colour: blue\n",
      file: "lab.yaml",
    });
    strictEqual(bad.body.ok, false);
    strictEqual(bad.headers["Tutti-Error"], "EINVAL");
    strictEqual(
      (bad.body.error as { message: string }).message,
      "lab.yaml:4: programs.p.colour: unknown key",
    );
    log.close();
  } finally {
    await closeWorld(world);
  }
});
