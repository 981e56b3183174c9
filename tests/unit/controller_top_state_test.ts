/**
 * The cluster state behind `top` and the dashboard: hosts up and down,
 * history bounded, processes with their last output lines (split across
 * chunks and multi-byte characters), exited processes trimmed.
 */
import assert from "node:assert/strict";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { MachineTelemetry, ProcsTelemetry } from "../../protocol/telemetry_messages.ts";
import { procJson } from "../../controller/dashboard/hub.ts";
import {
  ClusterState,
  HISTORY,
  KEEP_EXITED,
  LAST_LINES,
} from "../../controller/telemetry_state.ts";
import { hostStateText } from "../../controller/render/top_format.ts";

const enc = new TextEncoder();

function sample(host: string, at: number, cpu: number | null): MachineTelemetry {
  return {
    v: 1,
    host,
    at,
    interval: 1000,
    cpu: { total: cpu, user: cpu, system: 0, iowait: 0, steal: 0, cores: [] },
    load: [0, 0, 0],
    memory: { total: 100, available: 60, used: 40, free: 10, swapTotal: 0, swapFree: 0 },
    net: [],
    disks: [],
    tasks: { running: 0, total: 0 },
    uptime: 1,
  };
}

function proc(id: string, state: "running" | "exited", at: number): ProcInfo {
  return {
    id,
    host: "h",
    pid: 1,
    argv: ["x"],
    cwd: "/",
    state,
    started: at,
    ended: state === "exited" ? at + 1 : null,
    code: state === "exited" ? 0 : null,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
  };
}

Deno.test("state: samples make a bounded history, down and back up", () => {
  const s = new ClusterState();
  for (let i = 0; i < HISTORY + 5; i++) {
    s.apply({ type: "machine", host: "h", sample: sample("h", 1000 * i, i === 0 ? null : i) });
  }
  const h = s.hosts.get("h")!;
  assert.equal(h.history.length, HISTORY);
  assert.deepEqual(h.history[0], { at: 5000, cpu: 5, mem: 40 });
  assert.equal(h.machine?.cpu.total, HISTORY + 4);
  assert.equal(hostStateText(h, 0), "up");
  s.apply({ type: "down", host: "h", at: 200_000, reason: "lost" });
  assert.equal(hostStateText(h, (HISTORY + 4) * 1000 + 7000), "lost 7s");
  s.apply({ type: "machine", host: "h", sample: sample("h", 300_000, 3) });
  assert.equal(h.state, "up");
});

Deno.test("state: output lines across chunks, both streams, bounded", () => {
  const s = new ClusterState();
  s.apply({ type: "proc", host: "h", proc: proc("p", "running", 1) });
  const euro = enc.encode("€");
  const out = (data: Uint8Array, stream: "stdout" | "stderr" = "stdout") =>
    s.apply({ type: "output", host: "h", proc: "p", stream, data });
  out(enc.encode("hel"));
  out(enc.encode("lo\r\nwor"));
  out(euro.subarray(0, 1));
  out(euro.subarray(1));
  out(enc.encode("ld\n"));
  out(enc.encode("oops\n"), "stderr");
  out(enc.encode("no newline"));
  const row = s.procs.get("h/p")!;
  assert.deepEqual(row.lines, [
    { stream: "stdout", text: "hello" },
    { stream: "stdout", text: "wor€ld" },
    { stream: "stderr", text: "oops" },
  ]);
  // The exit makes the unfinished line a line.
  s.apply({ type: "proc", host: "h", proc: proc("p", "exited", 1) });
  assert.deepEqual(row.lines.at(-1), { stream: "stdout", text: "no newline" });
  for (let i = 0; i < LAST_LINES + 3; i++) out(enc.encode(`line ${i}\n`));
  assert.equal(row.lines.length, LAST_LINES);
  assert.equal(row.lines.at(-1)!.text, `line ${LAST_LINES + 2}`);
});

Deno.test("state: process samples, running first, exited ones trimmed", () => {
  const s = new ClusterState();
  s.apply({ type: "proc", host: "h", proc: proc("run", "running", 5) });
  for (let i = 0; i < KEEP_EXITED + 4; i++) {
    s.apply({ type: "proc", host: "h", proc: proc(`x${i}`, "exited", 10 + i) });
  }
  const list = s.procsOf("h");
  assert.equal(list.length, KEEP_EXITED + 1);
  assert.equal(list[0].id, "run");
  assert.equal(list[1].id, `x${KEEP_EXITED + 3}`, "newest exited first");
  assert.ok(!s.procs.has("h/x0"), "the oldest exited are dropped");
  const procsSample = (ids: string[]) => ({
    v: 1,
    host: "h",
    at: 100,
    interval: 1000,
    procs: ids.map((id) => ({
      id,
      pid: 1,
      tasks: 1,
      cpu: 50,
      rss: 1,
      threads: 1,
      read: null,
      written: null,
      readRate: null,
      writeRate: null,
    })),
  });
  s.apply({ type: "procs", host: "h", sample: procsSample(["run"]) });
  assert.equal(s.procs.get("h/run")!.sample?.cpu, 50);
  s.apply({ type: "procs", host: "h", sample: procsSample([]) });
  assert.equal(s.procs.get("h/run")!.sample, undefined, "absent from a sample: no stale figures");
});

Deno.test("state: supervised processes from the samples, and the dashboard's cards of them", () => {
  const s = new ClusterState();
  const at = (t: number, list: [string, string, "RUNNING" | "STARTING"][]): ProcsTelemetry => ({
    v: 1,
    host: "h",
    at: t,
    interval: 1000,
    procs: list.map(([id, program, state], i) => ({
      id,
      program,
      state,
      pid: 10 + i,
      tasks: 1,
      cpu: 1,
      rss: 1,
      threads: 1,
      read: null,
      written: null,
      readRate: null,
      writeRate: null,
    })),
  });
  s.apply({ type: "proc", host: "h", proc: proc("x", "exited", 5) });
  s.apply({
    type: "procs",
    host: "h",
    sample: at(100, [["web:0", "web", "RUNNING"], ["web:1", "web", "STARTING"]]),
  });
  assert.deepEqual(s.procsOf("h").map((p) => p.id), ["web:0", "web:1", "x"], "running first");
  const card = procJson(s.procs.get("h/web:1")!);
  assert.equal(card.state, "running");
  assert.equal(card.pid, 11);
  assert.equal(card.command, "program web (STARTING)");
  // web:1 stopped: not in the next sample, kept as not running.
  s.apply({ type: "procs", host: "h", sample: at(200, [["web:0", "web", "RUNNING"]]) });
  const stopped = s.procs.get("h/web:1")!;
  assert.equal(stopped.program?.state, null);
  assert.deepEqual(s.procsOf("h").map((p) => p.id), ["web:0", "web:1", "x"]);
  assert.equal(s.procsOf("h")[1].changed, 200);
  const gone = procJson(stopped);
  assert.equal(gone.state, "exited");
  assert.equal(gone.exit, "not running");
  assert.equal(gone.command, "program web");
  assert.equal(s.hosts.get("h")!.procs.length, 1, "the host counts what runs");
});
