/**
 * `controller top`'s screen as a pure function of the cluster state: the
 * table, sorting, lost and stopped hosts, hosts without telemetry, cutting
 * to the terminal's size, and the figures' formats.
 */
import assert from "node:assert/strict";
import type { MachineTelemetry, ProcsTelemetry } from "../../protocol/telemetry_messages.ts";
import { netRate, sortHosts, topLines } from "../../controller/render/top.ts";
import { formatBytes, formatPercent, formatRate } from "../../controller/render/top_format.ts";
import { ClusterState } from "../../controller/telemetry_state.ts";

const T0 = new Date(2024, 0, 2, 14, 3, 27).getTime();
const GIB = 1024 ** 3;

function machine(host: string, cpu: number | null, usedGib: number, load = 0.5): MachineTelemetry {
  return {
    v: 1,
    host,
    at: T0,
    interval: 1000,
    cpu: { total: cpu, user: cpu, system: 0, iowait: 0, steal: 0, cores: [cpu, cpu] },
    load: [load, 0.4, 0.3],
    memory: {
      total: 8 * GIB,
      available: (8 - usedGib) * GIB,
      used: usedGib * GIB,
      free: 1 * GIB,
      swapTotal: 0,
      swapFree: 0,
    },
    net: [
      { name: "lo", rx: 1e9, tx: 1e9, rxRate: 5e6, txRate: 5e6 },
      { name: "eth0", rx: 1e6, tx: 2e6, rxRate: 1536, txRate: 340 },
    ],
    disks: [],
    tasks: { running: 1, total: 100 },
    uptime: 1000,
  };
}

function procs(host: string, list: [string, number | null][]): ProcsTelemetry {
  return {
    v: 1,
    host,
    at: T0,
    interval: 1000,
    procs: list.map(([id, cpu], i) => ({
      id,
      pid: 100 + i,
      tasks: 1,
      cpu,
      rss: 10 * 1024 * 1024,
      threads: 1,
      read: 0,
      written: 0,
      readRate: 0,
      writeRate: 0,
    })),
  };
}

function cluster(): ClusterState {
  const s = new ClusterState();
  for (const host of ["h-1", "h-2", "h-10", "h-3"]) {
    s.apply({ type: "up", host, at: T0 - 5000, info: { telemetry: 1000, heartbeat: 5000 } });
  }
  s.apply({ type: "ready", at: T0 - 4000 });
  s.apply({ type: "machine", host: "h-1", sample: machine("h-1", 12.34, 2, 0.5) });
  s.apply({ type: "machine", host: "h-2", sample: machine("h-2", 97.5, 1, 1.02) });
  s.apply({ type: "machine", host: "h-10", sample: machine("h-10", 50, 6, 3) });
  s.apply({ type: "procs", host: "h-2", sample: procs("h-2", [["web", 3], ["burn", 99.84]]) });
  s.apply({ type: "down", host: "h-3", at: T0, reason: "lost", lastSeen: T0 - 9000 });
  return s;
}

Deno.test("top: the table, sorted by CPU, with a lost host", () => {
  const s = cluster();
  // h-3 was heard at T0-5000 (its `up`), lost since.
  assert.deepEqual(topLines(s, { sort: "cpu", now: T0 }), [
    "tutti top · 4 hosts: 3 up, 1 not answering · sorted by cpu · 14:03:27",
    "",
    "HOST  STATE    CPU%  LOAD  MEM%        MEM  RX/s  TX/s  PROCS",
    "h-2   up       97.5  1.02  12.5  1.0G/8.0G  1.5K   340  2: burn 99.8%, web 3.0%",
    "h-10  up       50.0  3.00  75.0  6.0G/8.0G  1.5K   340  0",
    "h-1   up       12.3  0.50  25.0  2.0G/8.0G  1.5K   340  0",
    "h-3   lost 5s     -     -     -          -     -     -  -",
  ]);
});

Deno.test("top: each sort key, hosts in natural order for ties and by name", () => {
  const s = cluster();
  const order = (sort: "cpu" | "mem" | "host" | "load") =>
    sortHosts(s.hostList(), sort).map((h) => h.host);
  assert.deepEqual(order("cpu"), ["h-2", "h-10", "h-1", "h-3"]);
  assert.deepEqual(order("mem"), ["h-10", "h-1", "h-2", "h-3"]);
  assert.deepEqual(order("load"), ["h-10", "h-2", "h-1", "h-3"]);
  assert.deepEqual(order("host"), ["h-1", "h-2", "h-3", "h-10"]);
});

Deno.test("top: hosts without telemetry are named once the grace is over", () => {
  const s = new ClusterState();
  s.apply({ type: "up", host: "n-1", at: T0, info: { telemetry: 0 } });
  s.apply({ type: "up", host: "n-2", at: T0, info: { telemetry: 1000 } });
  s.apply({ type: "up", host: "n-3", at: T0, info: { telemetry: 0 } });
  s.apply({ type: "ready", at: T0 });
  // Telemetry off is known at once; telemetry announced but not arriving, after the grace.
  assert.deepEqual(s.withoutTelemetry(T0 + 100, 3000), ["n-1", "n-3"]);
  assert.deepEqual(s.withoutTelemetry(T0 + 3000, 3000), ["n-1", "n-2", "n-3"]);
  const lines = topLines(s, { sort: "cpu", now: T0 + 3000 });
  assert.equal(
    lines.at(-1),
    "no telemetry from n-[1-3]: start their agents with --telemetry 1s",
  );
  assert.equal(lines.at(-2), "");
  assert.deepEqual(topLines(s, { sort: "cpu", now: T0 + 3000, notes: false }).length, 6);
});

Deno.test("top: stopped and silent hosts, nothing selected, asking", () => {
  const s = new ClusterState();
  assert.deepEqual(topLines(s, { sort: "cpu", now: T0 }).slice(3), ["(asking the hosts ...)"]);
  s.apply({ type: "ready", at: T0 });
  assert.deepEqual(topLines(s, { sort: "cpu", now: T0 }).slice(3), ["(no host answered)"]);
  s.apply({ type: "up", host: "a", at: T0, info: {} });
  s.apply({ type: "down", host: "a", at: T0, reason: "bye" });
  s.apply({ type: "down", host: "b", at: T0, reason: "noresponse" });
  const rows = topLines(s, { sort: "host", now: T0 }).slice(3);
  assert.deepEqual(rows, [
    "a     stopped         -     -     -    -     -     -  -",
    "b     no response     -     -     -    -     -     -  -",
  ]);
  // Heard again: up, and its figures come back with the next sample.
  s.apply({ type: "machine", host: "a", sample: machine("a", 1, 1) });
  assert.match(topLines(s, { sort: "host", now: T0 })[3], /^a\s+up\s+1\.0\s/);
});

Deno.test("top: cut to the terminal, with the keys line and hidden hosts counted", () => {
  const s = cluster();
  const lines = topLines(s, { sort: "cpu", now: T0, width: 40, height: 8, keys: true });
  assert.ok(lines.every((l) => l.length <= 40), lines.join("\n"));
  assert.equal(lines.length, 8);
  assert.equal(lines[3], "h-2   up     97.5  1.02  12.5  1.0G/8.0…");
  assert.equal(lines[5], "... 2 more hosts");
  assert.equal(lines[7], "sort: c cpu · m memory · h host · l loa…");
});

Deno.test("top: figures", () => {
  assert.equal(formatBytes(0), "0");
  assert.equal(formatBytes(1023), "1023");
  assert.equal(formatBytes(1024), "1.0K");
  assert.equal(formatBytes(1536), "1.5K");
  assert.equal(formatBytes(10 * 1024), "10K");
  assert.equal(formatBytes(1024 * 1024 - 1), "1.0M");
  assert.equal(formatBytes(7.8 * GIB), "7.8G");
  assert.equal(formatBytes(null), "-");
  assert.equal(formatRate(2048), "2.0K/s");
  assert.equal(formatRate(null), "-");
  assert.equal(formatPercent(12.345), "12.3");
  assert.equal(formatPercent(null), "-");
  assert.equal(netRate(machine("x", 1, 1).net, "rxRate"), 1536, "loopback left out");
  assert.equal(netRate([{ name: "lo", rx: 0, tx: 0, rxRate: 1, txRate: 1 }], "rxRate"), null);
});

Deno.test("top: supervised processes count in PROCS beside run processes", () => {
  const s = cluster();
  const sample = procs("h-1", [["web:0", 4], ["web:1", 2], ["ticker", null], ["r1", 30]]);
  for (const p of sample.procs.slice(0, 3)) {
    p.program = p.id.split(":")[0];
    p.state = "RUNNING";
  }
  s.apply({ type: "procs", host: "h-1", sample });
  assert.equal(
    topLines(s, { sort: "host", now: T0 })[3],
    "h-1   up       12.3  0.50  25.0  2.0G/8.0G  1.5K   340  4: r1 30.0%, web:0 4.0%, web:1 2.0%, ...",
  );
});
