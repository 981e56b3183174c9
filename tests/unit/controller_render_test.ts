/**
 * The CLI's views of a run, fed with hand-made events: prefixing of partial
 * lines, gathering of identical hosts, JSON lines, and the summary with its
 * folded host lists.
 */
import assert from "node:assert/strict";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { HostOutcome, RunEvent, RunSummary } from "../../controller/events.ts";
import { GatherView } from "../../controller/render/gather.ts";
import { JsonView } from "../../controller/render/json.ts";
import { LiveView } from "../../controller/render/live.ts";
import { MemoryOut } from "../../controller/render/out.ts";
import { ProgressView } from "../../controller/render/progress.ts";
import { failureLines, summaryLine, SummaryView } from "../../controller/render/summary.ts";

const enc = new TextEncoder();

function proc(host: string, over: Partial<ProcInfo> = {}): ProcInfo {
  return {
    id: "r1",
    host,
    pid: 100,
    argv: ["sh", "-c", "x"],
    cwd: "/",
    state: "exited",
    started: 1,
    ended: 2,
    code: 0,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
    ...over,
  };
}

function out(host: string, text: string, stream: "stdout" | "stderr" = "stdout"): RunEvent {
  return { type: "output", host, stream, offset: 0, data: enc.encode(text) };
}

const ok = (host: string, p = proc(host)): HostOutcome => ({ host, status: "ok", proc: p });

function summary(hosts: HostOutcome[]): RunSummary {
  return { id: "r1", hosts, ok: hosts.every((h) => h.status === "ok") };
}

Deno.test("LiveView prefixes each host's lines and never mixes two hosts' partial lines", () => {
  const o = new MemoryOut();
  const v = new LiveView(o);
  v.event(out("t-1", "hel"));
  v.event(out("t-2", "wor"));
  v.event(out("t-1", "lo\nbye"));
  v.event(out("t-2", "ld\n"));
  v.event(out("t-2", "oops\n", "stderr"));
  v.event({ type: "exit", host: "t-1", proc: proc("t-1") });
  assert.equal(o.out, "", "written at the end of the burst");
  v.flush();
  assert.equal(o.out, "t-1: hello\nt-2: world\nt-1: bye\n");
  assert.equal(o.err, "t-2: oops\n");
  v.event(out("t-2", "tail"));
  v.end();
  assert.equal(o.out, "t-1: hello\nt-2: world\nt-1: bye\nt-2: tail\n");
});

Deno.test("LiveView shows bytes that could not be recovered", () => {
  const o = new MemoryOut();
  const v = new LiveView(o);
  v.event({
    type: "missing",
    host: "t-1",
    stream: "stdout",
    offset: 10,
    bytes: 5,
    error: { code: "ESRCH", message: "gone" },
  });
  v.flush();
  assert.equal(o.out, "t-1: [5 bytes of stdout missing: ESRCH gone]\n");
});

Deno.test("GatherView groups hosts with identical output and outcome under a folded set", () => {
  const o = new MemoryOut();
  const v = new GatherView(o);
  for (const h of ["t-1", "t-2", "t-3", "t-5"]) v.event(out(h, "Linux\n"));
  v.event(out("t-4", "Darwin\n"));
  v.event(out("t-5", "warn\n", "stderr"));
  v.end(summary([
    ok("t-3"),
    ok("t-1"),
    ok("t-2"),
    ok("t-4"),
    ok("t-5"),
    { host: "t-6", status: "failed", proc: proc("t-6", { code: 3 }) },
    {
      host: "t-7",
      status: "noresponse",
      error: { code: "ENORESPONSE", message: "no answer within 5.0s" },
    },
  ]));
  const rule = "---------------";
  assert.equal(
    o.out,
    [
      rule,
      "t-[1-3] (exit 0)",
      rule,
      "Linux",
      rule,
      "t-4 (exit 0)",
      rule,
      "Darwin",
      rule,
      "t-5 (exit 0)",
      rule,
      "Linux",
      rule,
      "t-6 (exit 3)",
      rule,
      rule,
      "t-7 (no response)",
      rule,
      "",
    ].join("\n"),
  );
  assert.equal(o.err, `${rule}\nt-5 (exit 0)\n${rule}\nwarn\n`);
});

Deno.test("GatherView keeps apart hosts with the same output but another exit status", () => {
  const v = new GatherView(new MemoryOut());
  v.event(out("a1", "x\n"));
  v.event(out("a2", "x\n"));
  const groups = v.groups([ok("a1"), {
    host: "a2",
    status: "failed",
    proc: proc("a2", { code: null, signal: "SIGKILL" }),
  }]);
  assert.deepEqual(groups.map((g) => [g.hosts, g.what]), [
    [["a1"], "exit 0"],
    [["a2"], "killed by SIGKILL"],
  ]);
});

Deno.test("JsonView writes one parsable object per event, text decoded across chunks", () => {
  const o = new MemoryOut();
  const v = new JsonView(o);
  const euro = enc.encode("€\n");
  v.event({
    type: "started",
    host: "t-1",
    proc: proc("t-1", { state: "running" }),
    existing: false,
  });
  v.event({ type: "output", host: "t-1", stream: "stdout", offset: 0, data: euro.subarray(0, 2) });
  v.event({ type: "output", host: "t-1", stream: "stdout", offset: 2, data: euro.subarray(2) });
  v.event({ type: "exit", host: "t-1", proc: proc("t-1", { code: 2 }) });
  v.event({ type: "error", host: "t-2", error: { code: "ENOENT", message: "spawn x: no such" } });
  v.end(summary([{ host: "t-1", status: "failed", proc: proc("t-1", { code: 2 }) }]));
  const lines = o.out.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.type), [
    "started",
    "output",
    "output",
    "exit",
    "error",
    "summary",
  ]);
  assert.equal(lines[1].text + lines[2].text, "€\n");
  assert.equal(lines[3].code, 2);
  assert.deepEqual(lines[4].error, { code: "ENOENT", message: "spawn x: no such" });
  assert.equal(lines[5].ok, false);
  assert.equal(lines[5].hosts[0].status, "failed");
});

Deno.test("JsonView cuts a large output event into objects of 64 KiB, offsets and characters whole", () => {
  const o = new MemoryOut();
  const v = new JsonView(o);
  // 150,000 bytes of 3-byte characters: the 64 KiB cuts fall inside characters.
  const text = "€".repeat(50_000);
  const data = enc.encode(text);
  v.event({ type: "output", host: "t-1", stream: "stdout", offset: 1000, data });
  assert.equal(o.out, "", "written at the end of the burst");
  v.flush();
  const lines = o.out.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.offset), [1000, 1000 + 65536, 1000 + 131072]);
  assert.equal(lines.map((l) => l.text).join(""), text);
});

Deno.test("summaryLine counts and folds every kind of outcome", () => {
  const hosts: HostOutcome[] = [];
  for (let i = 1; i <= 100; i++) hosts.push(ok(`g5k-${i}`));
  hosts[16] = { host: "g5k-17", status: "failed", proc: proc("g5k-17", { code: 3 }) };
  hosts[41] = {
    host: "g5k-42",
    status: "failed",
    error: { code: "ENOENT", message: "spawn ./foo: no such file or directory" },
  };
  hosts[87] = {
    host: "g5k-88",
    status: "noresponse",
    error: { code: "ENORESPONSE", message: "no answer within 5.0s" },
  };
  assert.equal(
    summaryLine(hosts),
    "100 hosts: 97 ok, 2 failed (g5k-[17,42]), 1 no response (g5k-88)",
  );
  assert.deepEqual(failureLines(hosts), [
    "g5k-17: exit 3",
    "g5k-42: ENOENT spawn ./foo: no such file or directory",
  ]);
  assert.equal(summaryLine([ok("a")]), "1 host: 1 ok");
  assert.equal(summaryLine([ok("a")], "started"), "1 host: 1 started");
  assert.equal(
    summaryLine([{ host: "n3", status: "lost", error: { code: "ELOST", message: "x" } }]),
    "1 host: 0 ok, 1 lost (n3)",
  );
  assert.equal(summaryLine([]), "0 hosts: none selected or answering");
});

Deno.test("failureLines folds hosts that failed the same way", () => {
  const enoent = { code: "ENOENT" as const, message: "spawn ./foo: no such file or directory" };
  const lines = failureLines([
    { host: "n1", status: "failed", error: enoent },
    { host: "n2", status: "failed", error: enoent },
    { host: "n3", status: "failed", proc: proc("n3", { code: null, signal: "SIGSEGV" }) },
    { host: "n4", status: "failed", error: enoent },
    {
      host: "n5",
      status: "failed",
      proc: proc("n5", { timedOut: true, signal: "SIGTERM", code: null }),
    },
  ]);
  assert.deepEqual(lines, [
    "n[1-2,4]: ENOENT spawn ./foo: no such file or directory",
    "n3: killed by SIGSEGV",
    "n5: timed out, killed by SIGTERM",
  ]);
});

Deno.test("SummaryView writes the details and the summary to stderr only", () => {
  const o = new MemoryOut();
  new SummaryView(o).end(summary([ok("t-1"), {
    host: "t-2",
    status: "failed",
    proc: proc("t-2", { code: 1 }),
  }]));
  assert.equal(o.out, "");
  assert.equal(o.err, "t-2: exit 1\n2 hosts: 1 ok, 1 failed (t-2)\n");
});

Deno.test("ProgressView counts done, failed, running and waiting hosts, then clears its line", () => {
  const o = new MemoryOut();
  const v = new ProgressView(o, "r1", () => 4);
  v.event({ type: "started", host: "a", proc: proc("a", { state: "running" }), existing: false });
  v.event({ type: "started", host: "b", proc: proc("b", { state: "running" }), existing: false });
  v.event({ type: "exit", host: "a", proc: proc("a", { code: 1 }) });
  assert.equal(o.statuses.at(-1), "r1: 1/4 done (1 failed), 1 running, 2 waiting");
  v.end();
  assert.equal(o.statuses.at(-1), null);
});
