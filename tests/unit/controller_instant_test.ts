/**
 * A run at an instant as the CLI and the library take it: `--at` in its
 * forms, the library's refusal of an instant past or too near (before
 * anything is sent), the summary that derives the skew from the hosts'
 * starts, and the lines the CLI prints.
 */
import assert from "node:assert/strict";
import { parseInstant } from "../../controller/cli/instant.ts";
import { MIN_AHEAD_MS } from "../../controller/clock_estimate.ts";
import type { HostOutcome, RunEvent } from "../../controller/events.ts";
import { MemoryOut } from "../../controller/render/out.ts";
import { describeStart, formatMs, ScheduleView } from "../../controller/render/schedule.ts";
import { InterruptView } from "../../controller/render/interrupt.ts";
import { checkInstant, prepareRun } from "../../controller/run_request.ts";
import { runSync, startSync } from "../../controller/synced_run.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

const NOW = new Date(2026, 11, 5, 14, 3, 27, 250).getTime(); // local time

Deno.test("--at: +DELAY, a time of day today, a date and time, @epoch seconds", () => {
  assert.equal(parseInstant("+2s", NOW), NOW + 2000);
  assert.equal(parseInstant("+500ms", NOW), NOW + 500);
  assert.equal(parseInstant("+1.5", NOW), NOW + 1500);
  assert.equal(parseInstant("14:05", NOW), new Date(2026, 11, 5, 14, 5).getTime());
  assert.equal(parseInstant("14:05:30", NOW), new Date(2026, 11, 5, 14, 5, 30).getTime());
  assert.equal(parseInstant("14:05:30.25", NOW), new Date(2026, 11, 5, 14, 5, 30, 250).getTime());
  // A time of day already past stays today (and is refused as past), never tomorrow.
  assert.ok(parseInstant("09:00", NOW) < NOW);
  assert.equal(
    parseInstant("2026-12-05T13:03:27.250Z", NOW),
    Date.UTC(2026, 11, 5, 13, 3, 27, 250),
  );
  assert.equal(
    parseInstant("2026-12-05 14:10:00", NOW),
    new Date(2026, 11, 5, 14, 10).getTime(),
  );
  assert.equal(parseInstant("@1796456505.25", NOW), 1796456505250);
});

Deno.test("--at: anything else is a usage error that shows the forms", () => {
  for (const bad of ["soon", "+", "+2x", "25:00", "14:61", "2026-12-05", "@-1", ""]) {
    assert.throws(() => parseInstant(bad, NOW), UsageError, bad);
  }
  assert.throws(() => parseInstant("tomorrow", NOW), /\+DELAY \(\+2s\), HH:MM/);
});

Deno.test("an instant past or too near is EINVAL before anything is sent", () => {
  assertTuttiError(() => checkInstant(NOW - 3200, NOW), "EINVAL", "3.200 s past", "nothing");
  assertTuttiError(() => checkInstant(NOW + 100, NOW), "EINVAL", "only 100 ms ahead");
  assertTuttiError(() => checkInstant(NaN, NOW), "EINVAL", "expected a time");
  assert.equal(checkInstant(NOW + MIN_AHEAD_MS, NOW), NOW + MIN_AHEAD_MS);
  assert.equal(checkInstant(new Date(NOW + 5000), NOW), NOW + 5000);
  assertTuttiError(
    () => prepareRun({ hosts: "h-1", argv: ["true"], at: Date.now() - 1000 }),
    "EINVAL",
    "past",
  );
  const p = prepareRun({ hosts: "h-[1-3]", argv: ["true"], at: Date.now() + 10_000 });
  assert.ok(p.sync !== null && p.sync.at! > Date.now());
  assert.deepEqual(prepareRun({ hosts: "h-1", argv: ["true"], sync: true }).sync, { at: null });
  assert.equal(prepareRun({ hosts: "h-1", argv: ["true"] }).sync, null);
});

Deno.test("the run at its instant goes only to the measured hosts, each with its own instant", () => {
  const p = prepareRun({ hosts: "h-[1-4]", exclude: "h-9", argv: ["true"], sync: true });
  const at = p.at(NOW, { "h-1": NOW * 1000, "h-3": NOW * 1000 + 250 });
  assert.deepEqual(at.resolved.target, { hosts: "h-[1,3]", exclude: "h-9" });
  assert.deepEqual(at.resolved.explicit, ["h-1", "h-3"]);
  assert.deepEqual(at.request.startUs, { "h-1": NOW * 1000, "h-3": NOW * 1000 + 250 });
  assert.equal(at.instant, NOW);
  assert.equal(at.id, p.id);
});

function proc(host: string, startedUs?: number): ProcInfo {
  return {
    id: "r1",
    host,
    pid: 7,
    argv: ["true"],
    cwd: "/",
    state: "running",
    started: Math.floor((startedUs ?? NOW * 1000) / 1000),
    ...(startedUs !== undefined && { startedUs }),
    ended: null,
    code: null,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
  };
}

Deno.test("a start on the controller's clock: the host's start minus its offset", () => {
  const clock = { offset: 20, bound: 0.3, delay: 0.6, used: 4, samples: 8 };
  // The host is 20 ms ahead: it started at its NOW + 21.5 ms, 1.5 ms after the instant.
  const s = startSync(proc("h-1", (NOW + 21.5) * 1000), NOW, clock)!;
  assert.deepEqual(s, { at: NOW, start: NOW + 1.5, late: 1.5, bound: 0.3 });
  // An agent that does not record µs: its ms are all there is.
  assert.equal(startSync({ ...proc("h-1"), started: NOW + 22 }, NOW, clock)!.late, 2);
  assert.equal(startSync(proc("h-1"), NOW, undefined), undefined);
});

Deno.test("the run's skew: latest start minus earliest, the largest bound of those hosts", () => {
  const clocks = new Map([
    ["h-1", { offset: 0, bound: 0.2, delay: 0.4, used: 4, samples: 8 }],
    ["h-2", { offset: 0, bound: 0.7, delay: 1.4, used: 4, samples: 8 }],
    ["h-3", { offset: 0, bound: 9, delay: 18, used: 4, samples: 8 }],
  ]);
  const hosts: HostOutcome[] = [
    { host: "h-1", status: "ok", sync: { at: NOW, start: NOW + 0.4, late: 0.4, bound: 0.2 } },
    { host: "h-2", status: "ok", sync: { at: NOW, start: NOW + 2.2, late: 2.2, bound: 0.7 } },
    { host: "h-3", status: "failed", error: { code: "ECANCELED", message: "x" } },
  ];
  assert.deepEqual(runSync(NOW, hosts, clocks), {
    at: NOW,
    started: 2,
    skew: 1.8,
    earliest: 0.4,
    latest: 2.2,
    bound: 0.7,
  });
  assert.deepEqual(runSync(NOW, [hosts[2]], clocks), {
    at: NOW,
    started: 0,
    skew: null,
    earliest: null,
    latest: null,
    bound: 0,
  });
});

Deno.test("the CLI's lines: the instant once scheduled, the skew at the end", () => {
  const out = new MemoryOut();
  const view = new ScheduleView(out);
  const at = Date.now() + 1750;
  view.event({ type: "scheduled", host: "h-1", at, offset: 0.01, bound: 0.08, delay: 0.16 });
  view.event({ type: "scheduled", host: "h-2", at, offset: -0.02, bound: 0.05, delay: 0.1 });
  assert.equal(out.err, "", "said once every host's instant is known");
  view.event({ type: "held", host: "h-2" });
  view.event({ type: "held", host: "h-1" });
  assert.match(
    out.err,
    /^start at \d\d:\d\d:\d\d\.\d{3} \(in \d+\.\d\d s\) on 2 hosts, clocks known to ±0\.08 ms\n$/,
  );
  view.end({
    id: "r1",
    hosts: [],
    ok: true,
    sync: { at, started: 5, skew: 1.84, earliest: 0.21, latest: 2.05, bound: 0.08 },
  });
  assert.match(
    out.err.split("\n")[1],
    /^start skew 1\.84 ms: 5 hosts started 0\.21 to 2\.05 ms after \d\d:\d\d:\d\d\.\d{3} \(clocks ±0\.08 ms\)$/,
  );
  assert.match(
    describeStart({ at, start: at + 0.412, late: 0.412, bound: 0.05 }),
    /^at \d\d:\d\d:\d\d\.\d{6}, \+0\.41 ms ±0\.05$/,
  );
  assert.equal(formatMs(12.34), "12.3");
  assert.equal(formatMs(-0.051), "-0.05");
});

Deno.test("Ctrl-C before the instant names the hosts that will start and how to cancel", () => {
  const view = new InterruptView("r1", () => 3);
  const events: RunEvent[] = [
    { type: "error", host: "h-3", error: { code: "ENOSYS", message: "old agent" } },
    ...["h-1", "h-2"].map((host): RunEvent => ({
      type: "scheduled",
      host,
      at: Date.now() + 60_000,
      offset: 0,
      bound: 0.1,
      delay: 0.2,
    })),
  ];
  for (const e of events) view.event(e);
  assert.match(view.status(), /2 to start at /);
  const lines = view.stopLines().join("\n");
  assert.match(lines, /h-\[1-2\] will start r1 at .*controller kill --hosts 'h-\[1-2\]' r1/);
  assert.match(lines, /3 hosts: 0 ok, 1 failed \(h-3\), 2 to start \(h-\[1-2\]\)/);
});
