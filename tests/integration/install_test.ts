/**
 * `controller install` against a real OpenSSH server the test starts on a
 * loopback port (tests/integration/sshd.ts: its own host key and config, a
 * key made for the test, the user running the tests). The "nodes" are ssh
 * host aliases of that server, each installed into its own directory
 * (`--dir .../{host}`); there is no systemd here, so each agent is a
 * detached process with a pid file (the systemd unit is checked by content
 * in tests/unit/install_unit_test.ts).
 *
 * Checked: each agent says hello under its name and runs a command, and is
 * Deno running from the one file's cache; a second install skips them; a new
 * version is an upgrade in place (same pids, a running process kept); a
 * change of options restarts them; --uninstall stops them and removes their
 * directories. Errors, exact: a key the server refuses, no ssh server, a
 * directory that cannot be written, a bad server URL (refused before
 * anything is copied), a server the agents cannot reach (no hello: what the
 * agent's log says), a file for another machine type, a disk too small.
 */
import assert from "node:assert/strict";
import {
  AGENT_JS,
  CONTROLLER_JS,
  DENO,
  exists,
  freePort,
  killPidFile,
  reapKeeper,
  World,
} from "./harness.ts";
import { buildOneFile, otherMachineFile, sharedOneFile } from "./one_file.ts";
import { TestSshd } from "./sshd.ts";

const opts = { sanitizeResources: false, sanitizeOps: false, ignore: TestSshd.binary() === null };

interface Setup {
  world: World;
  sshd: TestSshd;
  config: string;
  nodes: string;
  file: string;
  digest: string;
}

async function setup(): Promise<Setup> {
  const world = await World.create();
  const sshd = await TestSshd.start(await mkdir(`${world.dir}/sshd`));
  const config = await sshd.hosts(["n-1", "n-2", "n-3"]);
  // A key the server does not know, and a port where no ssh server listens: in a file of their
  // own, as ssh offers every IdentityFile of every matching Host block.
  await Deno.writeTextFile(
    `${world.dir}/sshd/bad_config`,
    [
      "Host stranger-1",
      "  HostName 127.0.0.1",
      `  Port ${sshd.port}`,
      `  IdentityFile ${world.dir}/sshd/stranger_ed25519`,
      "  IdentitiesOnly yes",
      "  IdentityAgent none",
      "  StrictHostKeyChecking no",
      "  UserKnownHostsFile /dev/null",
      "  LogLevel ERROR",
      "Host closed-1",
      "  HostName 127.0.0.1",
      `  Port ${freePort()}`,
      "",
    ].join("\n"),
  );
  const { file, digest } = await sharedOneFile();
  return { world, sshd, config, nodes: `${world.dir}/nodes`, file, digest };
}

async function mkdir(path: string): Promise<string> {
  await Deno.mkdir(path, { recursive: true });
  return path;
}

/** Whatever a failed test left: agents by their pid files, keepers, then sshd and the world. */
async function teardown(s: Setup): Promise<void> {
  for (const host of exists(s.nodes) ? [...Deno.readDirSync(s.nodes)].map((e) => e.name) : []) {
    const dir = `${s.nodes}/${host}`;
    killPidFile(`${dir}/agent.pid`, `${dir}/state`);
    reapKeeper(`${dir}/state`);
  }
  await s.sshd.stop();
  await s.world.close();
}

function install(s: Setup, hosts: string, ...more: string[]) {
  return s.world.controller([
    "install",
    "--ssh",
    hosts,
    "--ssh-config",
    s.config,
    "--dir",
    `${s.nodes}/{host}`,
    ...more,
  ]);
}

function pidOf(s: Setup, host: string): number {
  return Number(Deno.readTextFileSync(`${s.nodes}/${host}/agent.pid`).trim());
}

function alive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

const lines = (text: string) => text.trim().split("\n").filter((l) => l !== "").sort();

Deno.test(
  "install over ssh: hello, a command, skip, upgrade in place, options, uninstall",
  opts,
  async () => {
    const s = await setup();
    try {
      const hosts = ["n-1", "n-2", "n-3"];
      const first = await install(s, "n-[1-3]", "--agent", s.file);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stderr, "3 hosts: 3 installed\n");
      const said = lines(first.stdout);
      for (const [i, host] of hosts.entries()) {
        const pid = pidOf(s, host);
        assert.equal(
          said[i],
          `${host}: installed ${s.digest} in ${s.nodes}/${host}: detached process (no systemd), ` +
            `pid ${pid}, said hello`,
        );
        // The pid install started is the agent, Deno itself, from the one file's cache.
        assert.equal(
          Deno.readLinkSync(`/proc/${pid}/exe`),
          `${s.nodes}/${host}/cache/${s.digest}/deno`,
        );
      }
      const run = await s.world.controller([
        "run",
        "--hosts",
        "n-[1-3]",
        "--",
        "sh",
        "-c",
        "echo $TUTTI_HOST",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(lines(run.stdout), ["n-1: n-1", "n-2: n-2", "n-3: n-3"]);
      const pids = hosts.map((h) => pidOf(s, h));

      const again = await install(s, "n-[1-3]", "--agent", s.file);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stderr, "3 hosts: 3 skipped\n");
      assert.deepEqual(
        lines(again.stdout),
        hosts.map((h, i) =>
          `${h}: skipped: ${s.digest} already running in ${s.nodes}/${h}: ` +
          `detached process (no systemd), pid ${pids[i]}`
        ),
      );

      // A new version: each agent re-executes it under its pid, and what it runs goes on.
      const sleeper = await s.world.controller([
        "run",
        "--hosts",
        "n-1",
        "--id",
        "sleeper",
        "--detach",
        "--",
        "sleep",
        "600",
      ]);
      assert.equal(sleeper.code, 0, sleeper.stderr);
      const sleeperPid = Number(/pid (\d+)/.exec(sleeper.stdout)![1]);
      await Deno.writeTextFile(
        `${s.world.dir}/agent.js`,
        (await Deno.readTextFile(AGENT_JS)) + "\n// v2\n",
      );
      const digest2 = await buildOneFile(`${s.world.dir}/agent.js`, `${s.world.dir}/tutti-agent-2`);
      const up = await install(s, "n-[1-3]", "--agent", `${s.world.dir}/tutti-agent-2`);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stderr, "3 hosts: 3 upgraded\n");
      for (const [i, host] of hosts.entries()) {
        assert.equal(pidOf(s, host), pids[i]);
        assert.equal(
          Deno.readLinkSync(`/proc/${pids[i]}/exe`),
          `${s.nodes}/${host}/cache/${digest2}/deno`,
        );
        assert.deepEqual([...Deno.readDirSync(`${s.nodes}/${host}/cache`)].map((e) => e.name), [
          digest2,
        ]);
      }
      assert.match(
        lines(up.stdout)[0],
        new RegExp(`^n-1: upgraded in place ${s.digest} → ${digest2} `),
      );
      assert.ok(alive(sleeperPid), "the process the agent ran before the upgrade runs on");
      const ps = await s.world.controller(["ps", "--hosts", "n-1"]);
      assert.match(ps.stdout, /sleeper +\d+ +running/);

      // Other options: a clean stop, then the agent with its new options.
      const relabel = await install(
        s,
        "n-1",
        "--agent",
        `${s.world.dir}/tutti-agent-2`,
        "--agent-arg=--label=rack=r1",
      );
      assert.equal(relabel.code, 0, relabel.stderr);
      assert.match(
        relabel.stdout,
        new RegExp(`^n-1: reinstalled ${digest2} .*\\(options changed: pid ${pids[0]} stopped\\)`),
      );
      assert.ok(!alive(pids[0]));
      const where = await s.world.controller([
        "run",
        "--hosts",
        "n-*",
        "--where",
        "rack=r1",
        "--",
        "true",
      ]);
      assert.equal(where.stderr.trim().split("\n").at(-1), "1 host: 1 ok");

      const gone = await install(s, "n-[1-3]", "--uninstall");
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal(gone.stderr, "3 hosts: 3 removed\n");
      assert.equal(
        lines(gone.stdout)[1],
        `n-2: removed ${s.nodes}/n-2 (agent pid ${pids[1]} stopped)`,
      );
      for (const pid of [...pids, sleeperPid]) assert.ok(!alive(pid), `pid ${pid} is gone`);
      for (const host of hosts) {
        assert.ok(
          !exists(`${s.nodes}/${host}`),
          `${host}'s directory is gone`,
        );
      }
      const none = await install(s, "n-[1-3]", "--uninstall");
      assert.equal(none.stderr, "3 hosts: 3 not installed\n");
    } finally {
      await teardown(s);
    }
  },
);

Deno.test(
  "install over ssh: exact errors per host, and bad input refused before anything",
  opts,
  async (t) => {
    const s = await setup();
    try {
      await t.step("a key the server refuses; no ssh server on the port", async () => {
        const r = await s.world.controller([
          "install",
          "--ssh",
          "stranger-1,closed-1",
          "--ssh-config",
          `${s.world.dir}/sshd/bad_config`,
          "--dir",
          `${s.nodes}/{host}`,
          "--agent",
          s.file,
        ]);
        assert.equal(r.code, 1, r.stderr);
        const err = lines(r.stderr).filter((l) => / E[A-Z]+ /.test(l));
        assert.equal(err.length, 2, r.stderr);
        assert.match(
          err[1],
          /^stranger-1: EAUTH ssh stranger-1: authentication refused: \S+@127\.0\.0\.1: Permission denied \(publickey\)\.$/,
        );
        assert.match(
          err[0],
          /^closed-1: ECONNREFUSED ssh closed-1: connect to host 127\.0\.0\.1 port \d+: Connection refused$/,
        );
        assert.equal(r.stderr.trim().split("\n").at(-1), "2 hosts: 2 failed (closed-1,stranger-1)");
      });

      await t.step("a directory that cannot be written", async () => {
        // Root passes every permission check, but nothing can be created in sysfs.
        const dir = Deno.uid() === 0 ? "/sys/tutti-install-test" : await mkdir(`${s.world.dir}/ro`);
        if (Deno.uid() !== 0) await Deno.chmod(dir, 0o555);
        const r = await s.world.controller([
          "install",
          "--ssh",
          "n-1",
          "--ssh-config",
          s.config,
          "--dir",
          `${dir}/{host}`,
          "--agent",
          s.file,
        ]);
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(
            `^n-1: EACCES cannot write ${dir}/n-1: mkdir: cannot create directory .*${dir}.*: (Permission denied|Operation not permitted)\\n1 host: 1 failed \\(n-1\\)\\n$`,
          ),
        );
      });

      await t.step("a bad server URL is refused before anything is copied", async () => {
        const r = await install(s, "n-1", "--agent", s.file, "--agent-server", "ftp://x:1");
        assert.equal(r.code, 2);
        assert.equal(
          r.stderr,
          'controller install: EINVAL --agent-server "ftp://x:1": not a NATS server URL (nats://HOST:PORT, tls://, ws://, wss://)\n',
        );
        assert.ok(!exists(s.nodes));
      });

      await t.step("a server the agent cannot reach: no hello, and what its log says", async () => {
        const port = freePort();
        const r = await install(
          s,
          "n-1",
          "--agent",
          s.file,
          "--agent-server",
          `nats://127.0.0.1:${port}`,
          "--wait",
          "3s",
        );
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          new RegExp(
            `^n-1: ETIMEDOUT no hello from agent n-1 within 3s: pid \\d+ runs; its log: .*` +
              `connecting to nats://127\\.0\\.0\\.1:${port} \\(retrying until it answers\\)\\n`,
          ),
        );
        const off = await install(s, "n-1", "--uninstall");
        assert.equal(off.stderr, "1 host: 1 removed\n");
      });

      await t.step("a file for another machine type", async () => {
        const other = await otherMachineFile(s.file, `${s.world.dir}/other-agent`);
        const r = await install(s, "n-1", "--agent", `${s.world.dir}/other-agent`);
        assert.equal(r.code, 1);
        const machine = Deno.build.arch === "x86_64" ? "x86_64" : "aarch64";
        assert.equal(
          r.stderr,
          `n-1: ENOEXEC unsupported architecture: Linux ${machine} (uname -sm); the agent is built for ${other}\n` +
            "1 host: 1 failed (n-1)\n",
        );
        assert.ok(!exists(`${s.nodes}/n-1`), "nothing left on the host");
      });

      await t.step("a disk too small (an 8 MiB tmpfs, where this test may mount one)", async () => {
        const small = await mkdir(`${s.world.dir}/small`);
        const mounted = await new Deno.Command("mount", {
          args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", small],
          stdin: "null",
          stderr: "null",
        }).output().then((o) => o.success, () => false);
        if (!mounted) {
          console.log("no right to mount a tmpfs here: the ENOSPC case is not exercised");
          return;
        }
        try {
          const r = await s.world.controller([
            "install",
            "--ssh",
            "n-1",
            "--ssh-config",
            s.config,
            "--dir",
            `${small}/{host}`,
            "--agent",
            s.file,
          ]);
          assert.equal(r.code, 1);
          assert.match(
            r.stderr,
            new RegExp(
              `^n-1: ENOSPC no space left in ${small}/n-1: 8 MiB free, \\d+ MiB needed\\n`,
            ),
          );
        } finally {
          await new Deno.Command("umount", { args: ["-l", small], stdin: "null" }).output();
        }
      });
    } finally {
      await teardown(s);
    }
  },
);

Deno.test(
  "install without the one file: the Deno runtime and agent.js beside the controller",
  opts,
  async () => {
    const s = await setup();
    try {
      // A controller bundle with agent.js beside it and no tutti-agent.
      const ctl = await mkdir(`${s.world.dir}/ctl`);
      await Deno.copyFile(CONTROLLER_JS, `${ctl}/controller.js`);
      await Deno.copyFile(AGENT_JS, `${ctl}/agent.js`);
      const out = await new Deno.Command(DENO, {
        args: [
          "run",
          "-A",
          "--no-config",
          `${ctl}/controller.js`,
          "install",
          "--ssh",
          "n-1",
          "--ssh-config",
          s.config,
          "--dir",
          `${s.nodes}/{host}`,
        ],
        env: s.world.controllerEnv(),
        stdin: "null",
      }).output();
      const d = new TextDecoder();
      assert.equal(out.code, 0, d.decode(out.stderr));
      assert.match(
        d.decode(out.stdout),
        /^n-1: installed [0-9a-f]{16} in .*: detached process \(no systemd\), pid \d+, said hello\n$/,
      );
      const pid = pidOf(s, "n-1");
      assert.equal(Deno.readLinkSync(`/proc/${pid}/exe`), `${s.nodes}/n-1/deno`);
      const run = await s.world.controller([
        "run",
        "--hosts",
        "n-1",
        "--",
        "echo",
        "from the runtime and the bundle",
      ]);
      assert.equal(run.stdout, "n-1: from the runtime and the bundle\n");
      const gone = await install(s, "n-1", "--uninstall");
      assert.equal(gone.stderr, "1 host: 1 removed\n");
      assert.ok(!alive(pid));
    } finally {
      await teardown(s);
    }
  },
);
