/**
 * `controller watch` and the library's `watch()` against a real broker and
 * three real agents: a port opened 2 s after the watch started, a port nobody
 * opens (timeout naming the hosts), `--any` (the other hosts' watches are
 * cancelled), file watches on create, modify and delete, and an aborted
 * library watch. After each, no watch of that id is left on any agent.
 */
import assert from "node:assert/strict";
import { Controller } from "../../controller/mod.ts";
import { killGroups, startedPids } from "./detached.ts";
import { ask, DENO, freePort, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const HOSTS = ["w-1", "w-2", "w-3"];

/** Every agent answers ESRCH to an unwatch of `id`: no watch of that id runs anywhere. */
async function noWatchLeft(world: World, id: string): Promise<void> {
  for (const host of HOSTS) {
    const r = await ask(world, host, "unwatch", { watches: [id] });
    assert.equal(r.body.ok, true);
    const results = r.body.results as { ok: boolean; error?: { code: string } }[];
    assert.equal(results[0].ok, false, `${host} still had watch ${id}`);
    assert.equal(results[0].error?.code, "ESRCH");
  }
}

/**
 * A program that listens on `port` after `delay` seconds. All agents share
 * this machine's network, so each listener sets SO_REUSEPORT: every host
 * runs its own, as on a real cluster.
 */
function listenerArgv(port: number, delay: number): string[] {
  const code = `Deno.listen({ hostname: "127.0.0.1", port: ${port}, reusePort: true }); ` +
    `setInterval(() => {}, 1e6);`;
  return ["sh", "-c", `sleep ${delay}; exec "$0" eval --unstable-net "$1"`, DENO, code];
}

Deno.test("watch on a port opened 2 s later completes on every host", opts, async () => {
  const world = await World.create();
  const started: number[] = [];
  try {
    await world.agentsNamed(HOSTS);
    const port = freePort();
    const watch = world.spawnController([
      "watch",
      "--hosts",
      "w-[1-3]",
      "--id",
      "wport",
      "--timeout",
      "30s",
      "port",
      `127.0.0.1:${port}`,
    ]);
    // Every agent holds the watch before anything listens.
    await watch.waitFor("the watch to be in place", (_o, e) => e.includes("w-[1-3]: watching"));
    assert.equal(watch.stdout, "", "nothing is ready before the listeners start");
    const run = await world.controller([
      "run",
      "--hosts",
      "w-[1-3]",
      "--detach",
      "--id",
      "listener",
      "--",
      ...listenerArgv(port, 2),
    ]);
    assert.equal(run.code, 0, run.stderr);
    started.push(...startedPids(run.stdout));
    assert.equal(started.length, 3);
    const r = await watch.result();
    assert.equal(r.code, 0, r.stderr);
    const ready = r.stdout.trimEnd().split("\n").sort();
    assert.equal(ready.length, 3, r.stdout);
    for (const [i, line] of ready.entries()) {
      assert.match(
        line,
        new RegExp(`^w-${i + 1}: ready after [\\d.]+m?s \\(.*:${port} is listening\\)$`),
      );
    }
    assert.match(r.stderr, /^w-\[1-3\]: watching port 127\.0\.0\.1:\d+ \(timeout 30s\)$/m);
    assert.equal(r.stderr.trimEnd().split("\n").at(-1), "3 hosts: 3 ready");
    await noWatchLeft(world, "wport");
  } finally {
    killGroups(started);
    await world.close();
  }
});

Deno.test("watch on a port nobody opens times out naming the hosts", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(HOSTS);
    const port = freePort();
    const r = await world.controller([
      "watch",
      "--hosts",
      "w-[1-3],w-9",
      "--ack-timeout",
      "4s",
      "--timeout",
      "1.5s",
      "--id",
      "wnever",
      "port",
      String(port),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.ok(
      lines.includes(`w-[1-3]: not ready: nothing listened on port ${port} within 1.5s`),
      r.stderr,
    );
    assert.equal(
      lines.at(-1),
      "4 hosts: 0 ready, 3 timed out (w-[1-3]), 1 no response (w-9)",
    );
    await noWatchLeft(world, "wnever");
  } finally {
    await world.close();
  }
});

Deno.test("watch --any ends with the first host and cancels the others", opts, async () => {
  const world = await World.create();
  let started: number[] = [];
  try {
    await world.agentsNamed(HOSTS);
    // Only w-2 prints the line; all three keep running.
    const run = await world.controller([
      "run",
      "--hosts",
      "w-[1-3]",
      "--detach",
      "--id",
      "srv",
      "--shell",
      '[ "$TUTTI_HOST" = w-2 ] && echo "server ready on w-2"; exec sleep 600',
    ]);
    assert.equal(run.code, 0, run.stderr);
    started = startedPids(run.stdout);
    const r = await world.controller([
      "watch",
      "--hosts",
      "w-[1-3]",
      "--any",
      "--id",
      "wany",
      "output",
      "srv",
      "^server ready",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^w-2: ready after [\d.]+m?s \(process srv printed a matching line on stdout\): server ready on w-2\n$/,
    );
    assert.equal(
      r.stderr.trimEnd().split("\n").at(-1),
      "3 hosts: 1 ready, 2 cancelled (w-[1,3])",
    );
    await noWatchLeft(world, "wany");
    const kill = await world.controller(["kill", "--hosts", "w-[1-3]", "--grace", "0", "srv"]);
    assert.equal(kill.code, 0, kill.stderr);
  } finally {
    killGroups(started);
    await world.close();
  }
});

Deno.test("an interrupted watch cancels the agents' watches", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(HOSTS);
    const watch = world.spawnController([
      "watch",
      "--hosts",
      "w-[1-3]",
      "--id",
      "wint",
      "exit",
      "nosuchproc",
    ]);
    // A process that does not exist: refused by every agent, the watch ends at once.
    const refused = await watch.result();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^w-\[1-3\]: failed: ESRCH /m);
    assert.equal(
      refused.stderr.trimEnd().split("\n").at(-1),
      "3 hosts: 0 ready, 3 failed (w-[1-3])",
    );

    const waiting = world.spawnController([
      "watch",
      "--hosts",
      "w-[1-3]",
      "--id",
      "wint",
      "file",
      `${world.dir}/never`,
    ]);
    await waiting.waitFor("the watch to be in place", (_o, e) => e.includes("w-[1-3]: watching"));
    waiting.proc.kill("SIGINT");
    const r = await waiting.result();
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").at(-1), "3 hosts: 0 ready, 3 cancelled (w-[1-3])");
    await noWatchLeft(world, "wint");
  } finally {
    await world.close();
  }
});

Deno.test("file watches via the CLI fire on create, modify and delete", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(HOSTS);
    const path = `${world.dir}/flag`;
    for (
      const [event, act] of [
        ["exists", () => Deno.writeTextFile(path, "one")],
        ["modified", () => Deno.writeTextFile(path, "two", { append: true })],
        ["removed", () => Deno.remove(path)],
      ] as const
    ) {
      const watch = world.spawnController([
        "watch",
        "--hosts",
        "w-[1-3]",
        "--timeout",
        "30s",
        "file",
        path,
        event,
      ]);
      await watch.waitFor(`the ${event} watch`, (_o, e) => e.includes("w-[1-3]: watching"));
      assert.equal(watch.stdout, "", `${event}: nothing happened yet`);
      await act();
      const r = await watch.result();
      assert.equal(r.code, 0, `${event}: ${r.stderr}`);
      assert.equal(r.stdout.trimEnd().split("\n").length, 3, r.stdout);
      assert.match(
        r.stdout,
        /^w-1: ready after \S+ \(.*flag (exists|was created|was modified|was removed|does not exist)\)$/m,
      );
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "3 hosts: 3 ready", event);
    }
    // A path that never appears: the CLI says which hosts were not ready.
    const r = await world.controller([
      "watch",
      "--hosts",
      "w-[1-2]",
      "--timeout",
      "500ms",
      "file",
      `${world.dir}/never`,
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trimEnd().split("\n").at(-1), "2 hosts: 0 ready, 2 timed out (w-[1-2])");
  } finally {
    await world.close();
  }
});

Deno.test("an aborted library watch cancels every agent's watch", opts, async () => {
  const world = await World.create();
  const c = await Controller.connect({ servers: [world.broker.url], stateDir: false });
  try {
    await world.agentsNamed(HOSTS);
    const abort = new AbortController();
    const watch = c.watch({
      hosts: "w-[1-3]",
      id: "wabort",
      condition: { kind: "file", path: `${world.dir}/nothing`, event: "exists" },
      signal: abort.signal,
    });
    const watching = new Set<string>();
    const results: string[] = [];
    for await (const e of watch) {
      if (e.type === "watching") {
        watching.add(e.host);
      } else if (e.type === "armed") {
        // Every agent holds the watch: nothing could be missed from here; give up now.
        assert.deepEqual(e.watching, HOSTS);
        assert.deepEqual([...watching].sort(), HOSTS);
        abort.abort();
      } else {
        results.push(`${e.host} ${e.status}`);
      }
    }
    const summary = await watch.done;
    assert.equal(summary.ok, false);
    assert.deepEqual(results.sort(), ["w-1 cancelled", "w-2 cancelled", "w-3 cancelled"]);
    assert.deepEqual(summary.hosts.map((h) => h.detail), ["cancelled", "cancelled", "cancelled"]);
    await noWatchLeft(world, "wabort");

    // Bad input is refused before anything is sent.
    assert.throws(
      () => c.watch({ hosts: "w-[1-", condition: { kind: "port", port: 1 } }),
      /EBADSEL|unclosed/,
    );
    assert.throws(
      () => c.watch({ hosts: "w-1", condition: { kind: "port", port: 70000 } }),
      /port/,
    );
  } finally {
    await c.close();
    await world.close();
  }
});
