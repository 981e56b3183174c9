/**
 * Reloads apply a diff: only changed processes restart, the others keep
 * their pids; a bad file changes nothing and says where it is wrong.
 */
import { deepStrictEqual, notStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { ConfigError } from "../../agent/supervisor/config.ts";
import type { ReloadEvent } from "../../agent/supervisor/events.ts";
import { alive, world } from "./supervisor_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function program(name: string, seconds: number, extra = ""): string {
  return `  ${name}:\n    cmd: sleep ${seconds}\n    starttime: 0.1\n    stoptime: 1\n${extra}`;
}

function pids(rows: { name: string; pid: number | null }[]): Record<string, number | null> {
  return Object.fromEntries(rows.map((r) => [r.name, r.pid]));
}

Deno.test(
  "a reload that changes one program restarts only that one; the others keep their pids",
  opts,
  async () => {
    const w = await world();
    try {
      const path = w.config(
        `programs:\n${program("a", 1000)}${program("b", 1000)}${program("c", 1000)}`,
      );
      const loaded = await w.sup.load({ path });
      deepStrictEqual(loaded.added, ["a", "b", "c"]);
      await Promise.all(["a", "b", "c"].map((n) => w.rec.reached(n, "RUNNING")));
      const before = pids(w.sup.status());
      const eventsOfA = w.rec.states("a").length;

      w.config(`programs:\n${program("a", 1000)}${program("b", 1001)}${program("d", 1000)}`);
      const result = await w.sup.reload();
      deepStrictEqual(result, {
        source: path,
        added: ["d"],
        changed: ["b"],
        removed: ["c"],
        unchanged: ["a"],
      });
      await w.rec.reached("b", "RUNNING", 2);
      await w.rec.reached("d", "RUNNING");
      const after = pids(w.sup.status());
      deepStrictEqual(Object.keys(after), ["a", "b", "d"]);
      strictEqual(after.a, before.a, "a keeps its pid");
      ok(alive(after.a!));
      strictEqual(w.rec.states("a").length, eventsOfA, "a saw no state change");
      notStrictEqual(after.b, before.b);
      ok(!alive(before.b!), "old b is gone");
      ok(!alive(before.c!), "c is stopped");
      deepStrictEqual(w.rec.transitions("c").slice(-2), ["RUNNING>STOPPING", "STOPPING>STOPPED"]);

      const reload = w.eventLogLines().filter((l) => l.type === "reload");
      strictEqual(reload.length, 2);
      deepStrictEqual(
        [reload[1].ok, reload[1].added, reload[1].changed, reload[1].removed, reload[1].message],
        [true, ["d"], ["b"], ["c"], `reloaded ${path}: added d; changed b; removed c`],
      );
    } finally {
      await w.close();
    }
  },
);

Deno.test("a bad reload changes nothing and names file, line and key", opts, async () => {
  const w = await world();
  try {
    const path = w.config(`programs:\n${program("a", 1000)}`);
    await w.sup.load({ path });
    const running = await w.rec.reached("a", "RUNNING");
    w.config(`programs:\n${program("a", 1001)}    autorestart: sometimes\n${program("b", 1000)}`);
    const err = await rejects(w.sup.reload(), (e) => {
      ok(e instanceof ConfigError);
      strictEqual(e.code, "EINVAL");
      strictEqual(
        e.message,
        `${path}:6: programs.a.autorestart: expected always, never or unexpected, got "sometimes"`,
      );
      return true;
    });
    strictEqual(err, undefined);
    deepStrictEqual(w.sup.status().map((r) => [r.name, r.state, r.pid]), [
      ["a", "RUNNING", running.pid],
    ]);
    const refused = w.rec.events.find((e): e is ReloadEvent => e.type === "reload" && !e.ok);
    ok(refused?.message.includes("refused, nothing changed"));
    ok(w.eventLogLines().some((l) => l.type === "reload" && l.ok === false));
    // A good file afterwards is applied normally.
    w.config(`programs:\n${program("a", 1000)}${program("b", 1000)}`);
    deepStrictEqual((await w.sup.reload()).added, ["b"]);
    strictEqual(w.sup.status(["a"])[0].pid, running.pid);
  } finally {
    await w.close();
  }
});

Deno.test(
  "numprocs 2 -> 3 adds one process; reordering env is no change; a running process with autostart false restarts",
  opts,
  async () => {
    const w = await world();
    try {
      const env1 = "    env: {A: 1, B: 2}\n";
      const env2 = "    env: {B: 2, A: 1}\n";
      const path = w.config(
        `programs:\n${program("web", 1000, "    numprocs: 2\n" + env1)}${
          program("manual", 1000, "    autostart: false\n")
        }`,
      );
      await w.sup.load({ path });
      await w.sup.start(["manual"]);
      await w.rec.reached("web:1", "RUNNING");
      const before = pids(w.sup.status());
      w.config(
        `programs:\n${program("web", 1000, "    numprocs: 3\n" + env2)}${
          program("manual", 1001, "    autostart: false\n")
        }`,
      );
      const result = await w.sup.reload();
      deepStrictEqual([result.added, result.changed, result.unchanged], [
        ["web:2"],
        ["manual"],
        ["web:0", "web:1"],
      ]);
      await w.rec.reached("manual", "RUNNING", 2);
      const after = pids(w.sup.status());
      strictEqual(after["web:0"], before["web:0"]);
      strictEqual(after["web:1"], before["web:1"]);
      notStrictEqual(after.manual, before.manual);
    } finally {
      await w.close();
    }
  },
);

Deno.test(
  "a configuration pushed as text loads like a file; errors use its name",
  opts,
  async () => {
    const w = await world();
    try {
      const result = await w.sup.load({
        text: `programs:\n${program("a", 1000, "    autostart: false\n")}`,
        name: "pushed.yaml",
      });
      deepStrictEqual(result.added, ["a"]);
      await rejects(
        w.sup.load({ text: "programs:\n  a:\n    cmd: 5\n", name: "pushed.yaml" }),
        /^ConfigError: pushed\.yaml:3: programs\.a\.cmd: expected a command line/,
      );
      deepStrictEqual((await w.sup.reload()).unchanged, ["a"]);
    } finally {
      await w.close();
    }
  },
);
