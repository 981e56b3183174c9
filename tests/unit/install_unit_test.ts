/**
 * `controller install`'s pieces that need no host: the systemd unit it
 * writes (the shipped unit word for word as its template, this node's
 * command line quoted as systemd reads it, verified by systemd-analyze where
 * installed), the remote scripts (valid sh), ssh's failures turned into
 * exact errors, and --ssh expanded into destinations, names and directories.
 */
import assert from "node:assert/strict";
import {
  renderUnit,
  systemdWord,
  UNIT_TEMPLATE,
  unitName,
} from "../../controller/cli/install/unit.ts";
import {
  activateScript,
  diagnoseScript,
  probeScript,
  uninstallScript,
  uploadCommand,
} from "../../controller/cli/install/remote.ts";
import { sshArgs, sshError } from "../../controller/cli/install/ssh.ts";
import { expandTargets } from "../../controller/cli/install/hosts.ts";
import { shQuote } from "../../controller/cli/install/shell_quote.ts";

const SHIPPED = new URL("../../packaging/tutti-agent.service", import.meta.url);

function keys(text: string, section: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = "";
  for (const line of text.split("\n")) {
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) current = head[1];
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv && current === section) (out[kv[1]] ??= []).push(kv[2]);
  }
  return out;
}

Deno.test("install's unit template is packaging/tutti-agent.service, word for word", async () => {
  assert.equal(UNIT_TEMPLATE, await Deno.readTextFile(SHIPPED));
});

Deno.test("the unit for a node: its command line and cache, the shipped unit's stop and reload", () => {
  const dir = "/opt/tutti";
  const text = renderUnit({
    name: "n-1",
    dir,
    argv: [
      `${dir}/tutti-agent`,
      "--name",
      "n-1",
      "--state-dir",
      `${dir}/state`,
      "--label",
      "a b=50%",
    ],
    env: { TUTTI_CACHE_DIR: `${dir}/cache` },
    scope: "system",
  });
  const s = keys(text, "Service");
  assert.deepEqual(s.ExecStart, [
    '/opt/tutti/tutti-agent --name n-1 --state-dir /opt/tutti/state --label "a b=50%%"',
  ]);
  assert.deepEqual(s.Environment, ["TUTTI_CACHE_DIR=/opt/tutti/cache"]);
  assert.deepEqual(s.KillMode, ["process"]);
  assert.deepEqual(s.ExecReload, ["/bin/kill -USR1 $MAINPID"]);
  assert.deepEqual(s.Restart, ["on-failure"]);
  assert.equal(s.StateDirectory, undefined, "the state is in the install directory");
  assert.equal(s.CacheDirectory, undefined);
  assert.deepEqual(keys(text, "Install").WantedBy, ["multi-user.target"]);
  assert.deepEqual(keys(text, "Unit").After, ["network-online.target"]);
  assert.match(text, /^Description=.*\(n-1\)$/m);

  const user = renderUnit({ name: "n-1", dir, argv: ["/x"], env: {}, scope: "user" });
  assert.deepEqual(keys(user, "Install").WantedBy, ["default.target"]);
  assert.equal(
    keys(user, "Unit").After,
    undefined,
    "a user's manager has no network-online.target",
  );
  assert.equal(keys(user, "Service").Environment, undefined);
  assert.equal(unitName("n-1"), "tutti-agent-n-1.service");
});

Deno.test("systemd words: specifiers and variables doubled, blanks and quotes quoted", () => {
  assert.equal(systemdWord("/opt/tutti/tutti-agent"), "/opt/tutti/tutti-agent");
  assert.equal(systemdWord("50%"), "50%%");
  assert.equal(systemdWord("$HOME"), "$$HOME");
  assert.equal(systemdWord("a b"), '"a b"');
  assert.equal(systemdWord('say "hi"'), '"say \\"hi\\""');
  assert.equal(systemdWord(""), '""');
});

Deno.test("systemd-analyze verify accepts the unit install writes (where it is installed)", async () => {
  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (analyze === undefined) {
    console.log("systemd-analyze is not installed: the unit's content is checked above only");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    // A program that exists here stands for the agent.
    await Deno.copyFile("/bin/true", `${dir}/tutti-agent`);
    await Deno.chmod(`${dir}/tutti-agent`, 0o755);
    for (const scope of ["system", "user"] as const) {
      const unit = `${dir}/${unitName("n-1")}`;
      await Deno.writeTextFile(
        unit,
        renderUnit({
          name: "n-1",
          dir,
          argv: [`${dir}/tutti-agent`, "--name", "n-1", "--label", "k=a b"],
          env: { TUTTI_CACHE_DIR: `${dir}/cache` },
          scope,
        }),
      );
      const out = await new Deno.Command(analyze, {
        args: [...(scope === "user" ? ["--user"] : []), "verify", unit],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(out.stderr).split("\n")
        // Complaints about this sandbox (no running systemd, no such targets), not about the unit.
        .filter((l) =>
          l.includes(unitName("n-1")) && !/network-online|multi-user|default\.target/.test(l)
        );
      assert.deepEqual(said, [], `${scope}: ${said.join("\n")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every remote script is valid sh, whatever the values it carries", async () => {
  const odd = `/tmp/it's a "dir" $(rm -rf /) \`x\``;
  const scripts = [
    probeScript(odd, "install"),
    probeScript("", "uninstall"),
    uninstallScript(odd),
    diagnoseScript(odd, "process", "tutti-agent-x.service", "12"),
    activateScript({
      dir: odd,
      action: "restart",
      service: "user",
      unit: "tutti-agent-x.service",
      old: { service: "process", unit: "", pid: "12" },
      files: ["tutti-agent"],
      argv: [`${odd}/tutti-agent`, "--name", "x"],
      env: { TUTTI_CACHE_DIR: `${odd}/cache` },
      checkArgv: [`${odd}/.upload/tutti-agent`, "--name", "x"],
      secrets: { "agent.nk": "SUAB\nTUTTI_EOF\n" },
      unitText: "[Unit]\nDescription=x\n",
      info: "digest=x\n",
      keepCache: "x",
    }),
    `sh -c ${shQuote("exit 0")} && ${uploadCommand(odd, "tutti-agent")}`,
  ];
  for (const s of scripts) {
    const child = new Deno.Command("sh", { args: ["-n"], stdin: "piped", stderr: "piped" }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(s));
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, `${new TextDecoder().decode(out.stderr)}\n${s}`);
  }
  // A secret holding the delimiter's own line cannot end its here-document early.
  const a = scripts[4];
  assert.match(a, /<<'TUTTI_EOF_' \|\|/);
});

Deno.test("ssh's own failures become exact errors", () => {
  const cases: [string, string, RegExp][] = [
    [
      "u@127.0.0.1: Permission denied (publickey).",
      "EAUTH",
      /^ssh n-1: authentication refused: u@127\.0\.0\.1: Permission denied \(publickey\)\.$/,
    ],
    ["Host key verification failed.", "EHOSTKEY", /Host key verification failed/],
    [
      "ssh: connect to host 127.0.0.1 port 1: Connection refused",
      "ECONNREFUSED",
      /^ssh n-1: connect to host 127\.0\.0\.1 port 1: Connection refused$/,
    ],
    [
      "ssh: Could not resolve hostname n-1: Name or service not known",
      "EHOSTUNREACH",
      /host unreachable: Could not resolve hostname/,
    ],
    ["ssh: connect to host 10.0.0.1 port 22: No route to host", "EHOSTUNREACH", /No route to host/],
    [
      "ssh: connect to host 10.0.0.1 port 22: Connection timed out",
      "ETIMEDOUT",
      /Connection timed out/,
    ],
    [
      "kex_exchange_identification: read: Connection reset by peer",
      "ESSH",
      /Connection reset by peer/,
    ],
  ];
  for (const [stderr, code, message] of cases) {
    const e = sshError("n-1", `${stderr}\n`);
    assert.equal(e.code, code, stderr);
    assert.match(e.message, message);
  }
  // Never a prompt; the user's options before tutti's defaults (ssh keeps the first value).
  const args = sshArgs({ options: ["ConnectTimeout=3"], port: "2222", user: "me" }, "n-1", "sh -s");
  assert.deepEqual(args.slice(0, 4), ["-o", "BatchMode=yes", "-o", "ConnectTimeout=3"]);
  assert.ok(args.indexOf("ConnectTimeout=3") < args.indexOf("ConnectTimeout=10"));
  assert.deepEqual(args.slice(-3), ["--", "n-1", "sh -s"]);
});

Deno.test("--ssh: node sets with domains, host files, names and directories from {host}", () => {
  const files: Record<string, string> = { "nodes.txt": "# OAR\nroot@gros-7.nancy.g5k\ngros-8\n" };
  const t = expandTargets(
    "gros-[1-2].nancy.g5k,@nodes.txt",
    { dir: "/tmp/t/{host}" },
    (p) => files[p],
  );
  assert.deepEqual(t.map((x) => [x.dest, x.host, x.name, x.dir]), [
    ["gros-1.nancy.g5k", "gros-1", "gros-1", "/tmp/t/gros-1"],
    ["gros-2.nancy.g5k", "gros-2", "gros-2", "/tmp/t/gros-2"],
    ["root@gros-7.nancy.g5k", "gros-7", "gros-7", "/tmp/t/gros-7"],
    ["gros-8", "gros-8", "gros-8", "/tmp/t/gros-8"],
  ]);
  assert.equal(expandTargets("n1", { name: "agent-{host}" })[0].name, "agent-n1");
  assert.equal(expandTargets("n1", {})[0].dir, "", "the default directory is the host's to choose");
  assert.throws(() => expandTargets("n-*", {}), /name the hosts/);
  assert.throws(() => expandTargets("n1,n2", { name: "same" }), /would both be agent same/);
  assert.throws(() => expandTargets("n1", { name: "a.b" }), /agent name "a\.b"/);
});
