/**
 * `run --at`: one instant for every host. Real broker, real agents, the real
 * controller (CLI and library); the clocks are measured with `clock`, each
 * agent's keeper waits for the instant and starts the process, the starts
 * are reported on the controller's clock with their bound. Two hosts here
 * are made-up agents on the wire: one too old to know `clock`, one whose
 * clock is 5 s ahead (all real agents share this machine's clock, so only a
 * made-up one can show that an offset is measured and applied).
 *
 * The bound on lateness is generous (the test machine is shared and
 * loaded): what is asserted is that nothing starts before its instant and
 * that the reported starts are the processes' own, not how fast.
 */
import assert from "node:assert/strict";
import type { Msg } from "@nats-io/transport-node";
import { decodeMap, encode } from "../../protocol/codec.ts";
import { parseTarget } from "../../protocol/messages.ts";
import { preciseNow } from "../../protocol/runtime/precise_clock.ts";
import { matchTarget } from "../../protocol/selector.ts";
import { Controller, type RunEvent, type RunSummary, TuttiError } from "../../controller/mod.ts";
import { exists, jsonLines, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** How late after its instant a process may start on a loaded test machine (not a speed claim). */
const LATE_MS = 100;

/** `date +%s.%N` as ms since the epoch. */
function dateMs(text: string): number {
  const [s, ns] = text.trim().split(".");
  return Number(s) * 1000 + Number(ns) / 1e6;
}

function connect(world: World): Promise<Controller> {
  return Controller.connect({ servers: [world.broker.url], prefix: world.prefix, stateDir: false });
}

/** Every event of a run, then its summary. */
async function drain(run: AsyncIterable<RunEvent> & { done: Promise<RunSummary> }) {
  const events: RunEvent[] = [];
  for await (const e of run) events.push(e);
  return { events, summary: await run.done };
}

Deno.test(
  "run --at +8s on 5 agents: every process starts at the instant, by its own clock",
  opts,
  async () => {
    const world = await World.create();
    try {
      const names = ["sy-1", "sy-2", "sy-3", "sy-4", "sy-5"];
      await world.agentsNamed(names);
      const before = Date.now();
      const r = await world.controller([
        "run",
        "--hosts",
        "sy-[1-5]",
        // Far enough ahead that measuring 5 clocks on a loaded machine (the whole suite at
        // once) leaves time to reach every host: with +2s, 1.6 s of measuring was once too much.
        "--at",
        "+8s",
        "--json",
        "--",
        "date",
        "+%s.%N",
      ]);
      const after = Date.now();
      assert.equal(r.code, 0, r.stderr);
      const events = jsonLines(r.stdout);
      const clocks = events.filter((e) => e.type === "scheduled") as {
        host: string;
        at: number;
        offset: number;
        bound: number;
      }[];
      assert.deepEqual(clocks.map((c) => c.host), names);
      const at = clocks[0].at;
      assert.ok(clocks.every((c) => c.at === at));
      assert.ok(at >= before + 8000 && at <= after + 8000, `instant ${at} is not +8s`);
      for (const c of clocks) {
        assert.ok(Number.isFinite(c.bound) && c.bound >= 0, `bound ${c.bound}`);
        // One machine, one clock: the true offset is 0, and the estimate must be within its bound.
        assert.ok(Math.abs(c.offset) <= c.bound + 0.01, `${c.host}: ${c.offset} ± ${c.bound}`);
      }
      assert.deepEqual(
        events.filter((e) => e.type === "held").map((e) => e.host).sort(),
        names,
      );
      const summary = events.find((e) => e.type === "summary")!;
      const sync = summary.sync as Record<string, number>;
      const lates: number[] = [];
      for (const host of names) {
        const started = events.find((e) => e.type === "started" && e.host === host)!;
        const s = started.sync as { at: number; start: number; late: number; bound: number };
        const output = events.filter((e) => e.type === "output" && e.host === host)
          .map((e) => e.text).join("");
        const own = dateMs(output);
        assert.equal(s.at, at);
        // The process read the clock at or after the instant: nothing started early ...
        assert.ok(own >= at, `${host}: date says ${own - at} ms from the instant`);
        assert.ok(own - at <= LATE_MS, `${host}: ${own - at} ms late`);
        // ... and the start reported is its own: just before it read the clock (its exec),
        // on the controller's clock give or take the bound.
        assert.ok(s.start - s.bound <= own, `${host}: reported ${s.start}, date ${own}`);
        assert.ok(own - s.start <= s.bound + LATE_MS, `${host}: reported ${s.start}, date ${own}`);
        assert.ok(s.start >= at - s.bound, `${host}: reported ${s.late} ms from the instant`);
        assert.ok(Math.abs(s.late - (s.start - at)) < 0.002);
        lates.push(s.late);
      }
      assert.equal(sync.at, at);
      assert.equal(sync.started, 5);
      assert.ok(Math.abs(sync.skew - (Math.max(...lates) - Math.min(...lates))) < 0.002);
      assert.equal(sync.bound, Math.max(...clocks.map((c) => c.bound)));
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "run --at: an instant past, or too near, is refused with the reason and nothing starts",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["pa-1", "pa-2"]);
      const past = (Date.now() - 10_000) / 1000;
      const r = await world.controller([
        "run",
        "--hosts",
        "pa-[1-2]",
        "--id",
        "late",
        "--at",
        `@${past.toFixed(3)}`,
        "--",
        "true",
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /EINVAL the start instant \S+Z is 1\d\.\d{3} s past: nothing was started/,
      );
      const near = await world.controller(
        ["run", "--hosts", "pa-[1-2]", "--id", "near", "--at", "+100ms", "--", "true"],
      );
      assert.equal(near.code, 2, near.stderr);
      assert.match(near.stderr, /EINVAL the start instant \S+ is only \d+ ms ahead/);
      const ps = await world.controller(["ps", "--hosts", "pa-[1-2]", "--all"]);
      assert.equal(ps.code, 0, ps.stderr);
      assert.doesNotMatch(ps.stdout, /late|near/);
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "run --at with --detach: returns once every host has started, with when",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["de-1", "de-2", "de-3"]);
      const r = await world.controller([
        "run",
        "--hosts",
        "de-[1-3]",
        "--id",
        "sleeper",
        "--at",
        "+1500ms",
        "--detach",
        "--",
        "sleep",
        "30",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").sort();
      assert.equal(lines.length, 3, r.stdout);
      for (const [i, line] of lines.entries()) {
        assert.match(
          line,
          new RegExp(
            `^de-${i + 1}: started sleeper \\(pid \\d+\\) at \\d\\d:\\d\\d:\\d\\d\\.\\d{6}, ` +
              `[+-]\\d+\\.\\d+ ms ±\\d+\\.\\d+$`,
          ),
        );
      }
      assert.match(r.stderr, /^start at \S+ \(in \d\.\d\d s\) on 3 hosts, clocks known to ±/m);
      assert.match(r.stderr, /^3 hosts: 3 started$/m);
      assert.match(
        r.stderr,
        /^start skew \S+ ms: 3 hosts started \S+ to \S+ ms after \S+ \(clocks ±/m,
      );
      const ps = await world.controller(["ps", "--hosts", "de-[1-3]"]);
      assert.equal(ps.stdout.match(/sleeper +\d+ +running/g)?.length, 3, ps.stdout);
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "a kill before the instant cancels the start: ECANCELED, and nothing runs after it",
  opts,
  async () => {
    const world = await World.create();
    const c = await connect(world);
    try {
      await world.agentsNamed(["ca-1", "ca-2", "ca-3"]);
      const mark = `${world.dir}/started`;
      const at = Date.now() + 3000;
      const run = c.run({
        hosts: "ca-[1-3]",
        id: "cancelme",
        shell: `touch ${mark}-$TUTTI_HOST`,
        at,
      });
      const held = new Set<string>();
      const events: RunEvent[] = [];
      const killed = (async () => {
        for await (const e of run) {
          events.push(e);
          if (e.type === "held") held.add(e.host);
          if (held.size === 3 && !events.some((x) => x.type === "exit")) {
            held.add("killed"); // once
            const k = await c.kill({ hosts: "ca-[1-3]" }, ["cancelme"]).done;
            assert.ok(k.every((r) => r.ok && r.results[0].ok), JSON.stringify(k));
          }
        }
      })();
      const summary = await run.done;
      await killed;
      assert.equal(summary.ok, false);
      for (const o of summary.hosts) {
        assert.equal(o.error?.code, "ECANCELED", JSON.stringify(o));
        assert.match(o.error!.message, /signalled before its start instant: it never started/);
      }
      assert.equal(summary.sync?.started, 0);
      // Past the instant: no process ran anywhere.
      await new Promise((r) => setTimeout(r, Math.max(0, at + 500 - Date.now())));
      for (const h of ["ca-1", "ca-2", "ca-3"]) assert.equal(exists(`${mark}-${h}`), false);
      const ps = await c.ps({ hosts: "ca-[1-3]" }, { procs: ["cancelme"], all: true }).done;
      for (const r of ps) assert.deepEqual(r.ok && r.procs, [], JSON.stringify(r));
    } finally {
      await c.close();
      await world.close();
    }
  },
);

Deno.test(
  "an agent killed while it holds a run: the new one is asked again and starts it at the instant",
  opts,
  async () => {
    const world = await World.create();
    const c = await connect(world);
    try {
      const [, victim] = await world.agentsNamed(["rs-1", "rs-2"]);
      const mark = `${world.dir}/ran`;
      // Time for an agent to be killed and another to start, on a loaded machine.
      const at = Date.now() + 10_000;
      const run = c.run({
        hosts: "rs-[1-2]",
        id: "again",
        shell: `date +%s.%N >> ${mark}-$TUTTI_HOST`,
        at,
      });
      const events: RunEvent[] = [];
      let restarted: Promise<unknown> | null = null;
      for await (const e of run) {
        events.push(e);
        if (e.type === "held" && e.host === "rs-2" && restarted === null) {
          // Its keeper drops what it held for the dead agent; the next agent says hello.
          restarted = victim.kill().then(() => world.agent("rs-2"));
        }
      }
      await restarted;
      const summary = await run.done;
      assert.equal(summary.ok, true, JSON.stringify(summary.hosts));
      // Had the keeper kept the dead agent's start, the new agent's would have been refused
      // (EEXIST) or run twice.
      for (const h of ["rs-1", "rs-2"]) {
        const lines = (await Deno.readTextFile(`${mark}-${h}`)).trim().split("\n");
        assert.equal(lines.length, 1, `${h} ran ${lines.length} times`);
        assert.ok(dateMs(lines[0]) >= at, `${h} started ${at - dateMs(lines[0])} ms early`);
      }
    } finally {
      await c.close();
      await world.close();
    }
  },
);

/**
 * A made-up agent on the wire: answers the requests whose target selects
 * `name` with `answer`, and remembers them.
 */
function fakeAgent(
  world: World,
  name: string,
  answer: (verb: string, req: Record<string, unknown>, reply: (body: object) => void) => void,
) {
  const s = world.subjects;
  const seen: { verb: string; req: Record<string, unknown> }[] = [];
  world.nc.subscribe(s.allAll(), {
    callback: (_e, m: Msg) => {
      const req = decodeMap(m.data);
      if (!matchTarget(parseTarget(req), name, {})) return;
      const verb = s.verbOf(m.subject);
      seen.push({ verb, req });
      const to = s.answerOn(m.reply!, name)!;
      answer(verb, req, (body) => {
        if (!world.nc.isClosed()) world.nc.publish(to, encode({ v: 1, host: name, ...body }));
      });
    },
  });
  return seen;
}

/** An agent older than `clock`: it answers ENOSYS, as every agent does to a verb it lacks. */
function oldAgent(world: World, name: string) {
  return fakeAgent(world, name, (verb, _req, reply) => {
    if (verb === "clock") {
      reply({ ok: false, error: { code: "ENOSYS", message: `unknown verb "clock"` } });
    }
  });
}

/**
 * An agent whose clock is `aheadMs` ahead of this machine's: answers `clock`,
 * holds a run for its instant on its own clock, then says it started it 0.3 ms
 * after (startedUs), by `started` and the run's reply.
 */
function skewedAgent(world: World, name: string, aheadMs: number, replyDelayMs = 0) {
  const mine = () => preciseNow() + aheadMs;
  return fakeAgent(world, name, (verb, req, reply) => {
    if (verb === "clock") {
      // A slow link, not a slow host: the request comes `replyDelayMs` late.
      setTimeout(() => {
        const t1 = Math.round(mine() * 1000);
        reply({ ok: true, t0: req.t0, t1, t2: Math.round(mine() * 1000) });
      }, replyDelayMs);
    } else if (verb === "run") {
      const startUs = (req.startUs as Record<string, number>)[name];
      reply({ ok: true, accepted: true, startUs });
      setTimeout(() => {
        if (world.nc.isClosed()) return;
        const proc = {
          id: req.id,
          host: name,
          pid: 4242,
          argv: req.argv,
          cwd: "/",
          state: "running",
          started: Math.floor(startUs / 1000),
          startedUs: startUs + 300,
          ended: null,
          code: null,
          signal: null,
          timedOut: false,
          stdout: 0,
          stderr: 0,
        };
        world.nc.publish(
          world.subjects.proc(name, req.id as string, "started"),
          encode({ v: 1, ...proc }),
        );
        reply({ ok: true, proc, existing: false });
      }, Math.max(0, startUs / 1000 - mine()));
    }
  });
}

Deno.test(
  "an agent too old for clock is left out (ENOSYS); an offset is measured and applied",
  opts,
  async () => {
    const world = await World.create();
    const c = await connect(world);
    try {
      await world.agentsNamed(["mx-1", "mx-2"]);
      const old = oldAgent(world, "old-1");
      const skewed = skewedAgent(world, "skew-1", 5000);
      await world.nc.flush();
      const at = Date.now() + 2500;
      const { events, summary } = await drain(c.run({
        hosts: "mx-[1-2],old-1,skew-1",
        argv: ["true"],
        id: "mixed",
        detach: true,
        at,
      }));
      const by = new Map(summary.hosts.map((o) => [o.host, o]));
      assert.deepEqual([...by.keys()], ["mx-1", "mx-2", "old-1", "skew-1"]);
      // The old agent: failed at once, with why, and never asked to run anything.
      assert.equal(by.get("old-1")!.error?.code, "ENOSYS");
      assert.match(by.get("old-1")!.error!.message, /does not know "clock"/);
      assert.deepEqual(old.map((r) => r.verb).filter((v) => v !== "clock"), []);
      // The real ones and the skewed one started.
      for (const h of ["mx-1", "mx-2", "skew-1"]) assert.equal(by.get(h)!.status, "ok", h);
      // The skewed one was told the instant on its own clock: 5 s ahead, within its bound.
      const clock = events.find((e) => e.type === "scheduled" && e.host === "skew-1")!;
      assert.ok(clock.type === "scheduled" && clock.at === at);
      assert.ok(Math.abs(clock.offset - 5000) <= clock.bound + 0.01, JSON.stringify(clock));
      const run = skewed.find((r) => r.verb === "run")!;
      const told = (run.req.startUs as Record<string, number>)["skew-1"] / 1000;
      assert.ok(Math.abs(told - (at + 5000)) <= clock.bound + 0.01, `${told - at - 5000} ms off`);
      assert.deepEqual(Object.keys(run.req.startUs as object).sort(), ["mx-1", "mx-2", "skew-1"]);
      // Its start, 0.3 ms after its instant on its clock, is 0.3 ms after the instant on ours.
      const s = by.get("skew-1")!.sync!;
      assert.ok(Math.abs(s.late - 0.3) < 0.002, `late ${s.late}`);
      assert.equal(summary.sync!.started, 3);
      assert.equal(summary.ok, false, "a host was left out");
    } finally {
      await c.close();
      await world.close();
    }
  },
);

Deno.test(
  "an instant that is too near once the clocks are measured: EINVAL, nothing starts",
  opts,
  async () => {
    const world = await World.create();
    const c = await connect(world);
    try {
      await world.agent("ne-1");
      // A host whose answers take 120 ms: it is measured in time, but the run would then need
      // 4 of its round trips, more than the instant leaves once the clocks are known.
      skewedAgent(world, "far-1", 0, 120);
      await world.nc.flush();
      const run = c.run({
        hosts: "ne-1,far-1",
        argv: ["true"],
        id: "tooclose",
        at: Date.now() + 700,
      });
      await assert.rejects(drain(run), (e) => {
        assert.ok(e instanceof TuttiError && e.code === "EINVAL", String(e));
        assert.match(
          e.message,
          /^the start instant \S+ is (only \d+ ms ahead|\d+ ms past) once the clocks of 2 host\(s\) are measured, and reaching them all may take \d+ ms \(slowest round trip 1\d\d\.\d ms\): nothing was started/,
        );
        return true;
      });
      const ps = await c.ps({ hosts: "ne-1" }, { procs: ["tooclose"], all: true }).done;
      assert.deepEqual(ps[0].ok && ps[0].procs, []);
    } finally {
      await c.close();
      await world.close();
    }
  },
);
