/**
 * The shipped bundle runs with a plain `deno run -A --no-config` from an
 * empty directory (no deno.json, no node_modules): it connects, says hello
 * and runs a command.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { AGENT_JS, ask, DENO, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("dist/agent.js runs from an empty directory", opts, async () => {
  const world = await World.create();
  const empty = await Deno.makeTempDir({ prefix: "tutti-empty-" });
  let proc: Deno.ChildProcess | undefined;
  try {
    const hello = Promise.withResolvers<Record<string, unknown>>();
    const sub = world.nc.subscribe(world.subjects.presence("bundled"), {
      callback: (_err, m) => hello.resolve(decodeMap(m.data)),
    });
    await world.nc.flush();
    proc = new Deno.Command(DENO, {
      args: ["run", "-A", "--no-config", AGENT_JS, "--name", "bundled", "--label", "k=v"]
        .concat(["--state-dir", `${world.dir}/bundled`]),
      cwd: empty,
      env: { NATS_URL: world.broker.url },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const exited = proc.status.then((s) => {
      throw new Error(`the bundle exited with ${s.code} before hello`);
    });
    const said = await Promise.race([hello.promise, exited]);
    sub.unsubscribe();
    assert.equal(said.type, "hello");
    assert.deepEqual(said.labels, { k: "v" });

    const watch = await ProcWatch.open(world, "bundled");
    const r = await ask(world, "bundled", "run", {
      id: "hi",
      argv: ["echo", "hello from the bundle"],
    });
    assert.equal(r.body.ok, true);
    const exit = await watch.exit("hi");
    assert.equal(exit.code, 0);
    assert.equal(watch.text("hi"), "hello from the bundle\n");
    watch.close();
    assert.deepEqual(
      [...Deno.readDirSync(empty)],
      [],
      "nothing was written to the working directory",
    );
  } finally {
    try {
      proc?.kill("SIGTERM");
    } catch { /* gone */ }
    await proc?.stderr.cancel().catch(() => {});
    await proc?.status;
    await world.close();
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("the bundle's usage errors exit 2 with the usage; --help exits 0", opts, async () => {
  const empty = await Deno.makeTempDir({ prefix: "tutti-empty-" });
  try {
    const run = (args: string[]) =>
      new Deno.Command(DENO, {
        args: ["run", "-A", "--no-config", AGENT_JS, ...args],
        cwd: empty,
        stdin: "null",
      }).output();
    const d = new TextDecoder();
    const bad = await run(["--no-such-flag"]);
    assert.equal(bad.code, 2);
    const err = d.decode(bad.stderr);
    assert.match(err.split("\n")[0], /--no-such-flag/);
    assert.equal(err.split("\n")[1], "see `agent --help`");

    const missing = await run(["--server"]);
    assert.equal(missing.code, 2);
    assert.match(d.decode(missing.stderr), /--server/);

    const badName = await run(["--name", "no.dots"]);
    assert.equal(badName.code, 2);
    assert.match(d.decode(badName.stderr), /--name "no.dots"/);

    const help = await run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(d.decode(help.stdout), /usage: agent/);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
