/**
 * Port watches against real listening sockets, and the /proc/net/tcp parser
 * and address rules underneath. The watch's own timeout is each test's
 * deadline.
 */
import { PortWatch } from "../../agent/watch/port_watch.ts";
import {
  covers,
  formatIp,
  ListenerScanner,
  parseIp,
  parseLine,
} from "../../agent/watch/tcp_listeners.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function freePort(hostname = "127.0.0.1"): number {
  const l = Deno.listen({ hostname, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("a port watch completes when a listener opens 2 s later", async () => {
  const port = freePort();
  let listener: Deno.Listener | null = null;
  const opener = setTimeout(() => listener = Deno.listen({ hostname: "127.0.0.1", port }), 2000);
  try {
    const r = await new PortWatch({ kind: "port", port }, 10_000).start();
    assert(r.status === "met", `${r.status}: ${r.detail}`);
    assert(r.detail === `127.0.0.1:${port} is listening`, r.detail);
    assert(r.elapsed >= 1900, `met after the listener opened, not before: ${r.elapsed} ms`);
    assert(listener !== null, "the listener is open");
  } finally {
    clearTimeout(opener);
    (listener as Deno.Listener | null)?.close();
  }
});

Deno.test("a port watch times out when nobody listens, naming the port", async () => {
  const port = freePort();
  const r = await new PortWatch({ kind: "port", port }, 600).start();
  assert(r.status === "timeout", r.status);
  assert(r.detail === `nothing listened on port ${port} within 600ms`, r.detail);
});

Deno.test("a port watch with an address: matches it or its wildcard, not another", async () => {
  const port = freePort();
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    const same = await new PortWatch({ kind: "port", port, address: "127.0.0.1" }, 5000).start();
    assert(same.status === "met", same.detail);
    const other = await new PortWatch({ kind: "port", port, address: "127.0.0.2" }, 400).start();
    assert(other.status === "timeout", `127.0.0.2 is not listening: ${other.detail}`);
  } finally {
    l.close();
  }
  const wild = freePort("0.0.0.0");
  const w = Deno.listen({ hostname: "0.0.0.0", port: wild });
  try {
    const r = await new PortWatch({ kind: "port", port: wild, address: "10.1.2.3" }, 5000).start();
    assert(r.status === "met" && r.detail === `0.0.0.0:${wild} is listening`, r.detail);
  } finally {
    w.close();
  }
});

Deno.test("a port watch sees IPv6 listeners", async (t) => {
  let l: Deno.Listener;
  try {
    l = Deno.listen({ hostname: "::1", port: 0 });
  } catch {
    return void await t.step({ name: "no IPv6 loopback here", ignore: true, fn: () => {} });
  }
  try {
    const port = (l.addr as Deno.NetAddr).port;
    const r = await new PortWatch({ kind: "port", port, address: "::1" }, 5000).start();
    assert(r.status === "met" && r.detail === `[::1]:${port} is listening`, r.detail);
  } finally {
    l.close();
  }
});

Deno.test("the watch never connects to the application", async () => {
  const port = freePort();
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  let accepted = 0;
  const acceptor = (async () => {
    for await (const c of l) {
      accepted++;
      c.close();
    }
  })();
  try {
    const r = await new PortWatch({ kind: "port", port }, 5000).start();
    assert(r.status === "met", r.detail);
  } finally {
    l.close();
    await acceptor.catch(() => {});
  }
  assert(accepted === 0, `the application saw ${accepted} connections`);
});

Deno.test("an established connection on the port is not a listener", async () => {
  const port = freePort();
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  const server = await l.accept();
  l.close(); // the connection stays, with local port `port`, in state ESTABLISHED
  try {
    const scanner = new ListenerScanner();
    try {
      assert(scanner.find(port, () => true) === null, "no listener found");
    } finally {
      scanner.close();
    }
    const r = await new PortWatch({ kind: "port", port }, 400).start();
    assert(r.status === "timeout", `${r.status}: ${r.detail}`);
  } finally {
    client.close();
    server.close();
  }
});

Deno.test("cancel ends a port watch at once", async () => {
  const w = new PortWatch({ kind: "port", port: freePort() }, 60_000);
  const result = w.start();
  await w.cancel();
  const r = await result;
  assert(r.status === "cancelled", r.status);
});

Deno.test("/proc/net/tcp lines: LISTEN only, addresses in network order", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const v4 = enc(
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 1 1",
  );
  const l4 = parseLine(v4, 0, v4.length)!;
  assert(l4 !== null && l4.port === 8080 && formatIp(l4.address) === "127.0.0.1", "v4 LISTEN");
  const est = enc(
    "   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000 0 2 1",
  );
  assert(parseLine(est, 0, est.length) === null, "ESTABLISHED is not a listener");
  const v6 = enc(
    "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0",
  );
  const l6 = parseLine(v6, 0, v6.length)!;
  assert(l6.port === 22 && formatIp(l6.address) === "::1", `v6 ${formatIp(l6.address)}`);
});

Deno.test("IP literals and which listener covers which address", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::1:2", "fe80::1:2"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [input, shown] of cases) {
    assert(formatIp(parseIp(input)) === shown, `${input} → ${formatIp(parseIp(input))}`);
  }
  for (const bad of ["", "1.2.3", "256.1.1.1", "1:2:3", "1::2::3", "fe80::1%eth0", "[::1]", "x"]) {
    let code = "";
    try {
      parseIp(bad);
    } catch (e) {
      code = (e as { code?: string }).code ?? "";
    }
    assert(code === "EINVAL", `${JSON.stringify(bad)} is refused`);
  }
  const ip = parseIp;
  assert(covers(ip("0.0.0.0"), ip("10.1.1.1")), "0.0.0.0 covers IPv4");
  assert(!covers(ip("0.0.0.0"), ip("::1")), "0.0.0.0 does not cover IPv6");
  assert(covers(ip("::"), ip("::1")) && covers(ip("::"), ip("127.0.0.1")), ":: covers both");
  assert(!covers(ip("127.0.0.1"), ip("127.0.0.2")), "another address");
  assert(!covers(ip("::1"), ip("127.0.0.1")), "::1 is not 127.0.0.1");
});

Deno.test("a bad address is refused when the watch is made", () => {
  let code = "";
  try {
    new PortWatch({ kind: "port", port: 80, address: "localhost" }, 1000);
  } catch (e) {
    code = (e as { code?: string }).code ?? "";
  }
  assert(code === "EINVAL", "EINVAL");
});
