/**
 * The CLI without a broker: option parsing, global options before or after
 * the verb, usage errors (one line + usage, exit 2), bad selectors refused
 * before connecting (EBADSEL, exit 2), and `--help`.
 */
import assert from "node:assert/strict";
import { parseArgv } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { controllerMain } from "../../controller/main.ts";
import { controllerOptions, GLOBAL_OPTIONS, splitVerb } from "../../controller/options.ts";
import { MemoryOut } from "../../controller/render/out.ts";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = new MemoryOut();
  // A port nobody listens on: any test that reached the broker would fail loudly.
  const code = await controllerMain(["-s", "nats://127.0.0.1:1", ...args], o);
  return { code, out: o.out, err: o.err };
}

Deno.test("parseArgv: long, inline, short, repeated options and the end of options", () => {
  const table = {
    hosts: { type: "string" as const },
    where: { type: "string" as const, multiple: true },
    json: { type: "boolean" as const },
    server: { type: "string" as const, short: "s", multiple: true },
  };
  const p = parseArgv(
    ["--hosts", "a", "--where=k=v", "--where", "x=y", "-s", "u1", "-su2", "--json", "--", "-x"],
    table,
  );
  assert.deepEqual(p.values, {
    hosts: "a",
    where: ["k=v", "x=y"],
    server: ["u1", "u2"],
    json: true,
  });
  assert.deepEqual(p.positionals, ["-x"]);
  const run = parseArgv(["--hosts", "a", "echo", "-n", "--json"], table, { stopAtWord: true });
  assert.deepEqual(run.positionals, ["echo", "-n", "--json"], "options end at the command");
  assert.equal(run.values.json, undefined);
});

Deno.test("parseArgv: precise one-line errors", () => {
  const table = { hosts: { type: "string" as const }, json: { type: "boolean" as const } };
  assert.throws(() => parseArgv(["--frob"], table), new UsageError("unknown option --frob"));
  assert.throws(() => parseArgv(["--frob=1"], table), new UsageError("unknown option --frob"));
  assert.throws(() => parseArgv(["-q"], table), new UsageError("unknown option -q"));
  assert.throws(
    () => parseArgv(["--hosts"], table),
    new UsageError("option --hosts needs a value"),
  );
  assert.throws(
    () => parseArgv(["--json=yes"], table),
    new UsageError("option --json takes no value"),
  );
});

Deno.test("the verb is found after global options with their values", () => {
  assert.deepEqual(splitVerb(["-s", "nats://x:1", "--prefix=p", "run", "--hosts", "a"]), {
    verb: "run",
    rest: ["-s", "nats://x:1", "--prefix=p", "--hosts", "a"],
  });
  assert.deepEqual(splitVerb(["--server", "u", "hosts"]).verb, "hosts");
  assert.deepEqual(splitVerb(["--help"]).verb, null);
  const o = controllerOptions(
    parseArgv(["-s", "a,b", "-s", "c", "--ack-timeout", "2s"], GLOBAL_OPTIONS).values,
  );
  assert.deepEqual(o.servers, ["a", "b", "c"]);
  assert.equal(o.ackTimeoutMs, 2000);
});

Deno.test("usage errors: one line naming the problem, where help is, exit 2", async () => {
  const cases: [string[], string][] = [
    [["run", "--hosts", "a", "--frob", "--", "true"], "controller run: unknown option --frob"],
    [["run", "--hosts", "a"], "controller run: missing the command to run"],
    [["run", "--", "true"], "controller run: missing --hosts SEL"],
    [
      ["run", "--hosts", "a", "--timeout", "soon", "true"],
      'controller run: --timeout "soon" is not a duration',
    ],
    [["kill", "--hosts", "a"], "controller kill: missing the process id(s) PROC..."],
    [["signal", "--hosts", "a", "p1"], "controller signal: missing --signal S"],
    [
      ["kill", "--hosts", "a", "--signal", "SIGFOO", "p1"],
      'controller kill: --signal: unknown signal "SIGFOO"',
    ],
    [["logs", "t-1"], "controller logs: missing HOST or PROC"],
    [["sub"], "controller sub: missing SUBJECT"],
    [["hosts", "--forget"], "controller hosts: --forget needs at least one HOST"],
    [["install"], "controller install: missing --ssh SEL"],
    [
      ["install", "--ssh", "n1", "--fanout", "0"],
      'controller install: --fanout "0": expected a whole number ≥ 1',
    ],
    [
      ["install", "--ssh", "n1", "--service", "cron"],
      'controller install: --service "cron": expected auto, systemd or process',
    ],
  ];
  for (const [args, first] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, args.join(" "));
    const lines = r.err.split("\n");
    assert.ok(lines[0].startsWith(first), `${lines[0]} should start with ${first}`);
    // Not the whole usage (40 lines): where to find it.
    assert.deepEqual(lines.slice(1), [`see \`controller ${args[0]} --help\``, ""]);
  }
  // Nothing at all: the usage is what the user is after.
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.err, /^controller: missing VERB\nusage: controller /);
  const flag = await cli("--no-such-flag");
  assert.equal(flag.code, 2);
  assert.equal(flag.err, "controller: unknown option --no-such-flag\nsee `controller --help`\n");
  const unknown = await cli("frobnicate");
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, 'controller: unknown verb "frobnicate"\nsee `controller --help`\n');
});

Deno.test("a bad selector is refused before connecting: EBADSEL, exit 2", async () => {
  const r = await cli("run", "--hosts", "g5k-[1-", "--", "true");
  assert.equal(r.code, 2);
  assert.equal(r.err, 'controller run: EBADSEL bad selector "g5k-[1-": unclosed "[" at column 5\n');
  const where = await cli("ps", "--where", "rack");
  assert.equal(where.code, 2);
  assert.match(where.err, /^controller ps: EBADSEL label condition "rack": expected LABEL=VALUE/);
  const file = await cli("kill", "--hosts", "@/nonexistent/nodes", "p1");
  assert.equal(file.code, 2);
  assert.match(
    file.err,
    /^controller kill: EBADSEL host file "\/nonexistent\/nodes" cannot be read/,
  );
  const id = await cli("run", "--hosts", "a", "--id", "bad id", "true");
  assert.equal(id.code, 2);
  assert.match(id.err, /EINVAL process id "bad id" is not a valid name/);
});

Deno.test("install refuses a glob, a bad server URL and an unreadable key before any ssh", async () => {
  const glob = await cli("install", "--ssh", "n-*");
  assert.equal(glob.code, 2);
  assert.match(glob.err, /^controller install: EBADSEL --ssh "n-\*": name the hosts/);
  const url = await cli("install", "--ssh", "n1", "--agent-server", "nats://bad host:4222");
  assert.equal(url.code, 2);
  assert.equal(
    url.err,
    'controller install: EINVAL --agent-server "nats://bad host:4222": not a NATS server URL ' +
      "(nats://HOST:PORT, tls://, ws://, wss://)\n",
  );
  const key = await cli("install", "--ssh", "n[1-2]", "--agent-nkey", "/nonexistent/{host}.nk");
  assert.equal(key.code, 2);
  assert.match(
    key.err,
    /^controller install: EINVAL --agent-nkey \/nonexistent\/n1\.nk \(for n1\): /,
  );
});

Deno.test("an unreachable broker is one clear line and exit 1", async () => {
  const r = await cli("hosts");
  assert.equal(r.code, 1);
  assert.equal(r.err, "controller: cannot connect to nats://127.0.0.1:1: connection refused\n");
});

Deno.test("--help prints the usage on stdout and exits 0", async () => {
  const main = await cli("--help");
  assert.equal(main.code, 0);
  assert.match(main.out, /^usage: controller \[options\] VERB/);
  for (const verb of ["hosts", "run", "ps", "kill", "signal", "logs", "sub", "install"]) {
    const r = await cli(verb, "--help");
    assert.equal(r.code, 0, verb);
    assert.ok(r.out.startsWith(`usage: controller ${verb}`), r.out);
    assert.match(r.out, /global options/);
  }
});

Deno.test("nats-config counts in words: 1 agent, 1 seed", async () => {
  const keys = await Deno.makeTempDir();
  try {
    const r = await cli("nats-config", "--agents", "solo", "--keys", keys);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /, 1 agent: solo\n/);
    assert.equal(
      r.err,
      `3 users (controller, viewer, 1 agent): 3 seeds created, 0 kept in ${keys}\n`,
    );
    const again = await cli("nats-config", "--agents", "solo,duo", "--keys", keys);
    assert.match(again.err, /\(controller, viewer, 2 agents\): 1 seed created, 3 kept/);
  } finally {
    await Deno.remove(keys, { recursive: true });
  }
});
