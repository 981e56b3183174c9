/**
 * The small pieces of the supervisor: the transition table, supervisorctl's
 * time formats, the tail ring, output files that fail, the event iterator.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { EventHub, type SupervisorEvent } from "../../agent/supervisor/events.ts";
import { OutputFile, TAIL_BYTES, TailBuffer } from "../../agent/supervisor/output.ts";
import { canTransition, TRANSITIONS } from "../../agent/supervisor/states.ts";
import { PROGRAM_STATES } from "../../protocol/program_messages.ts";
import { describeProcess, formatStopTime } from "../../agent/supervisor/status.ts";

Deno.test("transitions: supervisord's, plus EXITED -> FATAL; every state is reachable", () => {
  ok(canTransition("STOPPED", "STARTING"));
  ok(!canTransition("STOPPED", "RUNNING"));
  ok(!canTransition("RUNNING", "STARTING"), "a restart goes through EXITED or STOPPING");
  ok(!canTransition("FATAL", "STOPPED"));
  ok(canTransition("EXITED", "FATAL"));
  ok(canTransition("BACKOFF", "STOPPED"));
  const reachable = new Set(["STOPPED"]);
  for (let changed = true; changed;) {
    changed = false;
    for (const from of [...reachable]) {
      for (const to of TRANSITIONS[from as keyof typeof TRANSITIONS]) {
        if (!reachable.has(to)) {
          reachable.add(to);
          changed = true;
        }
      }
    }
  }
  deepStrictEqual([...reachable].sort(), [...PROGRAM_STATES].sort());
});

Deno.test("stop time reads like supervisorctl's", () => {
  strictEqual(formatStopTime(new Date(2025, 2, 1, 14, 5).getTime()), "Mar 01 02:05 PM");
  strictEqual(formatStopTime(new Date(2025, 11, 31, 0, 7).getTime()), "Dec 31 12:07 AM");
  strictEqual(
    describeProcess("web", "RUNNING", 4121, 192, null, 1, null),
    "pid 4121, uptime 0:03:12",
  );
  strictEqual(describeProcess("web", "STOPPED", null, null, null, null, null), "Not started");
  strictEqual(
    describeProcess("web", "FATAL", null, null, null, 1, 2),
    'unknown error (try "tail web")',
  );
  strictEqual(describeProcess("web", "STARTING", 4121, 0, null, 1, null), "");
});

Deno.test("the tail ring keeps the last 64 KiB and counts every byte", () => {
  const t = new TailBuffer();
  strictEqual(t.read().length, 0);
  t.push(new TextEncoder().encode("hello "));
  t.push(new TextEncoder().encode("world"));
  strictEqual(new TextDecoder().decode(t.read()), "hello world");
  strictEqual(new TextDecoder().decode(t.read(5)), "world");
  const big = new Uint8Array(TAIL_BYTES + 10).map((_, i) => i % 251);
  t.push(big);
  strictEqual(t.end, 11 + big.length);
  deepStrictEqual(t.read(), big.subarray(10));
  // Wrapping around the end of the ring.
  const more = new Uint8Array(1000).fill(7);
  t.push(more);
  const last = t.read();
  strictEqual(last.length, TAIL_BYTES);
  deepStrictEqual(last.subarray(TAIL_BYTES - 1000), more);
  deepStrictEqual(last.subarray(0, TAIL_BYTES - 1000), big.subarray(1010));
});

Deno.test("an output file that cannot be written reports once and drops output", async () => {
  const errors: string[] = [];
  const f = new OutputFile("/nonexistent-dir/out.log", (why) => errors.push(why));
  await f.write(new Uint8Array([1]));
  await f.write(new Uint8Array([2]));
  strictEqual(errors.length, 1);
  ok(errors[0].startsWith("/nonexistent-dir/out.log: "), errors[0]);
  f.close();
});

Deno.test("events() iterates later events until aborted", async () => {
  const hub = new EventHub();
  const stop = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const e of hub.iterate(stop.signal)) {
      seen.push(e.message);
      if (seen.length === 2) stop.abort();
    }
  })();
  const notice = (message: string): SupervisorEvent => ({ type: "notice", time: 0, message });
  hub.emit(notice("one"));
  hub.emit(notice("two"));
  hub.emit(notice("three"));
  await done;
  deepStrictEqual(seen, ["one", "two"]);
});

Deno.test("tail buffer: grows as output comes, holding the same bytes as a full ring would", () => {
  const t = new TailBuffer();
  const all: number[] = [];
  let seed = 7;
  for (let i = 0; i < 400; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const chunk = new Uint8Array(seed % 700).map((_, j) => (i + j) % 256);
    t.push(chunk);
    all.push(...chunk);
    const want = all.slice(Math.max(0, all.length - TAIL_BYTES));
    deepStrictEqual([...t.read()], want, `after push ${i}`);
    strictEqual(t.end, all.length);
  }
});
