/**
 * `controller run` against a real broker and agents as separate processes:
 * expected hosts and "no response", spawn errors, exit codes and deaths by
 * signal, gathered and JSON output, label selection, bad selectors and an
 * unreachable broker.
 */
import assert from "node:assert/strict";
import { freePort, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "fan-out to t-[1-4] with three agents up: t-4 is reported no response; with four, exit 0",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["t-1", "t-2", "t-3"]);
      const cmd = ["--", "sh", "-c", "echo hello; echo oops >&2"];
      const r = await world.controller([
        "run",
        "--hosts",
        "t-[1-4]",
        "--ack-timeout",
        "1s",
        ...cmd,
      ]);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stdout.split("\n").filter(Boolean).sort();
      assert.deepEqual(lines, ["t-1: hello", "t-2: hello", "t-3: hello"]);
      for (const h of ["t-1", "t-2", "t-3"]) assert.ok(r.stderr.includes(`${h}: oops\n`), r.stderr);
      assert.equal(lastLine(r.stderr), "4 hosts: 3 ok, 1 no response (t-4)");

      await world.agent("t-4");
      const all = await world.controller(["run", "--hosts", "t-[1-4]", ...cmd]);
      assert.equal(all.code, 0, all.stderr);
      assert.equal(all.stdout.split("\n").filter(Boolean).length, 4);
      assert.equal(lastLine(all.stderr), "4 hosts: 4 ok");
    } finally {
      await world.close();
    }
  },
);

Deno.test("a missing program is ENOENT on every host, with the path", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["t-1", "t-2", "t-3"]);
    const r = await world.controller(["run", "--hosts", "t-[1-3]", "--", "./no-such-program", "x"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      "t-[1-3]: ENOENT spawn ./no-such-program: no such file or directory\n" +
        "3 hosts: 0 ok, 3 failed (t-[1-3])\n",
    );
    const json = await world.controller(["run", "--hosts", "t-1", "--json", "./no-such-program"]);
    const events = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(events[0], {
      type: "error",
      host: "t-1",
      error: { code: "ENOENT", message: "spawn ./no-such-program: no such file or directory" },
    });
  } finally {
    await world.close();
  }
});

Deno.test("exit codes and deaths by signal are reported exactly, per host", opts, async () => {
  const world = await World.create();
  try {
    // Each agent passes its environment on: the same command ends differently per host.
    await world.agent("t-1", { env: { CODE: "0" } });
    await world.agent("t-2", { env: { CODE: "3" } });
    await world.agent("t-3", { env: { CODE: "0", SIG: "KILL" } });
    await world.agent("t-4", { env: { CODE: "0", SIG: "SEGV" } });
    await world.agent("t-5", { env: { CODE: "3" } });
    const script = 'if [ -n "$SIG" ]; then kill -s "$SIG" $$; fi; exit "$CODE"';
    const r = await world.controller(["run", "--hosts", "t-[1-5]", "--", "sh", "-c", script]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      [
        "t-[2,5]: exit 3",
        "t-3: killed by SIGKILL",
        "t-4: killed by SIGSEGV",
        "5 hosts: 1 ok, 4 failed (t-[2-5])",
        "",
      ].join("\n"),
    );
    const json = await world.controller([
      "run",
      "--hosts",
      "t-[1-5]",
      "--json",
      "sh",
      "-c",
      script,
    ]);
    const exits = new Map(
      json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "exit")
        .map((e) => [e.host, [e.code, e.signal]]),
    );
    assert.deepEqual(Object.fromEntries(exits), {
      "t-1": [0, null],
      "t-2": [3, null],
      "t-3": [null, "SIGKILL"],
      "t-4": [null, "SIGSEGV"],
      "t-5": [3, null],
    });
  } finally {
    await world.close();
  }
});

Deno.test("--timeout has the agents stop the process: reported as timed out", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("t-1");
    const r = await world.controller([
      "run",
      "--hosts",
      "t-1",
      "--timeout",
      "500ms",
      "--grace",
      "1",
      "--",
      "sleep",
      "600",
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "t-1: timed out, killed by SIGTERM\n1 host: 0 ok, 1 failed (t-1)\n");
  } finally {
    await world.close();
  }
});

Deno.test(
  "--gather groups hosts with identical output and status under a folded set",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("n1", { env: { WORD: "alpha" } });
      await world.agent("n2", { env: { WORD: "alpha" } });
      await world.agent("n3", { env: { WORD: "beta" } });
      await world.agent("n4", { env: { WORD: "alpha" } });
      const r = await world.controller([
        "run",
        "--hosts",
        "n[1-4]",
        "--gather",
        "--",
        "sh",
        "-c",
        'echo "$WORD"; [ "$WORD" = alpha ]',
      ]);
      assert.equal(r.code, 1);
      const rule = "---------------";
      assert.equal(
        r.stdout,
        `${rule}\nn[1-2,4] (exit 0)\n${rule}\nalpha\n${rule}\nn3 (exit 1)\n${rule}\nbeta\n`,
      );
      assert.equal(r.stderr, "n3: exit 1\n4 hosts: 3 ok, 1 failed (n3)\n");
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "--json prints one parsable object per event, ending with the summary",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["j-1", "j-2"]);
      const r = await world.controller([
        "run",
        "--hosts",
        "j-[1-2]",
        "--id",
        "js1",
        "--json",
        "--",
        "sh",
        "-c",
        "printf 'a\\nb'; echo err >&2",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const events = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
      for (const host of ["j-1", "j-2"]) {
        const mine = events.filter((e) => e.host === host);
        assert.deepEqual(mine.map((e) => e.type).filter((t) => t !== "output"), [
          "started",
          "exit",
        ]);
        assert.equal(mine[0].id, "js1");
        const text = (stream: string) =>
          mine.filter((e) => e.type === "output" && e.stream === stream).map((e) => e.text).join(
            "",
          );
        assert.equal(text("stdout"), "a\nb");
        assert.equal(text("stderr"), "err\n");
        assert.equal(mine.at(-1).code, 0);
      }
      const summary = events.at(-1);
      assert.equal(summary.type, "summary");
      assert.equal(summary.ok, true);
      assert.deepEqual(summary.hosts.map((h: { host: string }) => h.host), ["j-1", "j-2"]);
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "globs and labels expect the known hosts: one that stopped is reported",
  opts,
  async () => {
    const world = await World.create();
    try {
      const [, , g3] = await world.agentsNamed(["g-1", "g-2", "g-3"], { labels: { rack: "r1" } });
      await world.agent("h-1", { labels: { rack: "r2" } });
      const where = await world.controller(["run", "--hosts", "*", "--where", "rack=r1", "true"]);
      assert.equal(where.code, 0, where.stderr);
      assert.equal(lastLine(where.stderr), "3 hosts: 3 ok");

      const hosts = await world.controller(["hosts"]);
      assert.equal(hosts.code, 0);
      const rows = hosts.stdout.trimEnd().split("\n");
      assert.match(rows[0], /^HOST\s+STATE\s+UPTIME\s+RUNNING\s+HEARTBEAT\s+VERSION\s+LABELS$/);
      assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)[0]), ["g-1", "g-2", "g-3", "h-1"]);
      assert.match(rows[1], /^g-1\s+up\s+\d+:\d\d:\d\d\s+0\s+5s\s+\S+\s+rack=r1$/);

      await g3.stop();
      const glob = await world.controller(["run", "--hosts", "g-*", "--", "true"]);
      assert.equal(glob.code, 1);
      assert.equal(lastLine(glob.stderr), "3 hosts: 2 ok, 1 no response (g-3)");
      const after = await world.controller(["hosts"]);
      assert.match(after.stdout, /^g-3\s+lost \(last seen \d+s ago\)$/m);
      const json = await world.controller(["hosts", "--json"]);
      const states = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))
        .map((h) => `${h.host}:${h.state}`);
      assert.deepEqual(states, ["g-1:up", "g-2:up", "g-3:lost", "h-1:up"]);

      const forget = await world.controller(["hosts", "--forget", "g-3"]);
      assert.equal(forget.code, 0);
      assert.equal(forget.stdout, "forgot g-3\n");
      const again = await world.controller(["run", "--hosts", "g-*", "--", "true"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(lastLine(again.stderr), "2 hosts: 2 ok");
    } finally {
      await world.close();
    }
  },
);

Deno.test("a bad selector is EBADSEL, exit 2, and nothing is sent", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("t-1");
    const seen: string[] = [];
    const marker = Promise.withResolvers<void>();
    const sub = world.nc.subscribe(`${world.prefix}.>`, {
      callback: (_e, m) => {
        if (m.subject === `${world.prefix}.all.marker`) marker.resolve();
        else if (!m.subject.startsWith(`${world.prefix}.presence.`)) seen.push(m.subject);
      },
    });
    await world.nc.flush();
    const r = await world.controller(["run", "--hosts", "t-[1-", "--", "true"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'controller run: EBADSEL bad selector "t-[1-": unclosed "[" at column 3\n',
    );
    const w = await world.controller(["run", "--hosts", "t-1", "--where", "rack=[1-", "true"]);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /^controller run: EBADSEL /);
    // Anything the controllers had published would arrive before this.
    world.nc.publish(`${world.prefix}.all.marker`);
    await marker.promise;
    sub.unsubscribe();
    assert.deepEqual(seen, []);
  } finally {
    await world.close();
  }
});

Deno.test("an unreachable broker is one clear line and exit 1", opts, async () => {
  const world = await World.create();
  try {
    const url = `nats://127.0.0.1:${freePort()}`;
    const r = await world.controller(["run", "--hosts", "t-1", "true"], { env: { NATS_URL: url } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `controller: cannot connect to ${url}: connection refused\n`);
  } finally {
    await world.close();
  }
});

function lastLine(text: string): string {
  return text.trimEnd().split("\n").at(-1) ?? "";
}

Deno.test(
  "a request to a host no agent serves: ENORESPONSE, no agent of that name",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["t-1"]);
      const r = await world.controller(["logs", "ghost", "p1"]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        "controller logs: ENORESPONSE ghost: logs: no agent of that name is connected\n",
      );
    } finally {
      await world.close();
    }
  },
);
