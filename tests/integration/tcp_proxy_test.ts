/**
 * The fault proxy itself (tcp_proxy.ts), against a loopback echo server:
 * bytes go through unchanged; a delay and a throttle make a round trip at
 * least as slow as they say (lower bounds only); a stall forwards nothing
 * and closes nothing until the heal, which delivers everything held, a close
 * included; a cut closes the connection and refuses new ones until the heal.
 */
import assert from "node:assert/strict";
import { until } from "./harness.ts";
import { TcpProxy } from "./tcp_proxy.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** An echo server on a free loopback port; `received` counts the bytes it got. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { received: 0, closedByPeer: 0 };
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          state.received += n;
          await writeAll(conn, buf.subarray(0, n));
        }
        state.closedByPeer++;
        conn.close();
      })().catch(() => {});
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  return { port, state, close: () => listener.close() };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await conn.read(out.subarray(at));
    if (got === null) throw new Error(`closed after ${at} of ${n} bytes`);
    at += got;
  }
  return out;
}

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(b.subarray(at, at + 65536));
  return b;
}

Deno.test("tcp proxy: bytes go through unchanged, delayed and throttled", opts, async () => {
  const echo = echoServer();
  const proxy = TcpProxy.start({ hostname: "127.0.0.1", port: echo.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    const data = random(2 * 1024 * 1024);
    const [, back] = await Promise.all([writeAll(conn, data), readExactly(conn, data.length)]);
    assert.deepEqual(back, data);

    proxy.delay(100);
    let t = performance.now();
    await writeAll(conn, data.subarray(0, 10));
    assert.deepEqual(await readExactly(conn, 10), data.subarray(0, 10));
    assert.ok(performance.now() - t >= 200, "a round trip costs twice the delay");

    proxy.delay(0);
    proxy.throttle(200_000);
    t = performance.now();
    const part = data.subarray(0, 100_000);
    const [, slow] = await Promise.all([writeAll(conn, part), readExactly(conn, part.length)]);
    assert.deepEqual(slow, part);
    assert.ok(performance.now() - t >= 400, "100 kB at 200 kB/s take half a second");
    conn.close();
  } finally {
    proxy.close();
    echo.close();
  }
});

Deno.test("tcp proxy: a stall holds data and closes until the heal", opts, async () => {
  const echo = echoServer();
  const proxy = TcpProxy.start({ hostname: "127.0.0.1", port: echo.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await writeAll(conn, new Uint8Array([1]));
    await readExactly(conn, 1);

    proxy.stall();
    const data = random(100_000);
    await writeAll(conn, data);
    // A connection made during the stall is accepted but carries nothing either.
    const late = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await writeAll(late, new Uint8Array([7]));
    late.close();
    // Absence has no event: give it a moment to show up if it were forwarded.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(echo.state.received, 1, "nothing forwarded while stalled");
    assert.equal(echo.state.closedByPeer, 0, "no close forwarded while stalled");

    proxy.heal();
    assert.deepEqual(await readExactly(conn, data.length), data, "the same connection resumes");
    conn.close();
    await until("both closes to reach the server", () => echo.state.closedByPeer === 2);
    assert.equal(echo.state.received, 1 + data.length + 1, "the late connection's byte too");
    assert.equal(echo.state.closedByPeer, 2, "both closes delivered after the heal");
  } finally {
    proxy.close();
    echo.close();
  }
});

Deno.test("tcp proxy: a cut closes and refuses until the heal", opts, async () => {
  const echo = echoServer();
  const proxy = TcpProxy.start({ hostname: "127.0.0.1", port: echo.port });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await writeAll(conn, new Uint8Array([1]));
    await readExactly(conn, 1);
    proxy.cut();
    const buf = new Uint8Array(1);
    const n = await conn.read(buf).catch(() => null);
    assert.equal(n, null, "the connection is closed");
    conn.close();
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port: proxy.port }),
      Deno.errors.ConnectionRefused,
    );
    proxy.heal();
    const again = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
    await writeAll(again, new Uint8Array([2]));
    assert.deepEqual(await readExactly(again, 1), new Uint8Array([2]));
    again.close();
  } finally {
    proxy.close();
    echo.close();
  }
});
