/**
 * Alerts of a supervised program that crashes until FATAL, delivered to all
 * three destinations at once: a real HTTP server (Deno.serve on a free port)
 * whose first answer is a 500 (the agent tries again), an `--alert-exec`
 * script appending its stdin to a file, and a unix datagram socket the test
 * binds itself in place of /dev/log. `--alert-rate 2` lets two `exited`
 * alerts through of three; FATAL is a kind of its own.
 */
import assert from "node:assert/strict";
import { DENO, until, World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** A unix datagram socket bound by a child (Deno's are behind --unstable-net): one line per datagram. */
async function syslogReceiver(path: string) {
  const js = `const s = Deno.listenDatagram({ transport: "unixpacket", path: ${
    JSON.stringify(path)
  } });
console.log("ready");
for (;;) { const [d] = await s.receive(); console.log(JSON.stringify(new TextDecoder().decode(d))); }`;
  const child = new Deno.Command(DENO, {
    args: ["eval", "--unstable-net", "--no-config", js],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const ready = Promise.withResolvers<void>();
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === "ready") ready.resolve();
        else lines.push(JSON.parse(line));
      }
    }
  })();
  await ready.promise;
  return { lines, stop: () => child.kill("SIGKILL") };
}

Deno.test(
  "a program crashing until FATAL: alerts by webhook, exec and syslog, rate-limited",
  opts,
  async () => {
    const world = await World.create();
    const bodies: Record<string, unknown>[] = [];
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      requests++;
      if (requests === 1) return new Response("try again", { status: 500 });
      bodies.push(await req.json());
      return new Response("ok");
    });
    const syslogPath = `${world.dir}/log.sock`;
    const syslog = await syslogReceiver(syslogPath);
    try {
      const execOut = `${world.dir}/alerts.jsonl`;
      const config = writeConfig(
        world,
        `programs:\n  crash:\n    cmd: "sh -c 'exit 3'"\n    starttime: 1\n    startretries: 2\n`,
      );
      const { log } = await supervisingAgent(world, "al-1", config, [
        "--alert-exec",
        `cat >> '${execOut}'`,
        "--alert-webhook",
        `http://127.0.0.1:${server.addr.port}/hook`,
        "--alert-syslog-socket",
        syslogPath,
        "--alert-rate",
        "2",
      ]);
      await log.waitFor((e) => e.type === "state" && e.to === "FATAL", "crash FATAL", 30_000);
      const execLines = () => {
        try {
          return Deno.readTextFileSync(execOut).split("\n").filter((l) => l !== "").map((l) =>
            JSON.parse(l)
          );
        } catch {
          return [];
        }
      };
      await until(
        "3 alerts at each destination",
        () => bodies.length >= 3 && execLines().length >= 3 && syslog.lines.length >= 3,
        20_000,
      );
      for (const got of [bodies, execLines()]) {
        assert.deepEqual(got.map((a) => [a.kind, a.state, a.code]), [
          ["exited", "BACKOFF", 3],
          ["exited", "BACKOFF", 3],
          ["fatal", "FATAL", null],
        ]);
        for (const a of got) {
          assert.equal(a.host, "al-1");
          assert.equal(a.program, "crash");
          assert.equal(a.process, "crash");
          assert.equal(a.suppressed, 0);
        }
        assert.equal(typeof got[0].pid, "number");
        assert.match(got[0].message as string, /exited: crash \(exit status 3; not expected\)/);
        assert.match(got[2].message as string, /gave up: crash entered FATAL state/);
      }
      assert.equal(requests, 4, "the first POST answered 500 was tried again");
      assert.match(
        syslog.lines[0],
        /^<28>\w{3} [ \d]\d \d\d:\d\d:\d\d tutti-agent\[\d+\]: al-1: exited: crash/,
      );
      assert.match(
        syslog.lines[2],
        /^<26>.* al-1: gave up: crash entered FATAL state.* \{"kind":"fatal"/,
      );
      // The third quick death was left out by the rate limit: exactly 3 alerts, not 4.
      assert.equal(bodies.length, 3);
      assert.equal(execLines().length, 3);
    } finally {
      syslog.stop();
      await server.shutdown();
      await closeWorld(world);
    }
  },
);

Deno.test(
  "--alert-syslog without a syslog socket: the agent does not start, and says why",
  opts,
  async () => {
    const world = await World.create();
    try {
      const r = await world.agentFailing("al-2", {
        args: ["--alert-syslog-socket", `${world.dir}/no-such.sock`],
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /cannot start: --alert-syslog: .*no-such\.sock does not exist: no syslog daemon/,
      );
    } finally {
      await world.close();
    }
  },
);
