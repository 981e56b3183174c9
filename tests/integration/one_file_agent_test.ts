/**
 * The one-file agent (packaging/one_file.sh, packaging/launcher.sh): the file alone, copied to an
 * empty directory with an empty home, is an agent. It unpacks itself once into its cache and
 * execs the runtime, so the pid that was started is a Deno process; the keeper is started through
 * the same file; nothing of the launcher leaks into the processes it runs; a second start reuses
 * the cache; two first starts at once both work; a truncated copy is refused; an upgrade (a new
 * file copied over, then `controller upgrade`) re-executes the new version under the same pid.
 */
import assert from "node:assert/strict";
import { decodeMap } from "../../protocol/codec.ts";
import { AGENT_JS, ask, exists, ProcWatch, reapKeeper, World } from "./harness.ts";
import { buildOneFile as build, otherMachineFile, sharedOneFile } from "./one_file.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** A node: a directory holding only the file, and a home of its own (nothing else inherited). */
interface Node {
  dir: string;
  home: string;
  file: string;
  env: Record<string, string>;
}

async function node(root: string, name: string, file: string): Promise<Node> {
  const dir = `${root}/${name}`;
  const home = `${root}/${name}-home`;
  await Deno.mkdir(dir);
  await Deno.mkdir(home);
  await Deno.copyFile(file, `${dir}/tutti-agent`);
  await Deno.chmod(`${dir}/tutti-agent`, 0o755);
  return { dir, home, file: `${dir}/tutti-agent`, env: { PATH: "/usr/bin:/bin", HOME: home } };
}

interface Started {
  proc: Deno.ChildProcess;
  stderr: string[];
}

/** Resolves on the next hello of `name` (subscribed once this resolves). */
async function nextHello(
  world: World,
  name: string,
): Promise<{ said: Promise<void>; off(): void }> {
  const hello = Promise.withResolvers<void>();
  const sub = world.nc.subscribe(world.subjects.presence(name), {
    callback: (_e, m) => {
      if (decodeMap(m.data).type === "hello") hello.resolve();
    },
  });
  await world.nc.flush();
  return { said: hello.promise, off: () => sub.unsubscribe() };
}

/** `./tutti-agent --server URL --name NAME` in the node's directory; resolves on its hello. */
async function start(world: World, n: Node, name: string): Promise<Started> {
  const hello = await nextHello(world, name);
  const proc = new Deno.Command("./tutti-agent", {
    args: ["--server", world.broker.url, "--name", name, "--state-dir", `${n.dir}/state-${name}`],
    cwd: n.dir,
    env: n.env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const s: Started = { proc, stderr: [] };
  (async () => {
    const d = new TextDecoder();
    for await (const c of proc.stderr) s.stderr.push(d.decode(c, { stream: true }));
  })().catch(() => {});
  const died = proc.status.then((st) => {
    throw new Error(`${name} exited (${st.code}) before hello:\n${s.stderr.join("")}`);
  });
  try {
    await Promise.race([hello.said, died]);
  } finally {
    hello.off();
  }
  return s;
}

async function stop(s: Started, stateDir: string): Promise<void> {
  try {
    s.proc.kill("SIGTERM");
  } catch { /* gone */ }
  await s.proc.status;
  reapKeeper(stateDir);
}

function exe(pid: number): string {
  return Deno.readLinkSync(`/proc/${pid}/exe`);
}

function environ(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** Runs `argv` on `host` and returns its stdout. */
async function runOn(world: World, host: string, id: string, argv: string[]): Promise<string> {
  const watch = await ProcWatch.open(world, host);
  try {
    const r = await ask(world, host, "run", { id, argv });
    assert.equal(r.body.ok, true, JSON.stringify(r.body));
    const exit = await watch.exit(id);
    assert.equal(exit.code, 0);
    return watch.text(id);
  } finally {
    watch.close();
  }
}

Deno.test(
  "the one-file agent: hello, a command, a Deno pid, its keeper, its cache reused",
  opts,
  async () => {
    const world = await World.create();
    let s: Started | undefined;
    try {
      const { file, digest } = await sharedOneFile();
      const n = await node(world.dir, "n1", file);
      s = await start(world, n, "one-1");
      const cache = `${n.home}/.cache/tutti/${digest}`;

      // exec, not fork: the pid that was started is the agent, and it is Deno from the cache.
      assert.equal(exe(s.proc.pid), `${cache}/deno`);
      assert.equal(environ(s.proc.pid).TUTTI_LAUNCHER, n.file);
      assert.equal(
        await runOn(world, "one-1", "hi", ["echo", "hello from one file"]),
        "hello from one file\n",
      );

      // The keeper was started through the same file.
      const keeper = Number(Deno.readTextFileSync(`${n.dir}/state-one-1/keeper.lock`).trim());
      assert.equal(exe(keeper), `${cache}/deno`);
      assert.equal(environ(keeper).TUTTI_LAUNCHER, n.file);
      const argv = Deno.readTextFileSync(`/proc/${keeper}/cmdline`).split("\0");
      assert.ok(argv.includes("keeper"), argv.join(" "));

      // What the launcher set is not passed on to the processes the agent runs.
      const env = await runOn(world, "one-1", "env", ["env"]);
      for (
        const name of ["TUTTI_LAUNCHER", "TUTTI_LAUNCHER_ENV", "DENO_DIR", "DENO_NO_UPDATE_CHECK"]
      ) {
        assert.ok(!env.includes(`${name}=`), `${name} leaked into a run's environment:\n${env}`);
      }
      assert.match(env, /^HOME=/m);

      // A second start reuses the cache: the same runtime file, nothing unpacked again.
      const inode = Deno.statSync(`${cache}/deno`).ino;
      await stop(s, `${n.dir}/state-one-1`);
      s = await start(world, n, "one-1");
      assert.equal(exe(s.proc.pid), `${cache}/deno`);
      assert.equal(Deno.statSync(`${cache}/deno`).ino, inode);
      assert.deepEqual(
        [...Deno.readDirSync(cache)].map((e) => e.name).sort(),
        ["agent.js", "deno", "deno-dir"],
        "the runtime, the bundle and Deno's own cache; no temporary file left",
      );
      assert.deepEqual(
        [...Deno.readDirSync(n.dir)].map((e) => e.name).sort(),
        ["state-one-1", "tutti-agent"],
        "nothing written beside the file",
      );
    } finally {
      if (s) await stop(s, `${world.dir}/n1/state-one-1`);
      await world.close();
    }
  },
);

Deno.test("the one-file agent: two first starts at once share one cache", opts, async () => {
  const world = await World.create();
  const started: Started[] = [];
  try {
    const { file, digest } = await sharedOneFile();
    const n = await node(world.dir, "n2", file);
    const both = await Promise.allSettled(
      ["pair-1", "pair-2"].map((name) => start(world, n, name)),
    );
    for (const r of both) if (r.status === "fulfilled") started.push(r.value);
    for (const r of both) if (r.status === "rejected") throw r.reason;
    const cache = `${n.home}/.cache/tutti/${digest}`;
    for (const s of started) assert.equal(exe(s.proc.pid), `${cache}/deno`);
    for (const name of ["pair-1", "pair-2"]) {
      assert.equal(await runOn(world, name, "hi", ["echo", name]), `${name}\n`);
    }
    assert.deepEqual(
      [...Deno.readDirSync(cache)].map((e) => e.name).sort(),
      ["agent.js", "deno", "deno-dir"],
    );
  } finally {
    await Promise.all(started.map((s, i) => stop(s, `${world.dir}/n2/state-pair-${i + 1}`)));
    await world.close();
  }
});

Deno.test("the one-file agent: fallback cache, truncated copy, wrong machine", opts, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tutti-one-file-" });
  try {
    const { file, digest } = await sharedOneFile();
    await Deno.copyFile(file, `${dir}/tutti-agent`);
    const run = async (file: string, env: Record<string, string>) => {
      const out = await new Deno.Command(file, {
        args: ["--help"],
        env: { PATH: "/usr/bin:/bin", ...env },
        clearEnv: true,
        stdin: "null",
      }).output();
      const d = new TextDecoder();
      return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
    };

    await t.step("a home that cannot hold a cache: TMPDIR/tutti-cache-UID", async () => {
      const tmp = `${dir}/tmp`;
      await Deno.mkdir(tmp);
      // Nothing can be created in /proc, whoever runs the test (root included).
      const r = await run(`${dir}/tutti-agent`, { HOME: "/proc", TMPDIR: tmp });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^usage: agent/);
      const fallback = `${tmp}/tutti-cache-${Deno.uid()}`;
      assert.ok(exists(`${fallback}/${digest}/agent.js`));
      assert.equal(Deno.statSync(fallback).mode! & 0o777, 0o700, "this user's alone");
    });

    await t.step("a truncated copy is refused, and leaves nothing half-written", async () => {
      const whole = await Deno.readFile(`${dir}/tutti-agent`);
      await Deno.writeFile(`${dir}/cut`, whole.subarray(0, whole.length - 1000), { mode: 0o755 });
      const cache = `${dir}/cut-cache`;
      const r = await run(`${dir}/cut`, { TUTTI_CACHE_DIR: cache });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^tutti-agent: cannot unpack the agent into /m, r.stderr);
      assert.deepEqual([...Deno.readDirSync(`${cache}/${digest}`)], [], "not even the runtime");
    });

    await t.step("a file for another machine type says so before unpacking anything", async () => {
      const other = await otherMachineFile(`${dir}/tutti-agent`, `${dir}/other`);
      const r = await run(`${dir}/other`, { TUTTI_CACHE_DIR: `${dir}/other-cache` });
      assert.equal(r.code, 1);
      const machine = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
      assert.equal(
        r.stderr,
        `tutti-agent: this file holds the runtime for ${other}; this machine is Linux ${machine} (uname -sm)\n`,
      );
      assert.ok(!exists(`${dir}/other-cache`));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "the one-file agent: a new file copied over, then upgrade: same pid, new version",
  opts,
  async () => {
    const world = await World.create();
    let s: Started | undefined;
    try {
      const { file, digest: first } = await sharedOneFile();
      // Another build: the same bundle and one more line, so another digest.
      await Deno.writeTextFile(
        `${world.dir}/agent.js`,
        (await Deno.readTextFile(AGENT_JS)) + "\n// another build\n",
      );
      const second = await build(`${world.dir}/agent.js`, `${world.dir}/tutti-agent-2`);
      assert.notEqual(first, second);
      const n = await node(world.dir, "n3", file);
      s = await start(world, n, "up-1");
      const pid = s.proc.pid;
      assert.equal(exe(pid), `${n.home}/.cache/tutti/${first}/deno`);

      // Installed as a new file renamed over the old one, as an installer does.
      await Deno.copyFile(`${world.dir}/tutti-agent-2`, `${n.dir}/.tutti-agent.new`);
      await Deno.rename(`${n.dir}/.tutti-agent.new`, n.file);
      const hello = await nextHello(world, "up-1");
      const up = await world.controller(["upgrade", "--hosts", "up-1"]);
      assert.equal(up.code, 0, up.stderr);
      await hello.said;
      hello.off();
      assert.equal(
        exe(pid),
        `${n.home}/.cache/tutti/${second}/deno`,
        "the same pid runs the new file",
      );
      assert.equal(await runOn(world, "up-1", "after", ["echo", "upgraded"]), "upgraded\n");
      assert.equal(s.proc.pid, pid);
    } finally {
      if (s) await stop(s, `${world.dir}/n3/state-up-1`);
      await world.close();
    }
  },
);
