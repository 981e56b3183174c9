/**
 * The agent's run path against a real broker: ping, spawn errors as data,
 * exit codes and deaths by signal in `exit` and `ps`, event order, logs,
 * env/cwd/shell, timeouts.
 */
import assert from "node:assert/strict";
import { ask, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("ping answers with name, version, labels and machine facts", opts, async () => {
  const world = await World.create();
  try {
    const agent = await world.agent("a1", { labels: { cluster: "gros", rack: "3" } });
    const r = await ask(world, "a1", "ping");
    assert.deepEqual(r.body.ok, true);
    assert.deepEqual(r.body.v, 1);
    assert.deepEqual(r.body.host, "a1");
    assert.deepEqual(r.body.labels, { cluster: "gros", rack: "3" });
    assert.deepEqual(r.body.pid, agent.pid);
    assert.deepEqual(r.body.running, 0);
    assert.deepEqual(r.body.heartbeat, 5000);
    assert.match(String(r.body.version), /^\d+\.\d+\.\d+/);
    assert.ok((r.body.cores as number) >= 1);
    assert.ok((r.body.memory as number) > 0);
    assert.ok((r.body.boot as number) < (r.body.started as number));
    assert.deepEqual(r.headers["Tutti-Type"], "ping");
    assert.deepEqual(r.headers["Tutti-Host"], "a1");
    assert.deepEqual(r.headers["Tutti-Version"], "1");
    assert.deepEqual(r.headers["Tutti-Encoding"], "cbor");
  } finally {
    await world.close();
  }
});

Deno.test("spawn failures come back as errors naming the path", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const plain = `${world.dir}/plain.txt`;
    await Deno.writeTextFile(plain, "not a program\n");

    const missing = await ask(world, "a1", "run", { argv: ["./no-such-program", "x"] });
    assert.deepEqual(missing.body.ok, false);
    assert.deepEqual(errorOf(missing).code, "ENOENT");
    assert.deepEqual(
      errorOf(missing).message,
      "spawn ./no-such-program: no such file or directory",
    );
    assert.deepEqual(missing.headers["Tutti-Error"], "ENOENT");

    const noExec = await ask(world, "a1", "run", { argv: [plain] });
    assert.deepEqual(errorOf(noExec).code, "EACCES");
    assert.deepEqual(errorOf(noExec).message, `spawn ${plain}: permission denied`);

    const noCwd = await ask(world, "a1", "run", { argv: ["true"], cwd: `${world.dir}/nowhere` });
    assert.deepEqual(errorOf(noCwd).code, "ENOENT");
    assert.match(
      errorOf(noCwd).message,
      /working directory .*\/nowhere: no such file or directory/,
    );

    const fileCwd = await ask(world, "a1", "run", { argv: ["true"], cwd: plain });
    assert.deepEqual(errorOf(fileCwd).code, "ENOTDIR");

    const notDir = await ask(world, "a1", "run", { argv: [`${plain}/x`] });
    assert.deepEqual(errorOf(notDir).code, "ENOTDIR");

    // Nothing was recorded for failed spawns.
    const ps = await ask(world, "a1", "ps");
    assert.deepEqual(ps.body.procs, []);
  } finally {
    await world.close();
  }
});

Deno.test("exit codes and deaths by signal are reported exactly", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    const cases: [string, string, number | null, string | null][] = [
      ["ok", "exit 0", 0, null],
      ["three", "exit 3", 3, null],
      ["big", "exit 255", 255, null],
      ["killed", "kill -KILL $$", null, "SIGKILL"],
      ["termed", "kill -TERM $$", null, "SIGTERM"],
      ["segv", "kill -SEGV $$", null, "SIGSEGV"],
      // Real-time signals, which Deno cannot name: by their number.
      ["rtmin", "kill -34 $$", null, "SIGRT34"],
      ["rtmax", "kill -64 $$", null, "SIGRT64"],
    ];
    for (const [id, shell] of cases) {
      const r = await ask(world, "a1", "run", { id, shell });
      assert.deepEqual(r.body.ok, true, JSON.stringify(r.body));
      assert.deepEqual(r.headers["Tutti-Proc"], id);
    }
    for (const [id, , code, signal] of cases) {
      const exit = await watch.exit(id);
      assert.deepEqual([exit.code, exit.signal, exit.state], [code, signal, "exited"], id);
    }
    const ps = await ask(world, "a1", "ps");
    const procs = ps.body.procs as Record<string, unknown>[];
    for (const [id, , code, signal] of cases) {
      const p = procs.find((x) => x.id === id);
      assert.ok(p, `ps lists ${id}`);
      assert.deepEqual(
        [p.code, p.signal, p.state, p.timedOut],
        [code, signal, "exited", false],
        id,
      );
      assert.ok((p.ended as number) >= (p.started as number));
    }
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test(
  "controller run of a process killed by a real-time signal ends and says so",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1");
      const run = world.spawnController(["run", "--hosts", "a1", "--", "sh", "-c", "kill -34 $$"]);
      const r = await run.result(20_000);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /killed by SIGRT34/);
      const json = await world.spawnController([
        "run",
        "--hosts",
        "a1",
        "--json",
        "sh",
        "-c",
        "kill -40 $$",
      ])
        .result(20_000);
      const lines = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      const exit = lines.find((e) => e.type === "exit");
      assert.ok(exit, json.stdout);
      assert.deepEqual([exit.code, exit.signal], [null, "SIGRT40"]);
    } finally {
      await world.close();
    }
  },
);

Deno.test("events come in order: started (seq 0), output, exit last", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1", "ev");
    const r = await ask(world, "a1", "run", {
      id: "ev",
      shell: 'echo "out:$GREETING"; echo err >&2; pwd',
      env: { GREETING: "hi" },
      cwd: world.dir,
    });
    const proc = r.body.proc as Record<string, unknown>;
    assert.deepEqual(proc.argv, ["/bin/sh", "-c", 'echo "out:$GREETING"; echo err >&2; pwd']);
    assert.deepEqual(proc.state, "running");
    assert.deepEqual(r.body.existing, false);
    const exit = await watch.exit("ev");
    const events = watch.of("ev");
    assert.deepEqual(events[0].event, "started");
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
    assert.deepEqual(events.at(-1)!.event, "exit");
    assert.deepEqual(watch.text("ev", "stdout"), `out:hi\n${world.dir}\n`);
    assert.deepEqual(watch.text("ev", "stderr"), "err\n");
    assert.deepEqual(exit.stdout, `out:hi\n${world.dir}\n`.length);
    assert.deepEqual(exit.stderr, 4);
    const first = watch.of("ev", "stdout")[0];
    assert.deepEqual(first.headers["Tutti-Offset"], "0");
    assert.deepEqual(first.headers["Tutti-Stream"], "stdout");
    assert.deepEqual(first.headers["Tutti-Encoding"], "raw");
    assert.deepEqual(first.headers["Tutti-Proc"], "ev");

    const logs = await ask(world, "a1", "logs", { proc: "ev", stream: "stderr" });
    assert.deepEqual(new TextDecoder().decode(logs.body.data as Uint8Array), "err\n");
    assert.deepEqual([logs.body.size, logs.body.complete], [4, true]);
    const part = await ask(world, "a1", "logs", { proc: "ev", offset: 4, limit: 2 });
    assert.deepEqual(new TextDecoder().decode(part.body.data as Uint8Array), "hi");
    assert.deepEqual(part.body.complete, false);
    const unknown = await ask(world, "a1", "logs", { proc: "nope" });
    assert.deepEqual(errorOf(unknown).code, "ESRCH");
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test(
  "clearEnv starts from an empty environment (plus TUTTI_*); live:false streams nothing",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("a1");
      const watch = await ProcWatch.open(world, "a1");
      await ask(world, "a1", "run", {
        id: "env",
        argv: ["/usr/bin/env"],
        clearEnv: true,
        env: { ONLY: "this" },
      });
      await watch.exit("env");
      // Only the request's env and the two variables every child gets.
      assert.deepEqual(watch.text("env").trim().split("\n").sort(), [
        "ONLY=this",
        "TUTTI_HOST=a1",
        "TUTTI_PROC=env",
      ]);

      await ask(world, "a1", "run", { id: "quiet", shell: "echo spooled", live: false });
      const exit = await watch.exit("quiet");
      assert.deepEqual(watch.of("quiet", "stdout"), []);
      assert.deepEqual(exit.stdout, 8);
      const logs = await ask(world, "a1", "logs", { proc: "quiet" });
      assert.deepEqual(new TextDecoder().decode(logs.body.data as Uint8Array), "spooled\n");
      watch.close();
    } finally {
      await world.close();
    }
  },
);

Deno.test("a timeout stops the group and says timedOut", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    await ask(world, "a1", "run", { id: "slow", argv: ["sleep", "1000"], timeout: 0.2 });
    const exit = await watch.exit("slow");
    assert.deepEqual([exit.signal, exit.code, exit.timedOut], ["SIGTERM", null, true]);

    // Ignores SIGTERM: the grace period's SIGKILL ends it.
    await ask(world, "a1", "run", {
      id: "stubborn",
      shell: "trap '' TERM; sleep 1000",
      timeout: 0.2,
      grace: 0.3,
    });
    const exit2 = await watch.exit("stubborn");
    assert.deepEqual([exit2.signal, exit2.timedOut], ["SIGKILL", true]);
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test("a timeout past setTimeout's limit (30d) lets the process finish", opts, async () => {
  // setTimeout fires at once past 2^31-1 ms (24.8 days): this run used to be killed at once.
  const world = await World.create();
  try {
    await world.agent("a1");
    const r = await world.controller([
      "run",
      "--hosts",
      "a1",
      "--timeout",
      "30d",
      "--",
      "sh",
      "-c",
      "sleep 1; echo finished",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /finished/);
  } finally {
    await world.close();
  }
});

function errorOf(r: { body: Record<string, unknown> }): { code: string; message: string } {
  return r.body.error as { code: string; message: string };
}

Deno.test("programs are looked up in the request's PATH; a directory is EACCES", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const bin = `${world.dir}/bin`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(`${bin}/hello-tool`, "#!/bin/sh\necho tool:$1\n", { mode: 0o755 });
    const watch = await ProcWatch.open(world, "a1");
    const r = await ask(world, "a1", "run", {
      id: "tool",
      argv: ["hello-tool", "x"],
      env: { PATH: `/nonexistent:${bin}:/usr/bin:/bin` },
    });
    assert.equal(r.body.ok, true, JSON.stringify(r.body));
    await watch.exit("tool");
    assert.equal(watch.text("tool"), "tool:x\n");

    const notInPath = await ask(world, "a1", "run", { argv: ["hello-tool"] });
    assert.deepEqual(errorOf(notInPath), {
      code: "ENOENT",
      message: "spawn hello-tool: no such file or directory",
    });
    const dir = await ask(world, "a1", "run", { argv: [bin] });
    assert.equal(errorOf(dir).code, "EACCES");
    const relative = await ask(world, "a1", "run", { id: "rel", argv: ["./hello-tool"], cwd: bin });
    assert.equal(relative.body.ok, true, JSON.stringify(relative.body));
    await watch.exit("rel");
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test("a signal sent right after run reaches the new process", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("a1");
    const watch = await ProcWatch.open(world, "a1");
    for (let i = 0; i < 5; i++) {
      const id = `quick${i}`;
      // Both requests leave together; the agent handles them back to back.
      const [run, sig] = await Promise.all([
        ask(world, "a1", "run", { id, argv: ["sleep", "1000"] }),
        ask(world, "a1", "signal", { procs: [id], signal: "SIGTERM" }),
      ]);
      assert.equal(run.body.ok, true);
      assert.deepEqual(sig.body.results, [{ proc: id, ok: true }]);
      const exit = await watch.exit(id, 5000);
      assert.equal(exit.signal, "SIGTERM");
    }
    watch.close();
  } finally {
    await world.close();
  }
});
