/**
 * Watches against a real broker and real agents: `watch` by broadcast and per
 * host, every kind of condition on real files, sockets, processes and probes,
 * timeouts, `unwatch`, the agent's stop, and that nothing a watch held (an
 * inotify watch, an open /proc file, a probe's process group) stays behind.
 */
import assert from "node:assert/strict";
import type { Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../../protocol/codec.ts";
import {
  ask,
  broadcast,
  type Decoded,
  DENO,
  freePort,
  groupGone,
  groupMembers,
  ProcWatch,
  until,
  World,
} from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Records watch outcomes from the moment `open` resolves; `of` awaits one. */
class Outcomes {
  readonly seen: Decoded[] = [];
  private readonly waiting = new Map<string, PromiseWithResolvers<Decoded>>();
  private readonly sub: Subscription;

  private constructor(world: World, host: string, id: string) {
    this.sub = world.nc.subscribe(world.subjects.watch(host, id), {
      callback: (_err, m) => {
        const headers: Record<string, string> = {};
        if (m.headers) { for (const k of m.headers.keys()) headers[k] = m.headers.get(k); }
        const d = { subject: m.subject, body: decodeMap(m.data), headers };
        this.seen.push(d);
        this.slot(d.body.host as string, d.body.watch as string).resolve(d);
      },
    });
  }

  static async open(world: World, host = "*", id = "*"): Promise<Outcomes> {
    const o = new Outcomes(world, host, id);
    await world.nc.flush();
    return o;
  }

  private slot(host: string, id: string): PromiseWithResolvers<Decoded> {
    const key = `${host}/${id}`;
    let p = this.waiting.get(key);
    if (!p) {
      p = Promise.withResolvers();
      this.waiting.set(key, p);
    }
    return p;
  }

  /** The outcome of watch `id` on `host`; rejects after `timeoutMs`. */
  async of(host: string, id: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no outcome of watch ${id} on ${host} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const d = await Promise.race([this.slot(host, id).promise, late]);
      assert.equal(d.headers["Tutti-Type"], d.body.status, "Tutti-Type is the status");
      assert.equal(d.headers["Tutti-Host"], host);
      assert.equal(d.body.v, 1);
      return d.body;
    } finally {
      clearTimeout(timer);
    }
  }

  count(host: string, id: string): number {
    return this.seen.filter((d) => d.body.host === host && d.body.watch === id).length;
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/** `watch` on one host; asserts that it was accepted and answers the reply. */
async function watch(
  world: World,
  host: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await ask(world, host, "watch", body);
  assert.equal(r.body.ok, true, JSON.stringify(r.body));
  assert.equal(r.headers["Tutti-Type"], "watch");
  return r.body;
}

/**
 * Process groups a test started on its agents (processes and probes). A
 * failing test ends with its agents killed by SIGKILL, which leaves their
 * children running: `killAll` in `finally` makes sure none outlives the test.
 */
class Started {
  private readonly groups = new Set<number>();

  add(pgid: number): number {
    this.groups.add(pgid);
    return pgid;
  }

  /** `run` on `host`; asserts that it started and answers its pid (= process group). */
  async run(world: World, host: string, body: Record<string, unknown>): Promise<number> {
    const r = await ask(world, host, "run", body);
    assert.equal(r.body.ok, true, JSON.stringify(r.body));
    return this.add((r.body.proc as { pid: number }).pid);
  }

  killAll(): void {
    for (const g of this.groups) {
      try {
        Deno.kill(-g, "SIGKILL");
      } catch {
        // gone already
      }
    }
  }
}

function errorOf(r: Decoded): { code: string; message: string } {
  assert.equal(r.body.ok, false, JSON.stringify(r.body));
  return r.body.error as { code: string; message: string };
}

/** A shell line that opens a TCP listener on `host:port` after `delay` seconds and keeps it. */
function listenLater(delay: number, host: string, port: number): string {
  const js = `const l = Deno.listen({ hostname: "${host}", port: ${port} });` +
    ` for await (const c of l) c.close();`;
  return `sleep ${delay}; exec "$DENO" eval --no-config '${js}'`;
}

/** The agent's open file descriptors (their link targets) and the inotify watches among them. */
function openFiles(pid: number): { fds: string[]; inotifyWatches: number } {
  const fds: string[] = [];
  let inotifyWatches = 0;
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`);
    } catch {
      continue; // closed meanwhile
    }
    fds.push(target);
    if (target === "anon_inode:inotify") {
      const info = Deno.readTextFileSync(`/proc/${pid}/fdinfo/${e.name}`);
      inotifyWatches += info.split("\n").filter((l) => l.startsWith("inotify wd:")).length;
    }
  }
  return { fds: fds.sort(), inotifyWatches };
}

Deno.test(
  "a port watch sent to two agents is met on both once their servers listen, 2 s after start",
  opts,
  async () => {
    const world = await World.create();
    const started = new Started();
    try {
      await world.agentsNamed(["a1", "a2"]);
      const port = freePort();
      const outcomes = await Outcomes.open(world);
      // One broadcast, as a controller sends it; both agents answer.
      const replies = await broadcast(
        world,
        "watch",
        { target: { hosts: "a[1-2]" }, id: "up", condition: { kind: "port", port }, timeout: 30 },
        ["a1", "a2"],
      );
      assert.deepEqual(replies.map((r) => r.body.host).sort(), ["a1", "a2"]);
      for (const r of replies) {
        assert.equal(r.body.ok, true, JSON.stringify(r.body));
        assert.equal(r.body.watch, "up");
        assert.equal(r.body.existing, false);
        assert.equal(r.body.deadline, (r.body.started as number) + 30_000);
      }

      // Each host starts its own server, on its own loopback address (both agents share this
      // machine's sockets, so one address each lets both bind the port).
      const startedAt: Record<string, number> = {};
      for (const [host, address] of [["a1", "127.0.0.1"], ["a2", "127.0.0.2"]]) {
        startedAt[host] = Date.now();
        await started.run(world, host, {
          id: "server",
          shell: listenLater(2, address, port),
          env: { DENO },
          cwd: world.dir,
        });
      }
      for (const host of ["a1", "a2"]) {
        const o = await outcomes.of(host, "up");
        assert.equal(o.status, "met", JSON.stringify(o));
        assert.match(o.detail as string, new RegExp(`^127\\.0\\.0\\.[12]:${port} is listening$`));
        assert.deepEqual(o.condition, { kind: "port", port });
        // Not before a server could listen: each sleeps 2 s first.
        assert.ok((o.at as number) >= startedAt[host] + 2000, `${host} met before the port opened`);
      }
      assert.equal(outcomes.count("a1", "up") + outcomes.count("a2", "up"), 2, "one outcome each");

      // With an address, only a listener on it (or on its family's wildcard) counts.
      const v4 = await watch(world, "a2", {
        condition: { kind: "port", port, address: "127.0.0.2" },
      });
      const met = await outcomes.of("a2", v4.watch as string);
      assert.equal(met.detail, `127.0.0.2:${port} is listening`);
      await watch(world, "a2", {
        id: "v6",
        condition: { kind: "port", port, address: "::1" },
        timeout: 0.5,
      });
      const missed = await outcomes.of("a2", "v6");
      assert.equal(missed.status, "timeout", "an IPv4 listener does not listen on ::1");
      outcomes.close();

      for (const host of ["a1", "a2"]) {
        await ask(world, host, "signal", { procs: ["server"], signal: "SIGKILL" });
      }
    } finally {
      started.killAll();
      await world.close();
    }
  },
);

Deno.test("a port watch on a port nobody opens times out on every host", opts, async () => {
  const world = await World.create();
  const started = new Started();
  try {
    await world.agentsNamed(["a1", "a2"]);
    const port = freePort();
    const outcomes = await Outcomes.open(world);
    const replies = await broadcast(
      world,
      "watch",
      { id: "never", condition: { kind: "port", port }, timeout: 1 },
      ["a1", "a2"],
    );
    assert.equal(replies.length, 2);
    for (const host of ["a1", "a2"]) {
      const o = await outcomes.of(host, "never");
      assert.equal(o.status, "timeout");
      assert.equal(o.detail, `nothing listened on port ${port} within 1s`);
      assert.ok((o.elapsed as number) >= 1000, `elapsed ${o.elapsed}`);
    }
    outcomes.close();
  } finally {
    started.killAll();
    await world.close();
  }
});

Deno.test(
  "file watches fire on create (under a missing directory), modify and delete",
  opts,
  async () => {
    const world = await World.create();
    const started = new Started();
    try {
      await world.agent("a1");
      const outcomes = await Outcomes.open(world, "a1");
      const path = `${world.dir}/exp1/out/ready`;

      const created = await watch(world, "a1", {
        id: "created",
        condition: { kind: "file", path },
      });
      assert.equal(created.existing, false);
      await Deno.mkdir(`${world.dir}/exp1/out`, { recursive: true });
      await Deno.writeTextFile(path, "1\n");
      const c = await outcomes.of("a1", "created");
      assert.equal(c.status, "met");
      assert.equal(c.detail, `${path} exists`);
      assert.deepEqual(c.condition, { kind: "file", path, event: "exists" });

      await watch(world, "a1", {
        id: "modified",
        condition: { kind: "file", path, event: "modified" },
      });
      await Deno.writeTextFile(path, "2\n", { append: true });
      const m = await outcomes.of("a1", "modified");
      assert.equal(m.status, "met");
      assert.equal(m.detail, `${path} was modified`);

      // Relative paths start at the agent's working directory (the test's: the harness does not
      // change it).
      const up = Deno.cwd().split("/").filter((p) => p !== "").map(() => "..");
      const rel = [...up, path.slice(1)].join("/");
      await watch(world, "a1", {
        id: "removed",
        condition: { kind: "file", path: rel, event: "removed" },
      });
      await Deno.remove(path);
      const r = await outcomes.of("a1", "removed");
      assert.equal(r.status, "met");
      assert.equal(r.detail, `${path} was removed`);

      // States hold at once.
      await watch(world, "a1", {
        id: "absent",
        condition: { kind: "file", path, event: "removed" },
      });
      assert.equal((await outcomes.of("a1", "absent")).detail, `${path} does not exist`);

      // A path under a regular file can never appear.
      await Deno.writeTextFile(`${world.dir}/plain`, "");
      await watch(world, "a1", {
        id: "impossible",
        condition: { kind: "file", path: `${world.dir}/plain/x` },
      });
      const f = await outcomes.of("a1", "impossible");
      assert.equal(f.status, "failed");
      assert.match(f.detail as string, /plain is not a directory/);
      outcomes.close();
    } finally {
      started.killAll();
      await world.close();
    }
  },
);

Deno.test("output and exit watches on managed processes", opts, async () => {
  const world = await World.create();
  const started = new Started();
  try {
    await world.agent("a1");
    const outcomes = await Outcomes.open(world, "a1");
    const procs = await ProcWatch.open(world, "a1");

    // A line printed before the watch counts (read back from the spool)...
    await started.run(world, "a1", { id: "early", shell: "echo early-marker-7; exec sleep 30" });
    await until("early's output", () => procs.text("early").includes("early-marker-7"));
    await watch(world, "a1", {
      id: "replayed",
      condition: { kind: "output", proc: "early", pattern: "early-marker-(\\d+)" },
    });
    const replayed = await outcomes.of("a1", "replayed");
    assert.equal(replayed.status, "met");
    assert.equal(replayed.line, "early-marker-7");
    // ...unless the watch asks for new lines only.
    await watch(world, "a1", {
      id: "fresh",
      condition: { kind: "output", proc: "early", pattern: "early", from: "now" },
      timeout: 0.3,
    });
    assert.equal((await outcomes.of("a1", "fresh")).status, "timeout");

    // A line that comes later, on stderr, matched case-insensitively.
    await started.run(world, "a1", {
      id: "server",
      shell: "echo starting; sleep 0.3; echo 'Listening on PORT 8080' >&2; exec sleep 30",
    });
    await watch(world, "a1", {
      id: "listening",
      condition: {
        kind: "output",
        proc: "server",
        pattern: "listening on port (\\d+)",
        flags: "i",
        stream: "stderr",
      },
    });
    const l = await outcomes.of("a1", "listening");
    assert.equal(l.status, "met");
    assert.equal(l.line, "Listening on PORT 8080");
    assert.equal(l.detail, "process server printed a matching line on stderr");

    // The process exits before a line matches: failed, with its exit status.
    await started.run(world, "a1", { id: "quitter", shell: "echo nope; sleep 0.2; exit 3" });
    await watch(world, "a1", {
      id: "never",
      condition: { kind: "output", proc: "quitter", pattern: "^ready$" },
    });
    const never = await outcomes.of("a1", "never");
    assert.equal(never.status, "failed");
    assert.match(
      never.detail as string,
      /process quitter exited with code 3 before a line matched/,
    );

    // Exit watches: a running process, and one that has already exited.
    await watch(world, "a1", { id: "early-exit", condition: { kind: "exit", proc: "early" } });
    await ask(world, "a1", "signal", { procs: ["early"], signal: "SIGTERM" });
    const e = await outcomes.of("a1", "early-exit");
    assert.equal(e.status, "met");
    assert.equal(e.detail, "process early was killed by SIGTERM");
    await watch(world, "a1", { id: "quitter-exit", condition: { kind: "exit", proc: "quitter" } });
    assert.equal(
      (await outcomes.of("a1", "quitter-exit")).detail,
      "process quitter exited with code 3",
    );

    await ask(world, "a1", "signal", { procs: ["server"], signal: "SIGKILL" });
    await procs.exit("server");
    procs.close();
    outcomes.close();
  } finally {
    started.killAll();
    await world.close();
  }
});

Deno.test(
  "a command probe watch succeeds; a hanging probe is killed with its whole group",
  opts,
  async () => {
    const world = await World.create();
    const started = new Started();
    try {
      await world.agent("a1");
      const outcomes = await Outcomes.open(world, "a1");
      const flag = `${world.dir}/flag`;

      await watch(world, "a1", {
        id: "probe",
        condition: { kind: "command", shell: `test -e ${flag}`, interval: 0.1 },
      });
      await Deno.writeTextFile(flag, "");
      const p = await outcomes.of("a1", "probe");
      assert.equal(p.status, "met");
      assert.match(p.detail as string, /^"test -e .*flag" succeeded \(probe \d+\)$/);

      // A probe that starts a background grandchild and hangs, cancelled by unwatch: the reply
      // comes once the probe's whole process group is gone.
      const pidFile = `${world.dir}/probe.pid`;
      await watch(world, "a1", {
        id: "hang",
        condition: {
          kind: "command",
          shell: `sleep 60 & echo $$ > ${pidFile}; wait`,
          probeTimeout: 60,
        },
      });
      const pgid = started.add(
        await until("the probe's pid", async () => {
          const t = await Deno.readTextFile(pidFile).catch(() => "");
          return t.endsWith("\n") ? Number(t) : 0;
        }),
      );
      await until("the probe's grandchild", () => groupMembers(pgid).length === 2);
      const un = await ask(world, "a1", "unwatch", { watches: ["hang"] });
      assert.deepEqual(un.body.results, [{ watch: "hang", ok: true }]);
      assert.equal((await outcomes.of("a1", "hang")).status, "cancelled");
      await groupGone(pgid);

      // A probe past its own timeout is killed and the next one runs; the watch's timeout says so.
      await watch(world, "a1", {
        id: "slow",
        condition: { kind: "command", argv: ["sleep", "5"], probeTimeout: 0.2, interval: 0.1 },
        timeout: 1,
      });
      const slow = await outcomes.of("a1", "slow");
      assert.equal(slow.status, "timeout");
      assert.match(slow.detail as string, /was killed after its 200ms timeout/);

      // A program that does not exist fails the watch, naming it.
      await watch(world, "a1", {
        id: "missing",
        condition: { kind: "command", argv: ["./no-such-probe"] },
      });
      const missing = await outcomes.of("a1", "missing");
      assert.equal(missing.status, "failed");
      assert.equal(missing.detail, "spawn ./no-such-probe: no such file or directory");
      outcomes.close();
    } finally {
      started.killAll();
      await world.close();
    }
  },
);

Deno.test(
  "unwatch cancels every kind of watch and the agent keeps nothing they held",
  opts,
  async () => {
    const world = await World.create();
    const started = new Started();
    try {
      const agent = await world.agent("a1");
      const outcomes = await Outcomes.open(world, "a1");
      await started.run(world, "a1", { id: "quiet", argv: ["sleep", "60"] });
      const conditions = () => [
        { kind: "file", path: `${world.dir}/never/appears` },
        { kind: "file", path: world.dir, event: "modified" },
        { kind: "port", port: freePort() },
        { kind: "exit", proc: "quiet" },
        { kind: "output", proc: "quiet", pattern: "x" },
        { kind: "command", argv: ["false"], interval: 0.05 },
      ];

      // A first round, so that whatever the runtime sets up once (and keeps) is in the baseline.
      const warm = conditions().map((_, i) => `warm${i}`);
      for (const [i, c] of conditions().entries()) {
        await watch(world, "a1", {
          id: warm[i],
          condition: c,
        });
      }
      await ask(world, "a1", "unwatch", { watches: warm });
      for (const id of warm) await outcomes.of("a1", id);
      const baseline = await until("a steady count of open files", async () => {
        const a = openFiles(agent.pid);
        await new Promise((r) => setTimeout(r, 100));
        const b = openFiles(agent.pid);
        return JSON.stringify(a) === JSON.stringify(b) ? a : null;
      });
      assert.equal(baseline.inotifyWatches, 0);

      const ids = conditions().map((_, i) => `w${i}`);
      for (const [i, c] of conditions().entries()) {
        const r = await watch(world, "a1", { id: ids[i], condition: c });
        assert.equal(r.watch, ids[i]);
      }
      // Retrying the same request is the same watch; another condition under a running id is not.
      const again = await watch(world, "a1", {
        id: "w3",
        condition: { kind: "exit", proc: "quiet" },
      });
      assert.equal(again.existing, true);
      const clash = await ask(world, "a1", "watch", {
        id: "w3",
        condition: { kind: "exit", proc: "early" },
      });
      assert.equal(errorOf(clash).code, "EEXIST");
      const during = openFiles(agent.pid);
      assert.ok(
        during.inotifyWatches >= 2,
        `inotify watches while watching: ${during.inotifyWatches}`,
      );

      const un = await ask(world, "a1", "unwatch", { watches: [...ids, "nope"] });
      const results = un.body.results as { watch: string; ok: boolean; error?: { code: string } }[];
      assert.deepEqual(results.slice(0, ids.length), ids.map((watch) => ({ watch, ok: true })));
      assert.equal(results[ids.length].ok, false);
      assert.equal(results[ids.length].error?.code, "ESRCH");
      for (const id of ids) {
        const o = await outcomes.of("a1", id);
        assert.equal(o.status, "cancelled", `${id}: ${JSON.stringify(o)}`);
        assert.equal(outcomes.count("a1", id), 1);
      }
      // Cancelled watches are gone: a second unwatch finds none of them.
      const twice = await ask(world, "a1", "unwatch", { watches: ids });
      for (const r of twice.body.results as { ok: boolean }[]) assert.equal(r.ok, false);

      // The inotify instances are closed by a thread of the runtime, a moment after the watch ends.
      await until("the files the watches held to be closed", () => {
        const now = openFiles(agent.pid);
        return now.inotifyWatches === 0 && JSON.stringify(now.fds) === JSON.stringify(baseline.fds);
      }).catch(() => {
        assert.deepEqual(openFiles(agent.pid), baseline);
      });

      await ask(world, "a1", "signal", { procs: ["quiet"], signal: "SIGKILL" });
      outcomes.close();
    } finally {
      started.killAll();
      await world.close();
    }
  },
);

Deno.test("bad watch requests get precise errors and the agent keeps serving", opts, async () => {
  const world = await World.create();
  const started = new Started();
  try {
    await world.agent("a1");
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{}, "EINVAL", /field "condition": expected a map, missing/],
      [
        { condition: { kind: "socket" } },
        "EINVAL",
        /field "condition\.kind": expected "file", "port"/,
      ],
      [{ condition: { kind: "port", port: 70000 } }, "EINVAL", /condition\.port/],
      [
        { condition: { kind: "port", port: 80, address: "1.2.3" } },
        "EINVAL",
        /address "1\.2\.3" is not an IPv4 or IPv6 address/,
      ],
      [
        { condition: { kind: "output", proc: "p1", pattern: "(" } },
        "EINVAL",
        /not a regular expression/,
      ],
      [{ condition: { kind: "exit", proc: "p1" } }, "ESRCH", /no process p1/],
      [
        { condition: { kind: "file", path: "/x", event: "touched" } },
        "EINVAL",
        /field "condition\.event"/,
      ],
      [{ condition: { kind: "command" } }, "EINVAL", /exactly one of "argv" and "shell"/],
      [{ id: "a.b", condition: { kind: "file", path: "/x" } }, "EINVAL", /watch id "a\.b"/],
      [{ condition: { kind: "file", path: "/x" }, timeout: 100000 }, "EINVAL", /field "timeout"/],
    ];
    for (const [body, code, message] of cases) {
      const r = await ask(world, "a1", "watch", body);
      const e = errorOf(r);
      assert.equal(e.code, code, JSON.stringify(body));
      assert.match(e.message, message, JSON.stringify(body));
      assert.equal(r.headers["Tutti-Error"], code);
    }
    const un = await ask(world, "a1", "unwatch", { watches: [] });
    assert.equal(errorOf(un).code, "EINVAL");
    const ping = await ask(world, "a1", "ping");
    assert.equal(ping.body.ok, true);
  } finally {
    started.killAll();
    await world.close();
  }
});

Deno.test("an agent that stops cleanly cancels its watches before saying bye", opts, async () => {
  const world = await World.create();
  const started = new Started();
  try {
    const agent = await world.agent("a1");
    const order: string[] = [];
    const { promise: bye, resolve: byeSeen } = Promise.withResolvers<void>();
    const sub = world.nc.subscribe(`${world.prefix}.>`, {
      callback: (_err, m) => {
        if (m.subject.startsWith(world.subjects.watch("a1", ""))) {
          const b = decodeMap(m.data);
          order.push(`${b.watch}:${b.status}`);
        } else if (m.subject === world.subjects.presence("a1")) {
          const type = decodeMap(m.data).type as string;
          if (type === "bye") {
            order.push("bye");
            byeSeen();
          }
        }
      },
    });
    await world.nc.flush();
    const pidFile = `${world.dir}/probe.pid`;
    await watch(world, "a1", { id: "f", condition: { kind: "file", path: `${world.dir}/no` } });
    await watch(world, "a1", {
      id: "c",
      condition: { kind: "command", shell: `echo $$ > ${pidFile}; exec sleep 60` },
    });
    const pgid = started.add(
      await until("the probe's pid", async () => {
        const t = await Deno.readTextFile(pidFile).catch(() => "");
        return t.endsWith("\n") ? Number(t) : 0;
      }),
    );
    const status = await agent.stop();
    assert.equal(status.code, 0);
    await bye;
    assert.deepEqual(order.slice().sort(), ["bye", "c:cancelled", "f:cancelled"]);
    assert.equal(order.at(-1), "bye", `order: ${order.join(", ")}`);
    await groupGone(pgid);
    sub.unsubscribe();
  } finally {
    started.killAll();
    await world.close();
  }
});
