/**
 * Carrying out a plan: `planUp` brings every component up as soon as what
 * it waits for holds, so independent components run side by side and the
 * plan takes about as long as its longest dependency chain; `planDown` takes
 * components down in reverse dependency order; `planApply` takes down and
 * brings up again only the components whose definition changed and those
 * that depend on them. Each is an Operation of PlanEvents ending with a
 * PlanSummary, and each writes the plan's state (plan_state.ts) as it goes.
 *
 * A component, once its dependencies hold: its steps in order on its hosts
 * (step_runner.ts), then `started`; its readiness watch until enough hosts
 * meet it, then `ready`; when something waits for it to be `completed`, the
 * exit of each service it launched. A failure stops the component and,
 * through their dependencies, everything that waits for it (`blocked`,
 * naming the failure); components that do not depend on it go on.
 */
import type { Controller } from "../controller.ts";
import { Channel, type Operation } from "../operation.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { conditionFor } from "./plan_file.ts";
import type { Component, DependencyKind, Plan, Step } from "./plan_types.ts";
import type {
  ComponentResult,
  ComponentStatus,
  PlanEvent,
  PlanFailure,
  PlanSummary,
  StepRecord,
} from "./plan_events.ts";
import {
  type ComponentState,
  type PlanState,
  PlanStateFile,
  type ServiceState,
} from "./plan_state.ts";
import { howItEnded, procId, runStep, type StepContext } from "./step_runner.ts";
import { defaultStateDir } from "../known_hosts.ts";

export interface PlanOptions {
  /** Where the plan's state is kept (default: see `defaultStateDir`). */
  stateDir?: string;
  /**
   * Aborting stops the operation: no step starts any more, the commands of
   * steps under way are killed (SIGTERM, SIGKILL 5 s later), waits end, and
   * the components not done are `cancelled`; what they started is in the
   * state, for `plan down`.
   */
  signal?: AbortSignal;
  /** Each failure as it happens (the CLI's `--alert-*` use it). */
  onFailure?: (f: PlanFailure) => void;
}

export type PlanOperation = Operation<PlanEvent, PlanSummary>;

/** A service's SIGTERM is followed by SIGKILL after this (s), then its exit is awaited as long again. */
const KILL_GRACE_S = 5;
const EXIT_WAIT_S = 10;

/** Statuses a component that is up may be left in by `apply`. */
const UP: readonly ComponentStatus[] = ["started", "ready", "completed", "kept"];

/** Brings every component of `plan` up. */
export function planUp(c: Controller, plan: Plan, opts: PlanOptions = {}): PlanOperation {
  return operate(c, plan, opts, "up", async (run) => {
    await run.bringUp(new Set(plan.components.map((x) => x.name)));
  });
}

/**
 * Brings `plan` (an edited version of one that is up) to its new
 * definition: components whose digest changed, that are new, or that are
 * not up, and every component depending on one of them, are taken down and
 * brought up again; components gone from the plan are taken down; the
 * others are kept as they are.
 */
export function planApply(c: Controller, plan: Plan, opts: PlanOptions = {}): PlanOperation {
  return operate(c, plan, opts, "apply", async (run, summary) => {
    const old = run.state.components;
    const changed = new Set(
      plan.components
        .filter((x) => old[x.name]?.digest !== x.digest || !UP.includes(old[x.name].status))
        .map((x) => x.name),
    );
    const redo = withDependents(plan.components, changed);
    const gone = Object.keys(old).filter((n) => !plan.components.some((x) => x.name === n));
    summary.redone = plan.components.filter((x) => redo.has(x.name)).map((x) => x.name);
    await run.takeDown(new Set([...redo, ...gone].filter((n) => old[n])));
    for (const n of gone) delete run.state.components[n];
    await run.bringUp(redo);
  });
}

/** Takes every component of the plan down, dependents first (from its state: the file may have changed). */
export function planDown(c: Controller, plan: Plan, opts: PlanOptions = {}): PlanOperation {
  return operate(c, plan, opts, "down", async (run) => {
    await run.takeDown(new Set(Object.keys(run.state.components)));
  });
}

/** The plan's state as last written, or null when it was never brought up here. */
export async function planState(
  c: Controller,
  plan: string,
  opts: PlanOptions = {},
): Promise<PlanState | null> {
  return await PlanStateFile.at(opts.stateDir ?? defaultStateDir(), c.prefix, plan).read();
}

/** `changed` and, transitively, every component that depends on one of them. */
export function withDependents(
  components: readonly Component[],
  changed: Set<string>,
): Set<string> {
  const out = new Set(changed);
  let grew = true;
  while (grew) {
    grew = false;
    for (const x of components) {
      if (!out.has(x.name) && x.after.some((d) => out.has(d.component))) {
        out.add(x.name);
        grew = true;
      }
    }
  }
  return out;
}

function operate(
  c: Controller,
  plan: Plan,
  opts: PlanOptions,
  action: PlanSummary["action"],
  body: (run: PlanRun, summary: PlanSummary) => Promise<void>,
): PlanOperation {
  const ch = new Channel<PlanEvent, PlanSummary>();
  const file = PlanStateFile.at(opts.stateDir ?? defaultStateDir(), c.prefix, plan.name);
  (async () => {
    const previous = await file.read();
    if (action !== "up" && previous === null) {
      throw new TuttiError(
        "ENOENT",
        `plan ${plan.name} was never brought up with this state directory (${file.path})`,
      );
    }
    // A second `up` would start every service again beside the ones that run.
    const left = Object.keys(previous?.components ?? {});
    if (action === "up" && left.length > 0) {
      throw new TuttiError(
        "EEXIST",
        `plan ${plan.name} is up already (${left.join(", ")}): plan apply changes it to the ` +
          `file, plan down takes it down first`,
      );
    }
    const state: PlanState = previous ?? {
      v: 1,
      plan: plan.name,
      source: plan.source,
      prefix: c.prefix,
      components: {},
      steps: [],
      updated: Date.now(),
    };
    if (action !== "down") state.source = plan.source;
    state.steps = [];
    const summary: PlanSummary = {
      plan: plan.name,
      action,
      ok: true,
      started: Date.now(),
      ended: 0,
      components: [],
      steps: [],
      failures: [],
    };
    const run = new PlanRun(c, plan, state, file, opts, (e) => ch.push(e));
    await body(run, summary);
    await run.save();
    summary.ended = Date.now();
    summary.steps = state.steps;
    summary.components = run.results();
    summary.failures = run.failures;
    summary.ok = run.failures.length === 0 &&
      !summary.components.some((x) => ["failed", "blocked", "cancelled"].includes(x.status));
    ch.end(summary);
  })().catch((e) => ch.fail(e));
  return ch;
}

/** A promise settled once: true when the condition holds, false when it never will. */
class Gate {
  readonly promise: Promise<boolean>;
  #resolve!: (ok: boolean) => void;
  settled = false;
  constructor() {
    this.promise = new Promise((r) => this.#resolve = r);
  }
  settle(ok: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.#resolve(ok);
  }
}

interface Gates {
  started: Gate;
  ready: Gate;
  completed: Gate;
  /** Settled once the component is taken down (for `takeDown`'s ordering). */
  down: Gate;
  /** Why it failed or was blocked, for its dependents' messages. */
  failure?: PlanFailure;
}

class PlanRun {
  readonly failures: PlanFailure[] = [];
  readonly #gates = new Map<string, Gates>();
  readonly #results = new Map<string, ComponentResult>();
  #saving: Promise<void> = Promise.resolve();

  constructor(
    readonly c: Controller,
    readonly plan: Plan,
    readonly state: PlanState,
    readonly file: PlanStateFile,
    readonly opts: PlanOptions,
    readonly emit: (e: PlanEvent) => void,
  ) {
    this.signal = opts.signal;
  }

  readonly signal: AbortSignal | undefined;

  results(): ComponentResult[] {
    const order = this.plan.components.map((x) => x.name);
    for (const n of this.#results.keys()) if (!order.includes(n)) order.push(n);
    return order.flatMap((n) => this.#results.get(n) ?? []);
  }

  /** Writes the state; writes never overlap, the last one holds everything. */
  save(): Promise<void> {
    this.state.updated = Date.now();
    this.#saving = this.#saving.then(() => this.file.write(this.state));
    return this.#saving;
  }

  #gatesOf(name: string): Gates {
    let g = this.#gates.get(name);
    if (!g) {
      g = { started: new Gate(), ready: new Gate(), completed: new Gate(), down: new Gate() };
      this.#gates.set(name, g);
    }
    return g;
  }

  #status(
    name: string,
    status: ComponentStatus,
    hosts: string[],
    extra: { failure?: PlanFailure; waitingFor?: Component["after"] } = {},
  ): void {
    const now = Date.now();
    const r = this.#results.get(name) ??
      { name, status, hosts, started: null, ended: null };
    r.status = status;
    r.hosts = hosts;
    if (status === "starting" || status === "stopping") r.started ??= now;
    if (["ready", "completed", "failed", "blocked", "cancelled", "down", "kept"].includes(status)) {
      r.ended = now;
    }
    if (status === "started" && !this.#needsMore(name)) r.ended = now;
    if (extra.failure) r.failure = extra.failure;
    this.#results.set(name, r);
    const s = this.state.components[name];
    if (s) {
      s.status = status;
      s.hosts = hosts;
      if (extra.failure) s.failure = extra.failure;
      s.updated = now;
    }
    this.emit({ type: "component", component: name, status, hosts, at: now, ...extra });
  }

  /** Whether a component goes on after its steps (readiness, or a wait for its completion). */
  #needsMore(name: string): boolean {
    const x = this.plan.components.find((c) => c.name === name);
    return !!x?.ready || this.#completionWanted(name);
  }

  #completionWanted(name: string): boolean {
    return this.plan.components.some((x) =>
      x.after.some((d) => d.component === name && d.kind === "completed")
    );
  }

  #step(record: StepRecord): void {
    const i = this.state.steps.findIndex((r) =>
      r.component === record.component && r.step === record.step && r.host === record.host
    );
    if (i >= 0) this.state.steps[i] = record;
    else this.state.steps.push(record);
    this.emit({ type: "step", record });
  }

  /** What a step of `component` runs with: its records go to the state and the events. */
  #stepContext(component: Component, epoch: string, signal?: AbortSignal): StepContext {
    return { c: this.c, plan: this.plan, component, epoch, signal, emit: (r) => this.#step(r) };
  }

  #fail(failure: PlanFailure): void {
    this.failures.push(failure);
    this.opts.onFailure?.(failure);
  }

  /** Resolves with false when the operation is aborted (never, without a signal). */
  #aborted(): Promise<false> {
    const signal = this.signal;
    if (!signal) return new Promise(() => {});
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((r) => signal.addEventListener("abort", () => r(false), { once: true }));
  }

  // ---------------------------------------------------------------- up

  /** Brings up the components named in `which`; the others count as up (kept). */
  async bringUp(which: Set<string>): Promise<void> {
    for (const x of this.plan.components) {
      if (which.has(x.name)) continue;
      const g = this.#gatesOf(x.name);
      for (const gate of [g.started, g.ready, g.completed]) gate.settle(true);
      this.#status(x.name, "kept", this.state.components[x.name]?.hosts ?? []);
    }
    const todo = this.plan.components.filter((x) => which.has(x.name));
    for (const x of todo) this.#status(x.name, "pending", []);
    await Promise.all(todo.map((x) => this.#up(x)));
  }

  async #up(x: Component): Promise<void> {
    const g = this.#gatesOf(x.name);
    const blocked = (failure: PlanFailure, status: ComponentStatus = "blocked") => {
      g.failure = failure;
      for (const gate of [g.started, g.ready, g.completed]) gate.settle(false);
      this.#status(x.name, status, this.state.components[x.name]?.hosts ?? [], { failure });
    };
    if (x.after.length > 0) {
      this.#status(x.name, "waiting", [], { waitingFor: x.after });
      const oks = await Promise.race([
        Promise.all(x.after.map((d) => this.#await(d.component, d.kind))),
        this.#aborted(),
      ]);
      if (oks === false) return blocked(cancelled(x), "cancelled");
      const bad = x.after.find((_, i) => !oks[i]);
      if (bad) {
        const cause = this.#gates.get(bad.component)?.failure;
        blocked({
          component: x.name,
          step: "after",
          host: null,
          error: {
            code: "ECANCELED",
            message: `not started: ${bad.component} did not become ${bad.kind}` +
              (cause ? ` (${describeFailure(cause)})` : ""),
          },
        });
        return;
      }
    }
    if (this.signal?.aborted) return blocked(cancelled(x), "cancelled");
    const epoch = Date.now().toString(36);
    const st: ComponentState = {
      digest: x.digest,
      status: "starting",
      hosts: [],
      epoch,
      services: [],
      programs: [],
      definition: x,
      updated: Date.now(),
    };
    this.state.components[x.name] = st;
    const hosts = new Set<string>();
    this.#status(x.name, "starting", []);
    await this.save();
    const ctx = this.#stepContext(x, epoch, this.signal);
    for (const step of x.steps) {
      if (this.signal?.aborted) return blocked(cancelled(x, step.name), "cancelled");
      const out = await runStep(ctx, step);
      for (const h of out.hosts) hosts.add(h);
      st.hosts = [...hosts].sort();
      if (out.service) st.services.push(out.service);
      if (out.programs) st.programs.push(...out.programs);
      if (out.failure) {
        if (this.signal?.aborted) return blocked(cancelled(x, step.name), "cancelled");
        this.#fail(out.failure);
        blocked(out.failure, "failed");
        await this.save();
        return;
      }
    }
    g.started.settle(true);
    this.#status(x.name, "started", st.hosts);
    await this.save();

    if (x.ready) {
      const failure = await this.#readiness(x, st);
      if (failure && this.signal?.aborted) return blocked(cancelled(x, "ready"), "cancelled");
      if (failure) {
        this.#fail(failure);
        blocked(failure, "failed");
        await this.save();
        return;
      }
      this.#status(x.name, "ready", st.hosts);
    }
    g.ready.settle(true);
    if (st.services.length === 0) {
      // Nothing of its own left to end. Programs it started are supervised: they are meant
      // to run on (restarted when they stop), so a wait for its completion ends here too.
      g.completed.settle(true);
      if (st.programs.length === 0) this.#status(x.name, "completed", st.hosts);
    } else if (this.#completionWanted(x.name)) {
      const failure = await this.#completion(x, st.services);
      if (failure && this.signal?.aborted) return blocked(cancelled(x, "completion"), "cancelled");
      if (failure) {
        this.#fail(failure);
        blocked(failure, "failed");
        await this.save();
        return;
      }
      g.completed.settle(true);
      this.#status(x.name, "completed", st.hosts);
    }
    await this.save();
  }

  #await(component: string, kind: DependencyKind): Promise<boolean> {
    return this.#gatesOf(component)[kind].promise;
  }

  /** Waits until enough hosts meet the readiness condition; the failure when they do not. */
  async #readiness(x: Component, st: ComponentState): Promise<PlanFailure | undefined> {
    const ready = x.ready!;
    const needed = ready.hosts ?? st.hosts.length;
    const condition = conditionFor(ready, (step) => procId(this.plan.name, x.name, step, st.epoch));
    const start = Date.now();
    const watch = this.c.watch({
      hosts: st.hosts.join(","),
      condition,
      timeout: ready.timeout,
      signal: this.signal,
    });
    let met = 0;
    this.emit({ type: "readiness", component: x.name, met, needed, at: start });
    const records: StepRecord[] = [];
    for await (const e of watch) {
      if (e.type !== "result") continue;
      const ok = e.status === "met";
      const r: StepRecord = {
        component: x.name,
        step: "ready",
        host: e.host,
        start,
        end: e.at,
        status: ok ? "ok" : "failed",
        detail: e.detail,
        ...(ok ? {} : {
          error: e.error ?? {
            code: e.status === "timeout" ? "ETIMEDOUT" : "EINVAL",
            message: `not ready within ${ready.timeout}s: ${e.detail}`,
          },
        }),
      };
      records.push(r);
      this.#step(r);
      if (ok) {
        met++;
        this.emit({ type: "readiness", component: x.name, met, needed, at: e.at });
        if (met >= needed) {
          await watch.cancel();
          return undefined;
        }
      }
    }
    await watch.done;
    const bad = records.find((r) => r.status === "failed");
    return {
      component: x.name,
      step: "ready",
      host: bad?.host ?? null,
      error: bad?.error ??
        { code: "ETIMEDOUT", message: `${met} of ${needed} hosts ready within ${ready.timeout}s` },
    };
  }

  /** Waits for every service to exit; the failure of the first that did not exit 0. */
  async #completion(x: Component, services: ServiceState[]): Promise<PlanFailure | undefined> {
    for (const s of services) {
      const hosts = s.hosts.join(",");
      const watch = this.c.watch({
        hosts,
        condition: { kind: "exit", proc: s.proc },
        timeout: 86400,
        signal: this.signal,
      });
      const summary = await watch.done;
      const notMet = summary.hosts.find((h) => h.status !== "met");
      if (notMet) {
        return {
          component: x.name,
          step: s.step,
          host: notMet.host,
          error: notMet.error ?? { code: "ETIMEDOUT", message: notMet.detail },
        };
      }
      const replies = await this.c.ps({ hosts }, { procs: [s.proc], all: true }).done;
      for (const r of replies) {
        const proc = r.ok ? r.procs[0] : undefined;
        const ok = proc && proc.code === 0;
        const record: StepRecord = {
          component: x.name,
          step: `${s.step}:exit`,
          host: r.host,
          start: proc?.started ?? Date.now(),
          end: proc?.ended ?? Date.now(),
          status: ok ? "ok" : "failed",
          proc: s.proc,
          detail: proc ? howItEnded(proc) : !r.ok ? r.error.message : "no such process",
        };
        this.#step(record);
        if (!ok) {
          return {
            component: x.name,
            step: s.step,
            host: r.host,
            error: r.ok ? { code: "EEXIT", message: `${s.proc} ${record.detail}` } : r.error,
          };
        }
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------- down

  /** Takes down the components named in `which` (known to the state), dependents first. */
  async takeDown(which: Set<string>): Promise<void> {
    const comps = [...which].map((n) => this.state.components[n]?.definition).filter((x) => x);
    await Promise.all(comps.map((x) => this.#down(x!, comps as Component[])));
  }

  async #down(x: Component, all: Component[]): Promise<void> {
    const g = this.#gatesOf(x.name);
    // Everything that depends on it goes first.
    const dependents = all.filter((y) => y.after.some((d) => d.component === x.name));
    await Promise.all(dependents.map((y) => this.#gatesOf(y.name).down.promise));
    const st = this.state.components[x.name];
    this.#status(x.name, "stopping", st.hosts);
    // Not aborted by the operation's signal: a take-down goes to its end.
    const ctx = this.#stepContext(x, `${st.epoch}d`);
    for (const step of x.down) {
      const out = await runStep(ctx, step, `down:${step.name}`);
      if (out.failure) this.#fail(out.failure);
    }
    for (const s of st.services) await this.#killService(x, s);
    for (const p of st.programs) await this.#stopPrograms(x, p);
    g.down.settle(true);
    st.services = [];
    st.programs = [];
    this.#status(x.name, "down", st.hosts);
    delete this.state.components[x.name];
    await this.save();
  }

  /**
   * SIGTERM to the service's group, SIGKILL after 5 s, and done once it has
   * exited on every host: down means down (the signal's answer comes when it
   * is sent, before the process is gone).
   */
  async #killService(x: Component, s: ServiceState): Promise<void> {
    const start = Date.now();
    const hosts = s.hosts.join(",");
    const gone = this.c.watch({
      hosts,
      condition: { kind: "exit", proc: s.proc },
      timeout: KILL_GRACE_S + EXIT_WAIT_S,
    });
    const replies = await this.c.kill({ hosts }, [s.proc], { grace: KILL_GRACE_S }).done;
    const exits = new Map((await gone.done).hosts.map((h) => [h.host, h]));
    for (const r of replies) {
      const bad = r.ok ? r.results.find((y) => !y.ok && y.error?.code !== "ESRCH") : undefined;
      const exit = exits.get(r.host);
      // A process the agent no longer knows (ESRCH) is gone too.
      const stillThere = exit && exit.status !== "met" && exit.error?.code !== "ESRCH";
      const error = !r.ok
        ? r.error
        : bad
        ? bad.error
        : stillThere
        ? exit.error ?? { code: "ETIMEDOUT" as const, message: `still running: ${exit.detail}` }
        : undefined;
      this.#step({
        component: x.name,
        step: `down:kill-${s.step}`,
        host: r.host,
        start,
        end: exit?.at ?? Date.now(),
        status: error ? "failed" : "ok",
        proc: s.proc,
        detail: error ? error.message : exit?.status === "met" ? exit.detail : "stopped",
        ...(error ? { error } : {}),
      });
      if (error) this.#fail({ component: x.name, step: `kill-${s.step}`, host: r.host, error });
    }
  }

  async #stopPrograms(x: Component, p: { names: string[]; hosts: string[] }): Promise<void> {
    const step: Step = { kind: "stop", names: p.names, name: `stop-${p.names.join("-")}`, line: 0 };
    const on = { ...x, hosts: p.hosts.join(","), exclude: undefined, where: undefined };
    const ctx = this.#stepContext(on, "");
    const out = await runStep(ctx, step, `down:${step.name}`);
    if (out.failure) this.#fail(out.failure);
  }
}

function cancelled(x: Component, step?: string): PlanFailure {
  return {
    component: x.name,
    step: step ?? "after",
    host: null,
    error: {
      code: "ECANCELED",
      message: step === undefined
        ? "the operation was interrupted before it started"
        : `the operation was interrupted during ${step}`,
    },
  };
}

/** `servers: step server on n-2: EEXIT exited with code 1` (without `servers: ` if not `withComponent`). */
export function describeFailure(f: PlanFailure, withComponent = true): string {
  return `${withComponent ? `${f.component}: ` : ""}step ${f.step}${
    f.host ? ` on ${f.host}` : ""
  }: ${f.error.code} ${f.error.message}`;
}
