/**
 * The recommended deployment: a nats-server whose configuration is the one
 * `controller nats-config` writes (one NKey user per agent, a controller
 * user, a viewer user, subject permissions per role). The normal path works
 * through it; a viewer, an anonymous client and an agent's own key cannot
 * make any agent run anything, by the CLI or by raw messages, and each is
 * told why at once. The same raw request sent with the controller's key does
 * run, which proves the refused ones were refused by the server, not
 * malformed.
 */
import assert from "node:assert/strict";
import {
  connect,
  type NatsConnection,
  nkeyAuthenticator,
  PermissionViolationError,
} from "@nats-io/transport-node";
import { encode, PROTOCOL_VERSION } from "../../protocol/codec.ts";
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
