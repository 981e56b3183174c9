/**
 * Fan-in: ten hosts writing at once into one controller that falls behind.
 * The controller's stdout is a pipe nobody reads for a while, so its writes
 * block and its whole event loop with them: for that time it handles no
 * message at all, heartbeats included. When the pipe is read again, it must
 * not turn its own slowness into "lost": every host ends ok, every line of
 * every host is there, in order, whole.
 */
import assert from "node:assert/strict";
import { CONTROLLER_JS, DENO, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const HOSTS = 10;
const LINES = 100_000;
/** Heartbeats of 300 ms: a silence past 0.9 s is a lost host. */
const HEARTBEAT = "300ms";
/** How long the controller's stdout is left unread once every process has ended: 10 periods. */
const STALL_MS = 3000;

Deno.test(
  "a controller stalled by its own output declares no host lost and loses no line",
  opts,
  async () => {
    const world = await World.create();
    try {
      const names = Array.from({ length: HOSTS }, (_, i) => `fi-${i + 1}`);
      await world.agentsNamed(names, { args: ["--heartbeat", HEARTBEAT] });
      const id = "fanin";
      const watches = await Promise.all(names.map((n) => ProcWatch.open(world, n, id)));
      const child = new Deno.Command(DENO, {
        args: [
          "run",
          "-A",
          "--no-config",
          CONTROLLER_JS,
          "run",
          "--hosts",
          `fi-[1-${HOSTS}]`,
          "--id",
          id,
          "--",
          "seq",
          "1",
          String(LINES),
        ],
        env: world.controllerEnv(),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      // Nothing reads the controller's stdout until every process has ended, and then for
      // a while longer: its writes block on the full pipe long before that.
      for (const w of watches) await w.exit(id, 60_000);
      await new Promise((r) => setTimeout(r, STALL_MS));
      const stdout = await new Response(child.stdout).text();
      const { code } = await child.status;
      const err = await stderr;

      assert.doesNotMatch(err, /ELOST|lost/, err);
      assert.equal(err.trimEnd().split("\n").at(-1), `${HOSTS} hosts: ${HOSTS} ok`);
      assert.equal(code, 0, err);
      const expected = Array.from({ length: LINES }, (_, i) => String(i + 1)).join("\n") + "\n";
      const byHost = new Map<string, string[]>();
      for (const line of stdout.split("\n")) {
        if (line === "") continue;
        const colon = line.indexOf(": ");
        const host = line.slice(0, colon);
        let list = byHost.get(host);
        if (!list) byHost.set(host, list = []);
        list.push(line.slice(colon + 2));
      }
      assert.deepEqual([...byHost.keys()].sort(), [...names].sort());
      for (const name of names) {
        const text = byHost.get(name)!.join("\n") + "\n";
        assert.ok(text === expected, `${name}: ${byHost.get(name)!.length} lines, in order`);
      }
    } finally {
      await world.close();
    }
  },
);
