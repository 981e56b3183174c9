/**
 * Plans through the library, on real agents: each kind of dependency
 * (started, ready, completed) holding a component back exactly until its
 * condition, independent components side by side, a failure in the middle
 * that stops what depends on it (named by component, step, host and error)
 * and not the rest, `plan down` cleaning up after it, and `plan apply`
 * redoing only what changed and what depends on it.
 *
 * Nothing here waits on time: what a component waits for is a file the test
 * creates once it has seen, in the plan's events, that the component waits.
 */
import assert from "node:assert/strict";
import {
  Controller,
  parsePlan,
  planApply,
  planDown,
  type PlanEvent,
  type PlanOperation,
  planState,
  planUp,
  type StepRecord,
} from "../../controller/mod.ts";
import { World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function connect(world: World): Promise<Controller> {
  return await Controller.connect({
    servers: [world.broker.url],
    prefix: world.prefix,
    stateDir: false,
    ackTimeoutMs: 5000,
  });
}

/** Follows an operation; `on` sees every event as it comes. */
async function follow(
  op: PlanOperation,
  on: (e: PlanEvent) => void | Promise<void> = () => {},
  events: PlanEvent[] = [],
) {
  for await (const e of op) {
    events.push(e);
    await on(e);
  }
  return { events, summary: await op.done };
}

function statusOf(events: PlanEvent[], component: string): string[] {
  return events.flatMap((e) =>
    e.type === "component" && e.component === component ? [e.status] : []
  );
}

function records(events: PlanEvent[], component: string, step: string): StepRecord[] {
  const out = new Map<string, StepRecord>();
  for (const e of events) {
    if (e.type === "step" && e.record.component === component && e.record.step === step) {
      out.set(e.record.host, e.record);
    }
  }
  return [...out.values()];
}

Deno.test(
  "dependencies: started, ready and completed each hold a component until they hold",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      await world.agentsNamed(["pl-1", "pl-2"]);
      c = await connect(world);
      const go = `${world.dir}/svc-ready`;
      const plan = parsePlan(
        `name: deps
components:
  svc:
    hosts: pl-1
    steps:
      - run: echo up; exec sleep 1000
        name: serve
        detach: true
    ready: {file: ${go}}
  early:
    hosts: pl-2
    after: {svc: started}
    steps: [{run: "true"}]
  late:
    hosts: pl-2
    after: {svc: ready}
    steps: [{run: "true"}]
  job:
    hosts: pl-[1-2]
    steps:
      - run: sleep 0.3
        name: work
        detach: true
  after_job:
    hosts: pl-1
    after: {job: completed}
    steps: [{run: "true", name: next}]
  left:
    hosts: pl-1
    after: {after_job: completed}
    steps: [{run: sleep 0.4, name: side}]
  right:
    hosts: pl-2
    after: {after_job: completed}
    steps: [{run: sleep 0.4, name: side}]
`,
        { source: "deps.yaml" },
      );
      const stateDir = `${world.dir}/plans`;
      let created = false;
      const events: PlanEvent[] = [];
      const { summary } = await follow(planUp(c, plan, { stateDir }), async (e) => {
        // `early` (after svc started) is done while `late` (after svc ready) still waits:
        // only then does the test let svc become ready.
        if (e.type === "component" && e.component === "early" && e.status === "completed") {
          assert.deepEqual(statusOf(events, "late"), ["pending", "waiting"]);
          assert.deepEqual(statusOf(events, "svc").slice(-1), ["started"]);
          await Deno.writeTextFile(go, "");
          created = true;
        }
        if (e.type === "component" && e.component === "late" && e.status === "starting") {
          assert.ok(created, "late started before svc was ready");
        }
      }, events);
      assert.ok(summary.ok, JSON.stringify(summary.failures));
      const status = Object.fromEntries(summary.components.map((x) => [x.name, x.status]));
      assert.deepEqual(status, {
        svc: "ready",
        early: "completed",
        late: "completed",
        job: "completed",
        after_job: "completed",
        left: "completed",
        right: "completed",
      });
      // completed: after_job began only once job's service had exited on both hosts.
      const exits = records(events, "job", "work:exit");
      assert.equal(exits.length, 2);
      assert.ok(exits.every((r) => r.detail === "exited with code 0"));
      const next = records(events, "after_job", "next")[0];
      assert.ok(next.start >= Math.max(...exits.map((r) => r.end!)));
      // Independent components run side by side: left and right overlap.
      const [l] = records(events, "left", "side");
      const [r] = records(events, "right", "side");
      assert.ok(l.start < r.end! && r.start < l.end!, `${JSON.stringify([l, r])}`);

      // The state remembers what runs; down kills it.
      const state = await planState(c, "deps", { stateDir });
      const svcProc = state!.components.svc.services[0].proc;
      assert.match(svcProc, /^deps-svc-serve-\w+$/);
      const [ps] = await c.ps({ hosts: "pl-1" }, { procs: [svcProc] }).done;
      assert.ok(ps.ok && ps.procs[0]?.state === "running");
      const down = await follow(planDown(c, plan, { stateDir }));
      assert.ok(down.summary.ok, JSON.stringify(down.summary.failures));
      // Dependents go down first: late before svc.
      const order = down.events.flatMap((e) =>
        e.type === "component" && e.status === "down" ? [e.component] : []
      );
      assert.ok(order.indexOf("late") < order.indexOf("svc"), order.join(" "));
      assert.ok(order.indexOf("early") < order.indexOf("svc"), order.join(" "));
      const [after] = await c.ps({ hosts: "pl-1" }, { procs: [svcProc], all: true }).done;
      assert.ok(after.ok && after.procs[0]?.state !== "running");
      assert.deepEqual((await planState(c, "deps", { stateDir }))!.components, {});
    } finally {
      await c?.close();
      await world.close();
    }
  },
);

Deno.test(
  "a failing step stops its dependents, names host, step and error; down cleans up",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      await world.agentsNamed(["fl-1", "fl-2"]);
      c = await connect(world);
      const plan = parsePlan(
        `name: fails
components:
  base:
    hosts: fl-[1-2]
    steps:
      - run: exec sleep 1000
        name: daemon
        detach: true
  bad:
    hosts: fl-[1-2]
    after: [base]
    steps:
      - run: echo fine
      - run: 'if [ "$TUTTI_HOST" = fl-2 ]; then echo "config missing" >&2; exit 3; fi'
        name: check
      - run: echo never
        name: never
  dependent:
    hosts: fl-1
    after: {bad: completed}
    steps: [{run: "true"}]
  indirect:
    hosts: fl-1
    after: {dependent: started}
    steps: [{run: "true"}]
  independent:
    hosts: fl-2
    after: [base]
    steps: [{run: "true"}]
`,
        { source: "fails.yaml" },
      );
      const stateDir = `${world.dir}/plans`;
      const { events, summary } = await follow(planUp(c, plan, { stateDir }));
      assert.equal(summary.ok, false);
      const status = Object.fromEntries(summary.components.map((x) => [x.name, x.status]));
      // base has no readiness watch: started is as far as it goes, and enough for "ready".
      assert.deepEqual(status, {
        base: "started",
        bad: "failed",
        dependent: "blocked",
        indirect: "blocked",
        independent: "completed",
      });
      assert.equal(summary.failures.length, 1);
      const f = summary.failures[0];
      assert.equal(f.component, "bad");
      assert.equal(f.step, "check");
      assert.equal(f.host, "fl-2");
      assert.equal(f.error.code, "EEXIT");
      assert.match(f.error.message, /^exited with code 3: config missing \(controller logs fl-2 /);
      // The step after the failing one never ran; the dependents say why they did not start.
      assert.deepEqual(records(events, "bad", "never"), []);
      const blocked = summary.components.find((x) => x.name === "indirect")!;
      assert.match(
        blocked.failure!.error.message,
        /not started: dependent did not become started \(dependent: step after: ECANCELED not started: bad did not become completed \(bad: step check on fl-2: EEXIT exited with code 3/,
      );

      // What the failed plan left running is taken down.
      const state = await planState(c, "fails", { stateDir });
      const daemon = state!.components.base.services[0].proc;
      const down = await follow(planDown(c, plan, { stateDir }));
      assert.ok(down.summary.ok, JSON.stringify(down.summary.failures));
      const replies = await c.ps({ hosts: "fl-[1-2]" }, { procs: [daemon], all: true }).done;
      assert.equal(replies.length, 2);
      for (const r of replies) assert.ok(r.ok && r.procs[0].state !== "running");
    } finally {
      await c?.close();
      await world.close();
    }
  },
);

Deno.test(
  "apply redoes what changed and what depends on it, and keeps the rest running",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      await world.agentsNamed(["ap-1", "ap-2"]);
      c = await connect(world);
      const text = (db: string, web: string) =>
        `name: apply
components:
  db:
    hosts: ap-1
    steps: [{run: "echo db ${db}; exec sleep 1000", name: s, detach: true}]
    ready: {output: {step: s, pattern: "^db"}}
  web:
    hosts: ap-2
    after: [db]
    steps: [{run: "echo web ${web}; exec sleep 1000", name: s, detach: true}]
    ready: {output: {step: s, pattern: "^web"}}
  cache:
    hosts: ap-[1-2]
    steps: [{run: "exec sleep 1000", name: s, detach: true}]
`;
      const stateDir = `${world.dir}/plans`;
      const v1 = parsePlan(text("1", "1"), { source: "apply.yaml" });
      assert.ok((await follow(planUp(c, v1, { stateDir }))).summary.ok);
      // A second up would start every service again beside the running ones: refused.
      await assert.rejects(
        planUp(c, v1, { stateDir }).done,
        (e: Error & { code?: string }) =>
          e.code === "EEXIST" && /plan apply changes it/.test(e.message),
      );
      const procs = async () => {
        const s = await planState(c!, "apply", { stateDir });
        return Object.fromEntries(
          Object.entries(s!.components).map(([n, x]) => [n, x.services[0].proc]),
        );
      };
      const before = await procs();

      // web changed: only web is redone.
      const v2 = parsePlan(text("1", "2"), { source: "apply.yaml" });
      const a2 = await follow(planApply(c, v2, { stateDir }));
      assert.ok(a2.summary.ok, JSON.stringify(a2.summary.failures));
      assert.deepEqual(a2.summary.redone, ["web"]);
      assert.deepEqual(statusOf(a2.events, "db"), ["kept"]);
      assert.deepEqual(statusOf(a2.events, "cache"), ["kept"]);
      const mid = await procs();
      assert.equal(mid.db, before.db);
      assert.equal(mid.cache, before.cache);
      assert.notEqual(mid.web, before.web);
      const out = await c.logs("ap-2", mid.web).bytes();
      assert.equal(new TextDecoder().decode(out), "web 2\n");
      // The old web was stopped, the kept ones still run.
      const [oldWeb] = await c.ps({ hosts: "ap-2" }, { procs: [before.web], all: true }).done;
      assert.ok(oldWeb.ok && oldWeb.procs[0].state !== "running");
      const kept = await c.ps({ hosts: "ap-[1-2]" }, { procs: [before.cache] }).done;
      assert.ok(kept.every((r) => r.ok && r.procs[0]?.state === "running"));

      // db changed: db and web (which depends on it) are redone, cache is kept.
      const v3 = parsePlan(text("3", "2"), { source: "apply.yaml" });
      const a3 = await follow(planApply(c, v3, { stateDir }));
      assert.ok(a3.summary.ok);
      assert.deepEqual(a3.summary.redone, ["db", "web"]);
      // Taken down dependents first, brought up in dependency order.
      const seq = a3.events.flatMap((e) =>
        e.type === "component" && (e.status === "down" || e.status === "starting")
          ? [`${e.component} ${e.status}`]
          : []
      );
      assert.deepEqual(seq, ["web down", "db down", "db starting", "web starting"]);
      const last = await procs();
      assert.equal(last.cache, before.cache);

      // Nothing changed: nothing is redone.
      const a4 = await follow(planApply(c, v3, { stateDir }));
      assert.deepEqual(a4.summary.redone, []);
      assert.ok((await follow(planDown(c, v3, { stateDir }))).summary.ok);
    } finally {
      await c?.close();
      await world.close();
    }
  },
);

Deno.test(
  "steps start and stop supervised programs; readiness on a program's state and output",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      const config = writeConfig(
        world,
        `programs:
  web:
    cmd: sh -c 'echo web serving; exec sleep 1000'
    autostart: false
    starttime: 0.2
    stoptime: 1
  old:
    cmd: sleep 1000
    starttime: 0.1
    stoptime: 1
`,
      );
      await supervisingAgent(world, "pg-1", config);
      c = await connect(world);
      const plan = parsePlan(
        `name: progs
components:
  web:
    hosts: pg-1
    steps:
      - stop: old
      - start: web
    ready: {state: {program: web, state: RUNNING}}
  check:
    hosts: pg-1
    after: [web]
    steps: [{run: "true"}]
    ready: {output: {program: web, pattern: serving}}
  missing:
    hosts: pg-1
    steps: [{start: nosuch}]
`,
        { source: "progs.yaml" },
      );
      const stateDir = `${world.dir}/plans`;
      const { summary } = await follow(planUp(c, plan, { stateDir }));
      const status = Object.fromEntries(summary.components.map((x) => [x.name, x.status]));
      assert.deepEqual(status, { web: "ready", check: "completed", missing: "failed" });
      const f = summary.failures[0];
      assert.equal(f.component, "missing");
      assert.equal(f.host, "pg-1");
      assert.equal(f.error.code, "ESRCH");
      const rows = async () => {
        const [r] = await c!.programs("status", { hosts: "pg-1" }).done;
        assert.ok(r.ok);
        return Object.fromEntries(r.processes.map((p) => [p.name, p.state]));
      };
      assert.deepEqual(await rows(), { web: "RUNNING", old: "STOPPED" });
      // down stops what the plan started (and only that).
      const down = await follow(planDown(c, plan, { stateDir }));
      assert.ok(down.summary.ok, JSON.stringify(down.summary.failures));
      assert.deepEqual(await rows(), { web: "STOPPED", old: "STOPPED" });
    } finally {
      await c?.close();
      await closeWorld(world);
    }
  },
);
