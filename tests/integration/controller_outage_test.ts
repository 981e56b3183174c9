/**
 * The controller through failures: the broker stopped during a run and
 * restarted (every exit status still reported, output complete), and an
 * agent killed with SIGKILL during a run (reported lost, no hang).
 */
import assert from "node:assert/strict";
import { alive, jsonLines, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "broker stopped during a run and restarted: every exit status is reported",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["o-1", "o-2", "o-3"]);
      const c = world.spawnController([
        "run",
        "--hosts",
        "o-[1-3]",
        "--json",
        "--",
        "sh",
        "-c",
        "echo before; sleep 2; echo after",
      ]);
      await c.waitFor(
        "three started processes",
        (out) => jsonLines(out).filter((e) => e.type === "started").length === 3,
      );
      const pids = jsonLines(c.stdout).filter((e) => e.type === "started").map((e) =>
        e.pid as number
      );
      await world.broker.stop();
      // The processes end while nobody can hear about it (no event exists for that: poll).
      await until("the processes to end", () => pids.every((p) => !alive(p)), 20_000);
      await world.broker.restart();
      const r = await c.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "3 hosts: 3 ok");
      const all = jsonLines(r.stdout);
      for (const host of ["o-1", "o-2", "o-3"]) {
        const text = all.filter((e) => e.host === host && e.type === "output").map((e) => e.text)
          .join("");
        assert.equal(text, "before\nafter\n", `${host}: output complete and in order`);
        const exit = all.find((e) => e.host === host && e.type === "exit");
        assert.equal(exit?.code, 0);
      }
    } finally {
      await world.close();
    }
  },
);

Deno.test("an agent killed with SIGKILL during a run is reported lost", opts, async () => {
  const world = await World.create();
  try {
    const agents = await world.agentsNamed(["l-1", "l-2", "l-3"], {
      args: ["--heartbeat", "300ms"],
    });
    const c = world.spawnController(["run", "--hosts", "l-[1-3]", "--json", "--", "sleep", "2"]);
    await c.waitFor(
      "three started processes",
      (out) => jsonLines(out).filter((e) => e.type === "started").length === 3,
    );
    await agents[1].kill();
    const r = await c.result(30_000);
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.at(-1), "3 hosts: 2 ok, 1 lost (l-2)");
    assert.match(lines.at(-2)!, /^l-2: ELOST no heartbeat from l-2 for \d+\.\ds$/);
    const error = jsonLines(r.stdout).find((e) => e.type === "error");
    assert.equal((error?.error as { code: string }).code, "ELOST");
  } finally {
    await world.close();
  }
});

Deno.test(
  "an agent stopped cleanly during a run reports the exit of what it stopped",
  opts,
  async () => {
    const world = await World.create();
    try {
      const [b1] = await world.agentsNamed(["b-1", "b-2"]);
      const c = world.spawnController([
        "run",
        "--hosts",
        "b-[1-2]",
        "--json",
        "--",
        "sleep",
        "600",
      ]);
      await c.waitFor(
        "two started processes",
        (out) => jsonLines(out).filter((e) => e.type === "started").length === 2,
      );
      const id = jsonLines(c.stdout).find((e) => e.type === "started")!.id as string;
      // b-1 says bye, then stops its processes with SIGTERM and reports their exit.
      await b1.stop();
      const k = await world.controller([
        "kill",
        "--hosts",
        "b-2",
        "--signal",
        "KILL",
        "--grace",
        "0",
        id,
      ]);
      assert.equal(k.code, 0, k.stderr);
      const r = await c.result(30_000);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        "b-1: killed by SIGTERM\nb-2: killed by SIGKILL\n2 hosts: 0 ok, 2 failed (b-[1-2])\n",
      );
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "an agent SIGKILLed and restarted during a run: the process lives on, every line and its status arrive",
  opts,
  async () => {
    const world = await World.create();
    try {
      const [a] = await world.agentsNamed(["re-1"]);
      const script = "for i in $(seq 1 60); do echo line $i; sleep 0.05; done; exit 3";
      const c = world.spawnController([
        "run",
        "--hosts",
        "re-1",
        "--json",
        "--",
        "sh",
        "-c",
        script,
      ]);
      await c.waitFor("some output", (out) => jsonLines(out).some((e) => e.type === "output"));
      const pid = jsonLines(c.stdout).find((e) => e.type === "started")!.pid as number;
      await a.kill();
      // Its child is the keeper's: it goes on while no agent runs.
      Deno.kill(pid, "SIGCONT"); // throws if the process is gone
      await world.agent("re-1");
      const r = await c.result(30_000);
      const events = jsonLines(r.stdout);
      const text = events.filter((e) => e.type === "output").map((e) => e.text as string).join("");
      const want = Array.from({ length: 60 }, (_, i) => `line ${i + 1}\n`).join("");
      assert.equal(text, want);
      const exit = events.find((e) => e.type === "exit")!;
      assert.equal(exit.code, 3);
      assert.equal(r.code, 1, r.stderr);
    } finally {
      await world.close();
    }
  },
);
