/**
 * The recommended deployment: a nats-server whose configuration is the one
 * `controller nats-config` writes (one NKey user per agent, a controller
 * user, a viewer user, subject permissions per role). The normal path works
 * through it; a viewer, an anonymous client and an agent's own key cannot
 * make any agent run anything, by the CLI or by raw messages, and each is
 * told why at once. The same raw request sent with the controller's key does
 * run, which proves the refused ones were refused by the server, not
 * malformed. An agent's key cannot answer for another host either: its
 * replies carry its own name in the subject, every other reply subject is
 * refused by the server, and a reply whose body names another host is
 * ignored by the controller.
 */
import assert from "node:assert/strict";
import {
  connect,
  headers,
  type NatsConnection,
  nkeyAuthenticator,
  PermissionViolationError,
} from "@nats-io/transport-node";
import { encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { ask, CONTROLLER_JS, DENO, exists, jsonLines, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const HOSTS = ["sec-1", "sec-2", "sec-3"];

function lastLine(s: string): string {
  return s.trimEnd().split("\n").at(-1)!;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(DENO, {
    args: ["run", "-A", "--no-config", CONTROLLER_JS, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function seed(path: string): Promise<Uint8Array> {
  return new TextEncoder().encode((await Deno.readTextFile(path)).trim());
}

/**
 * The first `n` permission violations the server reports to `nc` (sorted);
 * rejects after `timeoutMs` with those seen, when fewer came.
 */
async function denials(nc: NatsConnection, n: number, timeoutMs = 10_000): Promise<string[]> {
  const seen: string[] = [];
  const all = Promise.withResolvers<string[]>();
  (async () => {
    for await (const s of nc.status()) {
      if (s.type !== "error" || !(s.error instanceof PermissionViolationError)) continue;
      seen.push(`${s.error.operation} ${s.error.subject}`);
      if (seen.length === n) return all.resolve([...seen].sort());
    }
  })();
  const timer = setTimeout(
    () => all.reject(new Error(`${seen.length} of ${n} permission violations: ${seen.join(", ")}`)),
    timeoutMs,
  );
  try {
    return await all.promise;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(
  "users and permissions: only a controller's key can make an agent run anything",
  opts,
  async () => {
    const keysDir = await Deno.makeTempDir({ prefix: "tutti-keys-" });
    const keys = `${keysDir}/keys`;
    const conf = `${keysDir}/tutti-auth.conf`;
    const made = await cli([
      "nats-config",
      "--agents",
      "sec-[1-3]",
      "--keys",
      keys,
      "--out",
      conf,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(
      made.stderr,
      `5 users (controller, viewer, 3 agents): 5 seeds created, 0 kept in ${keys}\n`,
    );
    // Written again for one more agent: the keys already handed out stay.
    const before = await Deno.readTextFile(`${keys}/agents/sec-1.nk`);
    const again = await cli(["nats-config", "--agents", "sec-[1-4]", "--keys", keys]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^6 users .*: 1 seed created, 5 kept/);
    assert.equal(await Deno.readTextFile(`${keys}/agents/sec-1.nk`), before);
    assert.equal((await Deno.stat(`${keys}/agents/sec-4.nk`)).mode! & 0o777, 0o600);
    const glob = await cli(["nats-config", "--agents", "sec-*", "--keys", keys]);
    assert.equal(glob.code, 2);
    assert.match(glob.stderr, /EBADSEL .*name them exactly/);

    const world = await World.create({
      brokerArgs: ["-c", conf],
      connect: { authenticator: nkeyAuthenticator(await seed(`${keys}/controller.nk`)) },
    });
    const attackers: NatsConnection[] = [];
    try {
      await Promise.all(
        HOSTS.map((h) => world.agent(h, { args: ["--nkey", `${keys}/agents/${h}.nk`] })),
      );
      const asEnv = (who: string): Record<string, string> =>
        who === "anonymous" ? {} : { NATS_NKEY: `${keys}/${who}` };
      const run = (who: string, args: string[]) => world.controller(args, { env: asEnv(who) });

      // The controller's key: everything works.
      const ok = await run("controller.nk", ["run", "--hosts", "sec-[1-3]", "--", "echo", "hi"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(lastLine(ok.stderr), "3 hosts: 3 ok");
      assert.equal(ok.stdout.split("\n").filter((l) => l === "hi" || / hi$/.test(l)).length, 3);

      // The viewer's key: reads (hosts, ps), but cannot run, signal or shut down.
      const hosts = await run("viewer.nk", ["hosts", "--json"]);
      assert.equal(hosts.code, 0, hosts.stderr);
      assert.deepEqual(jsonLines(hosts.stdout).map((h) => `${h.host}:${h.state}`), [
        "sec-1:up",
        "sec-2:up",
        "sec-3:up",
      ]);
      const ps = await run("viewer.nk", ["ps", "--hosts", "sec-[1-3]", "--all"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.equal(ps.stdout.split("\n").filter((l) => / echo hi$/.test(l)).length, 3, ps.stdout);
      const marker = `${world.dir}/ran`;
      const cmd = ["--", "touch", marker];
      for (
        const [who, args, refused] of [
          ["viewer.nk", ["run", "--hosts", "sec-[1-3]", ...cmd], /publish to "tutti\.all\.run"/],
          ["viewer.nk", ["shutdown", "--hosts", "sec-2"], /publish to "tutti\.all\.shutdown"/],
          ["viewer.nk", ["kill", "--hosts", "sec-2", "some-id"], /publish to "tutti\.all\.signal"/],
          ["agents/sec-1.nk", ["run", "--hosts", "sec-2", ...cmd], /EPERM .*subscribe to/],
          ["viewer.nk", ["sub", "tutti.>", "--count", "1"], /subscribe to "tutti\.>"/],
        ] as [string, string[], RegExp][]
      ) {
        const r = await run(who, args);
        assert.equal(r.code, 1, `${who} ${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, /^controller \w+: EPERM the NATS server refused/m);
        assert.match(r.stderr, refused);
        assert.match(r.stderr, /controller rights/);
      }
      const anon = await run("anonymous", ["run", "--hosts", "sec-[1-3]", ...cmd]);
      assert.equal(anon.code, 1);
      assert.match(anon.stderr, /cannot connect to .*: Authorization Violation: .*credentials/);

      // Raw messages, as a hand-written client would send them.
      const request = (id: string) =>
        encode({ v: PROTOCOL_VERSION, id, shell: `touch ${marker}-${id}` });
      const broadcastRun = (id: string) =>
        encode({
          v: PROTOCOL_VERSION,
          id,
          shell: `touch ${marker}-${id}`,
          target: { hosts: "sec-[1-3]" },
        });
      const s = world.subjects;
      const viewer = await connect({
        servers: world.broker.url,
        authenticator: nkeyAuthenticator(await seed(`${keys}/viewer.nk`)),
      });
      const agent1 = await connect({
        servers: world.broker.url,
        authenticator: nkeyAuthenticator(await seed(`${keys}/agents/sec-1.nk`)),
      });
      attackers.push(viewer, agent1);
      const viewerDenied = denials(viewer, 5);
      viewer.publish(s.host("sec-2", "run"), request("v1"));
      viewer.publish(s.all("run"), broadcastRun("v2"));
      viewer.publish(s.host("sec-2", "shutdown"), encode({ v: PROTOCOL_VERSION }));
      viewer.publish(s.host("sec-2", "watch"), encode({ v: PROTOCOL_VERSION }));
      viewer.subscribe(s.host("*", "*")); // reading others' commands (and their env)
      const agentDenied = denials(agent1, 6);
      agent1.publish(s.host("sec-2", "run"), request("a1"));
      agent1.publish(s.all("run"), broadcastRun("a2"));
      agent1.publish(s.proc("sec-2", "forged", "exit"), encode({ v: PROTOCOL_VERSION }));
      agent1.publish(s.presence("sec-2"), encode({ v: PROTOCOL_VERSION, type: "bye" }));
      agent1.subscribe(s.hostAll("sec-2"));
      agent1.subscribe(s.proc("*", "*", "*"));
      assert.deepEqual(await viewerDenied, [
        "publish tutti.all.run",
        "publish tutti.host.sec-2.run",
        "publish tutti.host.sec-2.shutdown",
        "publish tutti.host.sec-2.watch",
        "subscription tutti.host.*.*",
      ]);
      assert.deepEqual(await agentDenied, [
        "publish tutti.all.run",
        "publish tutti.host.sec-2.run",
        "publish tutti.presence.sec-2",
        "publish tutti.proc.sec-2.forged.exit",
        "subscription tutti.host.sec-2.*",
        "subscription tutti.proc.*.*.*",
      ]);

      // Every agent is up, ran nothing it was not asked to by the controller, and wrote nothing.
      for (const h of HOSTS) {
        const r = await ask(world, h, "ps", { all: true });
        const commands = (r.body.procs as { argv: string[] }[]).map((p) => p.argv.join(" "));
        assert.deepEqual(commands, ["echo hi"], `${h}: ${JSON.stringify(r.body)}`);
      }
      for (const id of ["", "-v1", "-v2", "-a1", "-a2"]) {
        assert.equal(exists(`${marker}${id}`), false, `${marker}${id} exists`);
      }

      // The same raw request with the controller's key runs: the refusals were the server's.
      const watch = await ProcWatch.open(world, "sec-2", "c1");
      const accepted = await ask(world, "sec-2", "run", { id: "c1", shell: `touch ${marker}-c1` });
      assert.equal(accepted.body.ok, true, JSON.stringify(accepted.body));
      assert.equal((await watch.exit("c1")).code, 0);
      watch.close();
      assert.equal(exists(`${marker}-c1`), true);
    } finally {
      await Promise.all(attackers.map((nc) => nc.close()));
      await world.close();
      await Deno.remove(keysDir, { recursive: true }).catch(() => {});
    }
  },
);

/**
 * With an agent's key (sec-1's, as nats-config made it): answers the first
 * broadcast of `verb` it receives in every way of speaking for another host,
 * each reply a copy of `real` (a genuine reply of that verb) under another
 * name. Resolves with that broadcast's reply subject once all are sent.
 */
function forgeAnswers(
  nc: NatsConnection,
  s: Subjects,
  verb: string,
  real: Record<string, unknown>,
): Promise<string> {
  const sent = Promise.withResolvers<string>();
  nc.subscribe(s.all(verb), {
    max: 1,
    callback: (_e, m) => {
      const to = m.reply!;
      const as = (host: string) => encode({ ...real, host });
      nc.publish(`${to}.sec-2`, as("sec-2")); // another real host's answer
      nc.publish(`${to}.sec-9`, as("sec-9")); // a host that does not exist
      nc.publish(to, new Uint8Array(), { headers: headers(503, "No Responders") }); // "nobody is there"
      nc.publish("_INBOX.forged", as("sec-2")); // a client's inbox, as before
      nc.publish(`${to}.sec-1`, as("sec-9")); // its own subject, another name in the body
      nc.flush().then(() => sent.resolve(to), sent.reject);
    },
  });
  return sent.promise;
}

Deno.test(
  "replies: an agent's key cannot answer for another host, inside a broadcast or elsewhere",
  opts,
  async () => {
    const keysDir = await Deno.makeTempDir({ prefix: "tutti-keys-" });
    const keys = `${keysDir}/keys`;
    const made = await cli([
      "nats-config",
      "--agents",
      "sec-[1-3]",
      "--keys",
      keys,
      "--out",
      `${keysDir}/auth.conf`,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const world = await World.create({
      brokerArgs: ["-c", `${keysDir}/auth.conf`],
      connect: { authenticator: nkeyAuthenticator(await seed(`${keys}/controller.nk`)) },
    });
    let attacker: NatsConnection | undefined;
    try {
      await Promise.all(
        HOSTS.map((h) => world.agent(h, { args: ["--nkey", `${keys}/agents/${h}.nk`] })),
      );
      const s = world.subjects;
      const env = { NATS_NKEY: `${keys}/controller.nk` };
      // Genuine replies to copy, so that only the name can give a forgery away.
      const realPing = (await ask(world, "sec-2", "ping")).body;
      const realRun = (await ask(world, "sec-2", "run", { id: "model", argv: ["true"] })).body;
      assert.equal(realRun.ok, true, JSON.stringify(realRun));

      attacker = await connect({
        servers: world.broker.url,
        authenticator: nkeyAuthenticator(await seed(`${keys}/agents/sec-1.nk`)),
      });
      const id = (subject: string) => subject.split(".")[2];
      const named = (denied: string[], to: string, as: string) =>
        denied.map((d) => d.replace(id(to), as));

      // Nor may it read the replies of others (a single host's request is only its own business).
      const listening = denials(attacker, 1);
      attacker.subscribe(s.replies("*"));
      assert.deepEqual(await listening, ["subscription tutti.reply.*.>"]);

      // A run on a glob: every host that answers is taken in (discovery), so a forged one would be.
      const runDenied = denials(attacker, 4);
      const runForged = forgeAnswers(attacker, s, "run", realRun);
      await attacker.flush();
      const gate = `${world.dir}/gate`;
      const c = world.spawnController([
        "run",
        "--hosts",
        "sec-*",
        "--id",
        "forged",
        "--json",
        "--",
        "sh",
        "-c",
        `while [ ! -e ${gate} ]; do sleep 0.05; done; echo hi`,
      ], { env });
      const to = await runForged;
      assert.deepEqual(named(await runDenied, to, "<id>"), [
        "publish _INBOX.forged",
        "publish tutti.reply.<id>.run",
        "publish tutti.reply.<id>.run.sec-2",
        "publish tutti.reply.<id>.run.sec-9",
      ]);
      // The one the server let through (sec-1's own subject) is ignored, and said so.
      await c.waitFor(
        "the forged reply ignored",
        (out) => jsonLines(out).some((e) => e.type === "ignored"),
      );
      await Deno.writeTextFile(gate, "");
      const r = await c.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lastLine(r.stderr), "3 hosts: 3 ok");
      const events = jsonLines(r.stdout);
      const ignored = events.filter((e) => e.type === "ignored");
      assert.deepEqual(
        ignored.map((e) => [e.subject, e.host, (e.error as { code: string }).code]),
        [
          [s.reply(id(to), "run", "sec-1"), "sec-1", "EBADMSG"],
        ],
      );
      assert.match(
        (ignored[0].error as { message: string }).message,
        /on sec-1's subject says it is from "sec-9"/,
      );
      const summary = events.find((e) => e.type === "summary") as { hosts: { host: string }[] };
      assert.deepEqual(summary.hosts.map((h) => h.host), HOSTS);
      const reported = new Set(events.filter((e) => e.type !== "ignored").map((e) => e.host));
      reported.delete(undefined); // the summary
      assert.deepEqual([...reported].sort(), HOSTS);
      for (const h of HOSTS) {
        const exit = events.find((e) => e.type === "exit" && e.host === h);
        assert.equal(exit?.code, 0, `${h}: ${JSON.stringify(exit)}`);
      }

      // A ping of every agent (`hosts`): the real three, nobody unreachable, no sec-9.
      const pingDenied = denials(attacker, 4);
      const pingForged = forgeAnswers(attacker, s, "ping", realPing);
      await attacker.flush();
      const hosts = await world.controller(["hosts", "--json"], { env });
      assert.equal(hosts.code, 0, hosts.stderr);
      const lines = jsonLines(hosts.stdout);
      assert.deepEqual(
        lines.filter((h) => h.type !== "ignored").map((h) => `${h.host}:${h.state}`),
        [
          "sec-1:up",
          "sec-2:up",
          "sec-3:up",
        ],
      );
      const pinged = await pingForged;
      // The forgery on sec-1's subject, if it came while the ping was open, and nothing else.
      for (const e of lines.filter((h) => h.type === "ignored")) {
        assert.equal(e.subject, s.reply(id(pinged), "ping", "sec-1"), JSON.stringify(e));
      }
      assert.deepEqual(named(await pingDenied, pinged, "<id>"), [
        "publish _INBOX.forged",
        "publish tutti.reply.<id>.ping",
        "publish tutti.reply.<id>.ping.sec-2",
        "publish tutti.reply.<id>.ping.sec-9",
      ]);
    } finally {
      await attacker?.close();
      await world.close();
      await Deno.remove(keysDir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "an agent whose user may not receive its requests refuses to start, and says why",
  opts,
  async () => {
    const keysDir = await Deno.makeTempDir({ prefix: "tutti-keys-" });
    const made = await cli([
      "nats-config",
      "--agents",
      "sec-1",
      "--keys",
      `${keysDir}/keys`,
      "--out",
      `${keysDir}/auth.conf`,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const world = await World.create({
      brokerArgs: ["-c", `${keysDir}/auth.conf`],
      connect: { authenticator: nkeyAuthenticator(await seed(`${keysDir}/keys/controller.nk`)) },
    });
    try {
      // Another agent's key: connected, but its subscription to sec-2's requests is refused.
      const wrong = await world.agentFailing("sec-2", {
        args: ["--nkey", `${keysDir}/keys/agents/sec-1.nk`],
      });
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(
        wrong.stderr,
        /agent: cannot start: the NATS server does not let this agent receive its requests .*tutti\.host\.sec-2\.\*/,
      );
      assert.doesNotMatch(wrong.stderr, /ready/);
      // No key at all.
      const none = await world.agentFailing("sec-1");
      assert.equal(none.code, 1, none.stderr);
      assert.match(none.stderr, /agent: cannot start: Authorization Violation: .*credentials/);
    } finally {
      await world.close();
      await Deno.remove(keysDir, { recursive: true }).catch(() => {});
    }
  },
);
