/**
 * `controller alerts`: a host whose agent is SIGKILLed is reported lost (it
 * went silent) to a real HTTP server (Deno.serve) and to an `--alert-exec`
 * command, then back once its agent is restarted; with `--alert-rate 1`, a
 * second loss within the minute (another agent's clean stop) is held back.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

type Body = Record<string, unknown>;

/** Webhook bodies as they arrive, and a wait for the first one that `match`es. */
class Received {
  readonly bodies: Body[] = [];
  readonly #waiting = new Set<() => void>();

  add(b: Body): void {
    this.bodies.push(b);
    for (const fn of [...this.#waiting]) fn();
  }

  next(what: string, match: (b: Body) => boolean, timeoutMs = 30_000): Promise<Body> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms: ${JSON.stringify(this.bodies)}`));
      }, timeoutMs);
      const check = () => {
        const b = this.bodies.find(match);
        if (!b) return;
        clearTimeout(timer);
        this.#waiting.delete(check);
        resolve(b);
      };
      this.#waiting.add(check);
      check();
    });
  }
}

Deno.test(
  "controller alerts: a SIGKILLed agent is lost, then back; rate-limited",
  opts,
  async () => {
    const world = await World.create();
    const received = new Received();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      received.add(await req.json());
      return new Response("ok");
    });
    try {
      const beat = { args: ["--heartbeat", "300ms"] };
      await Promise.all([world.agent("al-1", beat), world.agent("al-2", beat)]);
      const execFile = `${world.dir}/exec.jsonl`;
      const alerts = world.spawnController([
        "alerts",
        "--hosts",
        "al-[1-2]",
        "--alert-webhook",
        `http://127.0.0.1:${server.addr.port}/hook`,
        "--alert-exec",
        `echo "$TUTTI_ALERT_KIND $TUTTI_ALERT_HOST" >> ${execFile}`,
        "--alert-rate",
        "1",
      ]);
      await alerts.waitFor("the hosts followed", (out) => /following: 2 up, 0 lost/.test(out));

      await world.agents.find((a) => a.name === "al-2")!.kill();
      const lost = await received.next("lost alert", (b) => b.kind === "lost");
      assert.equal(lost.host, "al-2");
      assert.equal(lost.reason, "lost");
      assert.equal(lost.suppressed, 0);
      assert.match(String(lost.message), /al-2 lost: its agent went silent/);
      await alerts.waitFor("the lost line", (out) => /lost al-2 \(lost\): alert sent/.test(out));

      // Restarted on the same state directory: heard again, so back.
      await world.agent("al-2", beat);
      const back = await received.next("back alert", (b) => b.kind === "back");
      assert.equal(back.host, "al-2");
      assert.equal(typeof back.downFor, "number");

      // A second loss within the minute: printed, but the rate limit (1 per kind) holds it back.
      await world.agents.find((a) => a.name === "al-1")!.stop();
      await alerts.waitFor(
        "the held-back line",
        (out) => /lost al-1 \(bye\): alert held back \(rate limit\)/.test(out),
      );
      assert.equal(received.bodies.filter((b) => b.kind === "lost").length, 1);

      // The exec destination had both alerts that went, in order.
      alerts.proc.kill("SIGINT");
      const end = await alerts.result();
      assert.equal(end.code, 0, end.stderr);
      assert.deepEqual(Deno.readTextFileSync(execFile).trim().split("\n"), [
        "lost al-2",
        "back al-2",
      ]);
    } finally {
      await server.shutdown();
      await world.close();
    }
  },
);

Deno.test(
  "controller alerts: no destination, or a bad one, is refused before connecting",
  opts,
  async () => {
    const world = await World.create();
    try {
      const none = await world.controller(["alerts", "--hosts", "x"]);
      assert.equal(none.code, 2);
      assert.match(
        none.stderr,
        /no destination: give --alert-exec, --alert-webhook or --alert-syslog/,
      );
      const bad = await world.controller(["alerts", "--alert-webhook", "ftp://x"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--alert-webhook "ftp:\/\/x": expected an http/);
      const sock = await world.controller([
        "alerts",
        "--alert-syslog-socket",
        `${world.dir}/none.sock`,
      ]);
      assert.equal(sock.code, 1);
      assert.match(sock.stderr, /ENOENT --alert-syslog: .*none\.sock does not exist/);
    } finally {
      await world.close();
    }
  },
);
