import assert from "node:assert/strict";
import {
  type AnyRecord,
  diffRecords,
  parseRecord,
  readRecord,
  recordFileName,
  recordHeader,
  type RunRecord,
  writeRecord,
} from "../../controller/mod.ts";
import { TuttiError } from "../../protocol/errors.ts";

function facts(host: string, over: Record<string, unknown> = {}) {
  return {
    host,
    version: "0.1.0",
    os: "linux",
    arch: "x86_64",
    kernel: "6.1.0",
    cores: 8,
    memory: 16 * 2 ** 30,
    boot: 1_700_000_000_000,
    labels: {},
    ...over,
  };
}

function result(host: string, code: number, ms = 1000) {
  return {
    host,
    status: code === 0 ? "ok" as const : "failed" as const,
    pid: 100,
    start: 1_800_000_000_000,
    end: 1_800_000_000_000 + ms,
    code,
    signal: null,
    timedOut: false,
    bytes: { stdout: 6, stderr: 0 },
    recovered: { stdout: 0, stderr: 0 },
    missing: { stdout: 0, stderr: 0 },
  };
}

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    format: 1,
    kind: "run",
    id: "r1",
    started: "2027-01-15T08:00:00.000Z",
    ended: "2027-01-15T08:00:01.000Z",
    controller: { version: "0.1.0", host: "ctl", pid: 1 },
    selector: { hosts: "n-[1-2]" },
    nodeset: "n-[1-2]",
    facts: [facts("n-1"), facts("n-2")],
    run: {
      command: {
        argv: ["echo", "hello"],
        env: { keys: [], sha256: "e3b0", clear: false },
        stdin: false,
      },
      results: [result("n-1", 0), result("n-2", 0)],
      ok: true,
    },
    ...over,
  };
}

Deno.test("diffRecords: the same record has no changes", () => {
  const d = diffRecords(record(), record({ id: "r2" }));
  assert.equal(d.same, true);
  assert.deepEqual(d.changes, []);
  assert.equal(d.b.id, "r2");
});

Deno.test("diffRecords: an exit code, a kernel, a version and a reboot on one host", () => {
  const b = record();
  b.facts = [facts("n-1"), facts("n-2", { kernel: "6.2.0", version: "0.2.0", boot: 1 })];
  b.run = { ...b.run, results: [result("n-1", 0), result("n-2", 3)], ok: false };
  const d = diffRecords(record(), b);
  assert.equal(d.same, false);
  assert.deepEqual(d.changes.map((c) => [c.key, c.what, c.field, c.a, c.b]), [
    ["n-2", "version", "version", "0.1.0", "0.2.0"],
    ["n-2", "facts", "kernel", "6.1.0", "6.2.0"],
    ["n-2", "facts", "boot", 1_700_000_000_000, 1],
    ["n-2", "outcome", "status", "ok", "failed"],
    ["n-2", "outcome", "code", 0, 3],
  ]);
});

Deno.test("diffRecords: hosts added and removed, the command changed", () => {
  const b = record({ nodeset: "n-[2-3]", facts: [facts("n-2"), facts("n-3")] });
  b.run = {
    ...b.run,
    command: {
      ...b.run.command,
      argv: ["echo", "bye"],
      env: { keys: ["A"], sha256: "ff", clear: false },
    },
    results: [result("n-2", 0), result("n-3", 0)],
  };
  const d = diffRecords(record(), b);
  const seen = d.changes.map((c) => `${c.key ?? "-"} ${c.what} ${c.field}`);
  assert.deepEqual(seen, [
    "- command argv",
    "- command env.keys",
    "- command env.sha256",
    "- selector nodeset",
    "n-1 host present",
    "n-3 host present",
  ]);
  assert.deepEqual(d.changes.find((c) => c.key === "n-1")?.b, false);
  assert.deepEqual(d.changes.find((c) => c.key === "n-3")?.b, true);
});

Deno.test("diffRecords: durations within the tolerance are the same, beyond it they changed", () => {
  const near = record();
  near.run = { ...near.run, results: [result("n-1", 0, 1050), result("n-2", 0, 950)] };
  assert.equal(diffRecords(record(), near).same, true);
  const far = record();
  far.run = { ...far.run, results: [result("n-1", 0, 1500), result("n-2", 0, 1000)] };
  const d = diffRecords(record(), far);
  assert.deepEqual(d.changes, [
    { what: "duration", key: "n-1", field: "duration", a: 1000, b: 1500 },
  ]);
  // A tolerance of 1 s: the same again.
  assert.equal(diffRecords(record(), far, { toleranceMs: 1000 }).same, true);
});

Deno.test("diffRecords: a kind it does not know is compared by its header", () => {
  const other = { ...record(), kind: "sweep", run: undefined, sweep: { steps: 3 } } as AnyRecord;
  const d = diffRecords(record(), other);
  assert.deepEqual(d.changes.map((c) => c.field).slice(0, 1), ["kind"]);
  // The run's hosts (n-1, n-2) are in the other record's facts too: no host change.
  assert.equal(d.changes.some((c) => c.what === "host"), false);
});

function refused(text: string, message: RegExp): void {
  assert.throws(() => parseRecord(text, "x.json"), (e: unknown) => {
    assert.ok(e instanceof TuttiError);
    assert.equal(e.code, "EINVAL");
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("parseRecord: a record reads back as written", () => {
  const r = record();
  assert.deepEqual(parseRecord(JSON.stringify(r), "x.json"), r);
});

Deno.test("parseRecord: each error names the file and the field", () => {
  refused("[1", /^record x\.json: not JSON: /);
  refused("[]", /^record x\.json: the file: expected an object, got \[\]/);
  refused(JSON.stringify({ ...record(), format: 7 }), /format: expected 1 \(a tutti record/);
  refused(JSON.stringify({ ...record(), started: "yesterday" }), /started: expected an ISO 8601/);
  const noHost = record();
  (noHost.facts[1] as { host?: string }).host = undefined;
  refused(JSON.stringify(noHost), /facts\[1\]\.host: expected a string, got nothing/);
  const badCode = record();
  (badCode.run.results[0] as { code: unknown }).code = "0";
  refused(JSON.stringify(badCode), /run\.results\[0\]\.code: expected a number, got "0"/);
  const noCommand = record();
  noCommand.run.command.argv = undefined;
  refused(JSON.stringify(noCommand), /run\.command: expected argv or shell/);
});

Deno.test("writeRecord and readRecord: the file is named by time and id, read back whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = record({ id: "r1abc" });
    assert.equal(recordFileName(r), "20270115T080000Z-r1abc.json");
    const path = await writeRecord(`${dir}/sub`, r);
    assert.equal(path, `${dir}/sub/20270115T080000Z-r1abc.json`);
    assert.deepEqual(await readRecord(path), r);
    await assert.rejects(readRecord(`${dir}/none.json`), /ENOENT|no such file/);
    await assert.rejects(readRecord(dir), (e: unknown) => {
      assert.ok(e instanceof TuttiError);
      assert.equal(e.code, "EISDIR");
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recordHeader: facts of the hosts reached, from their ping answers, sorted", () => {
  const ping = (host: string, kernel?: string) => ({
    ok: true as const,
    host,
    version: "0.1.0",
    labels: { rack: "a" },
    started: 0,
    pid: 9,
    running: 0,
    heartbeat: 5000,
    telemetry: 0,
    os: "linux",
    arch: "x86_64",
    cores: 4,
    memory: 1024,
    boot: 7,
    ...(kernel ? { kernel } : {}),
  });
  const h = recordHeader({
    kind: "plan",
    id: "p1",
    started: Date.UTC(2027, 0, 15, 8),
    ended: Date.UTC(2027, 0, 15, 8, 1),
    selector: { hosts: "n-*", where: { rack: "a" } },
    hosts: ["n-10", "n-2", "n-3"],
    pings: [
      ping("n-10", "6.1"),
      ping("n-2"),
      ping("elsewhere"),
      { ok: false, host: "n-3", error: { code: "ENORESPONSE", message: "no answer" } },
    ],
  });
  assert.equal(h.nodeset, "n-[2-3,10]");
  assert.deepEqual(h.selector, { hosts: "n-*", where: { rack: "a" } });
  assert.deepEqual(h.facts.map((f) => [f.host, f.kernel]), [["n-2", undefined], ["n-10", "6.1"]]);
  assert.equal(h.started, "2027-01-15T08:00:00.000Z");
  assert.equal(h.controller.pid, Deno.pid);
});
