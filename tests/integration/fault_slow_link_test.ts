/**
 * A slow link: every agent, and the controller, reach the broker through a
 * link that delays each direction by 200 ms and carries ~1 MB/s
 * (tcp_proxy.ts), with the default heartbeat. A fan-out whose processes
 * write 1 MB each completes, every byte in order, every exit status right,
 * and no host is declared lost on the way.
 */
import assert from "node:assert/strict";
import { jsonLines, World } from "./harness.ts";
import { TcpProxy } from "./tcp_proxy.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const HOSTS = ["s-1", "s-2", "s-3", "s-4"];
const DELAY_MS = 200;
const RATE = 1_000_000;
/** Lines each process writes: 1,038,894 bytes. */
const LINES = 150_000;

function slowLink(world: World): TcpProxy {
  const p = TcpProxy.start(world.broker.url);
  p.delay(DELAY_MS);
  p.throttle(RATE);
  return p;
}

Deno.test(
  "a slow link (200 ms each way, 1 MB/s) under a fan-out with output: complete and byte-exact",
  opts,
  async () => {
    const world = await World.create();
    const proxies: TcpProxy[] = [];
    try {
      await Promise.all(HOSTS.map((h) => {
        const p = slowLink(world);
        proxies.push(p);
        return world.agent(h, { server: p.url });
      }));
      const link = slowLink(world);
      proxies.push(link);
      const r = await world.controller(
        [
          "run",
          "--hosts",
          "s-[1-4]",
          "--json",
          "--",
          "sh",
          "-c",
          `seq 1 ${LINES}; echo "$TUTTI_HOST" >&2; exit \${TUTTI_HOST#s-}`,
        ],
        { env: { NATS_URL: link.url } },
      );
      assert.equal(r.stderr.trimEnd().split("\n").at(-1), "4 hosts: 0 ok, 4 failed (s-[1-4])");
      const events = jsonLines(r.stdout);
      assert.ok(!events.some((e) => e.type === "error" || e.type === "missing"), r.stderr);
      const expected = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join("");
      for (const host of HOSTS) {
        const text = (stream: string) =>
          events.filter((e) => e.host === host && e.type === "output" && e.stream === stream)
            .map((e) => e.text).join("");
        assert.equal(text("stdout"), expected, `${host}: stdout byte-exact`);
        assert.equal(text("stderr"), `${host}\n`);
        const exit = events.find((e) => e.host === host && e.type === "exit");
        assert.equal(exit?.code, Number(host.slice(2)));
        assert.equal(exit?.stdout, expected.length);
      }
      // It went through the slow links (each agent's and the controller's), not around them.
      for (const p of proxies) assert.ok(p.accepted >= 1);
    } finally {
      for (const p of proxies) p.close();
      await world.close();
    }
  },
);
