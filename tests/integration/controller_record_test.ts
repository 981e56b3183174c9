/**
 * `run --record DIR` on three agents, twice, the second time with another
 * exit code on one host: each run leaves one record naming the command, the
 * hosts and their facts; `record show` tells what ran where, and `record
 * diff` reports the changed exit code on that host and nothing on the others.
 * Bad record files are refused with the path and what is wrong.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

function recordsIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).sort();
}

Deno.test("run --record, record show and record diff", opts, async () => {
  const world = await World.create();
  try {
    // rec-2's environment sets ODD: it alone exits with $CODE, the others with 0.
    await Promise.all([
      world.agent("rec-1"),
      world.agent("rec-2", { env: { ODD: "1" } }),
      world.agent("rec-3"),
    ]);
    const dir = `${world.dir}/records`;
    const script = 'if [ -n "$ODD" ]; then exit $CODE; fi; echo hello';
    const run = (code: number) =>
      world.controller([
        "run",
        "--hosts",
        "rec-[1-3]",
        "--record",
        dir,
        "--env",
        `CODE=${code}`,
        "--shell",
        "--",
        script,
      ]);
    const first = await run(0);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /record: .*\.json/);
    const second = await run(3);
    assert.equal(second.code, 1, second.stderr);
    const files = recordsIn(dir);
    assert.equal(files.length, 2, files.join(" "));

    const rec = JSON.parse(Deno.readTextFileSync(files[0]));
    assert.equal(rec.kind, "run");
    assert.equal(rec.nodeset, "rec-[1-3]");
    assert.deepEqual(rec.selector, { hosts: "rec-[1-3]" });
    assert.deepEqual(rec.run.command.env.keys, ["CODE"]);
    assert.match(rec.run.command.env.sha256, /^[0-9a-f]{64}$/);
    assert.equal(rec.facts.length, 3);
    assert.equal(typeof rec.facts[0].kernel, "string", "the agents report their kernel");
    assert.equal(rec.facts[0].cores, navigator.hardwareConcurrency);
    assert.deepEqual(rec.run.results.map((r: { code: number }) => r.code), [0, 0, 0]);
    assert.equal(rec.run.results[0].bytes.stdout, "hello\n".length);

    const show = await world.controller(["record", "show", files[1]]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^run r\S+: FAILED, /);
    assert.match(show.stdout, /hosts: --hosts rec-\[1-3\] → rec-\[1-3\]/);
    assert.match(show.stdout, /command: sh -c .*\(env CODE sha256:[0-9a-f]{12}\)/);
    assert.match(show.stdout, /^rec-2 +failed +3 /m);
    assert.match(show.stdout, /^rec-1 +ok +0 /m);

    const diff = await world.controller(["record", "diff", files[0], files[1]]);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /^rec-2 +outcome +code +0 → 3$/m);
    assert.match(diff.stdout, /^rec-2 +outcome +status +ok → failed$/m);
    assert.match(diff.stdout, /^- +command +env\.sha256 /m);
    assert.doesNotMatch(diff.stdout, /^rec-[13] +outcome/m);

    const json = await world.controller(["record", "diff", "--json", files[0], files[1]]);
    const d = JSON.parse(json.stdout);
    assert.equal(d.same, false);
    assert.deepEqual(
      d.changes.filter((c: { what: string }) => c.what === "outcome"),
      [
        { what: "outcome", key: "rec-2", field: "status", a: "ok", b: "failed" },
        { what: "outcome", key: "rec-2", field: "code", a: 0, b: 3 },
      ],
    );
    const self = await world.controller(["record", "diff", files[0], files[0]]);
    assert.equal(self.code, 0);
    assert.match(self.stdout, /no differences/);

    // Bad files: the path and what is wrong.
    const missing = await world.controller(["record", "show", `${dir}/nope.json`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT record .*nope\.json: no such file or directory/);
    const broken = `${world.dir}/broken.json`;
    Deno.writeTextFileSync(broken, "{ not json");
    const notJson = await world.controller(["record", "show", broken]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /EINVAL record .*broken\.json: not JSON: /);
    rec.run.results[1].status = "maybe";
    Deno.writeTextFileSync(broken, JSON.stringify(rec));
    const badField = await world.controller(["record", "diff", files[0], broken]);
    assert.equal(badField.code, 2);
    assert.match(
      badField.stderr,
      /EINVAL record .*broken\.json: run\.results\[1\]\.status: expected one of ok, failed, noresponse, lost, got "maybe"/,
    );

    // A run at an instant: each host's measured clock and start are in the record.
    const synced = await world.controller([
      "run",
      "--hosts",
      "rec-[1-3]",
      "--sync",
      "--record",
      `${world.dir}/synced`,
      "--",
      "true",
    ]);
    assert.equal(synced.code, 0, synced.stderr);
    const [syncFile] = recordsIn(`${world.dir}/synced`);
    const s = JSON.parse(Deno.readTextFileSync(syncFile));
    assert.deepEqual(s.run.sync.clocks.map((c: { host: string }) => c.host), [
      "rec-1",
      "rec-2",
      "rec-3",
    ]);
    assert.equal(typeof s.run.sync.clocks[0].offset, "number");
    assert.equal(s.run.sync.started, 3);
    assert.equal(typeof s.run.results[2].sync.late, "number");
    const syncShow = await world.controller(["record", "show", syncFile]);
    assert.match(syncShow.stdout, /instant: \S+Z, 3 started, skew [\d.]+ ms, clock bound ±/);
  } finally {
    await world.close();
  }
});
