/**
 * One step of a component, carried out on the component's hosts with the
 * controller's own operations: `run` (a command, a service, or a start at
 * one instant), `put`, `get`, programs `start`/`stop`. It reports each host's
 * begin and end as step records and names the first failure by host.
 */
import type { Controller } from "../controller.ts";
import type { WireError } from "../../protocol/errors.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import type { HostSpec } from "../target.ts";
import type { HostOutcome } from "../events.ts";
import type { Component, Plan, RunStep, Step } from "./plan_types.ts";
import type { PlanFailure, StepRecord } from "./plan_events.ts";
import type { ServiceState } from "./plan_state.ts";

/** Bytes of a failed command's stderr quoted in its error. */
const STDERR_TAIL = 600;

export interface StepContext {
  c: Controller;
  plan: Plan;
  component: Component;
  /** This bring-up's epoch (a token): process ids are new each time. */
  epoch: string;
  /** Each record as it changes (running, then ok or failed). */
  emit(record: StepRecord): void;
  /** Aborting kills a step's command on its hosts and ends a transfer. */
  signal?: AbortSignal;
}

export interface StepOutcome {
  /** Every host's final record. */
  records: StepRecord[];
  /** The hosts that took part. */
  hosts: string[];
  failure?: PlanFailure;
  /** A detached run: what it left running. */
  service?: ServiceState;
  /** A programs start: what it started, where (even when the step failed elsewhere or for a name). */
  programs?: { names: string[]; hosts: string[] }[];
}

/** A run step's process id on every host: `<plan>-<component>-<step>-<epoch>`. */
export function procId(plan: string, component: string, step: string, epoch: string): string {
  return `${plan}-${component}-${step}-${epoch}`;
}

export function placement(c: Component): HostSpec {
  return { hosts: c.hosts, exclude: c.exclude, where: c.where };
}

/** Carries out `step`; `label` names it in records (`down:` for take-down steps). */
export async function runStep(
  ctx: StepContext,
  step: Step,
  label = step.name,
): Promise<StepOutcome> {
  switch (step.kind) {
    case "run":
      return await runCommand(ctx, step, label);
    case "put":
    case "get":
      return await transfer(ctx, step, label);
    case "start":
    case "stop":
      return await programs(ctx, step, label);
  }
}

async function runCommand(
  ctx: StepContext,
  step: RunStep & Step,
  label: string,
): Promise<StepOutcome> {
  const { c, component } = ctx;
  const id = procId(ctx.plan.name, component.name, step.name, ctx.epoch);
  const begun = Date.now();
  const records = new Map<string, StepRecord>();
  const base = { component: component.name, step: label, proc: id };
  const handle = c.run({
    ...placement(component),
    ...(step.argv ? { argv: step.argv } : { shell: step.shell }),
    env: step.env,
    cwd: step.cwd,
    timeout: step.timeout,
    id,
    // Output stays in the agents' spools (`controller logs HOST ID`): a plan reports outcomes.
    live: false,
    detach: step.detach,
    sync: step.sync,
  });
  // Aborted: the command is killed on its hosts, and the run ends with their exits.
  const kill = () => void c.kill(placement(component), [id], { grace: 5 }).done.catch(() => {});
  ctx.signal?.addEventListener("abort", kill, { once: true });
  for await (const e of handle) {
    if (e.type !== "started") continue;
    const r: StepRecord = {
      ...base,
      host: e.host,
      start: e.proc.started,
      end: step.detach ? e.proc.started : null,
      status: step.detach ? "ok" : "running",
      detail: step.detach ? `started, pid ${e.proc.pid}` : undefined,
    };
    records.set(e.host, r);
    ctx.emit(r);
  }
  const summary = await handle.done.finally(() => ctx.signal?.removeEventListener("abort", kill));
  let failure: PlanFailure | undefined;
  const finals: StepRecord[] = [];
  for (const o of summary.hosts) {
    const r = await finalRecord(ctx, o, records.get(o.host), base, begun, step.detach);
    finals.push(r);
    ctx.emit(r);
    if (r.status === "failed" && !failure) {
      failure = { component: component.name, step: label, host: o.host, error: r.error! };
    }
  }
  const hosts = summary.hosts.map((o) => o.host);
  if (hosts.length === 0) failure = noHosts(ctx, label);
  const started = summary.hosts.filter((o) => o.proc).map((o) => o.host);
  return {
    records: finals,
    hosts,
    failure,
    service: step.detach && started.length > 0
      ? { step: step.name, proc: id, hosts: started }
      : undefined,
  };
}

async function finalRecord(
  ctx: StepContext,
  o: HostOutcome,
  running: StepRecord | undefined,
  base: { component: string; step: string; proc: string },
  begun: number,
  detach: boolean,
): Promise<StepRecord> {
  const start = running?.start ?? o.proc?.started ?? begun;
  if (o.status === "ok") {
    const end = detach ? start : o.proc?.ended ?? Date.now();
    const detail = detach ? `started, pid ${o.proc?.pid}` : "exited with code 0";
    return { ...base, host: o.host, start, end, status: "ok", detail };
  }
  const error = o.error ?? await exitError(ctx, o.host, base.proc, o.proc);
  return {
    ...base,
    host: o.host,
    start,
    end: o.proc?.ended ?? Date.now(),
    status: "failed",
    detail: error.message,
    error,
  };
}

/** How an ended process ended, in a step's words: `exited with code 3`, `was killed by SIGTERM`. */
export function howItEnded(proc: Pick<ProcInfo, "code" | "signal">): string {
  return proc.signal ? `was killed by ${proc.signal}` : `exited with code ${proc.code}`;
}

/** `EEXIT`: how the process ended, with the end of its stderr. */
async function exitError(
  ctx: StepContext,
  host: string,
  id: string,
  proc: ProcInfo | undefined,
): Promise<WireError> {
  if (!proc) return { code: "EINTERNAL", message: "no outcome and no error" };
  const how = proc.timedOut ? "timed out and was killed" : howItEnded(proc);
  let tail = "";
  if (proc.stderr > 0) {
    try {
      const offset = Math.max(0, proc.stderr - STDERR_TAIL);
      const bytes = await ctx.c.logs(host, id, { stream: "stderr", offset }).bytes();
      tail = new TextDecoder().decode(bytes).trim().split("\n").slice(-3).join(" | ");
    } catch {
      // The spool may be gone with its agent: the exit status alone still says what happened.
    }
  }
  return {
    code: proc.timedOut ? "ETIMEDOUT" : "EEXIT",
    message: `${how}${tail ? `: ${tail}` : ""} (controller logs ${host} ${id} --stderr)`,
  };
}

async function transfer(
  ctx: StepContext,
  step: Step & { kind: "put" | "get" },
  label: string,
): Promise<StepOutcome> {
  const { c, component } = ctx;
  const start = Date.now();
  const op = step.kind === "put"
    ? c.put(placement(component), {
      specs: [{ sources: step.sources, dest: step.dest }],
      signal: ctx.signal,
    })
    : c.get(placement(component), { paths: step.paths, dir: step.dir, signal: ctx.signal });
  let failure: PlanFailure | undefined;
  let summary;
  try {
    summary = await op.done;
  } catch (e) {
    const error = { code: (e as { code?: string }).code ?? "EIO", message: (e as Error).message };
    return {
      records: [],
      hosts: [],
      failure: { component: component.name, step: label, host: null, error: error as WireError },
    };
  }
  const end = Date.now();
  const records = summary.hosts.map((h): StepRecord => {
    const ok = h.status === "ok";
    const r: StepRecord = {
      component: component.name,
      step: label,
      host: h.host,
      start,
      end,
      status: ok ? "ok" : "failed",
      detail: ok ? `${h.files} files, ${h.skipped} already there` : h.error?.message,
      ...(ok ? {} : { error: h.error ?? { code: "EINTERNAL", message: h.status } }),
    };
    ctx.emit(r);
    if (!ok && !failure) {
      failure = { component: component.name, step: label, host: h.host, error: r.error! };
    }
    return r;
  });
  const hosts = summary.hosts.map((h) => h.host);
  if (hosts.length === 0) failure = noHosts(ctx, label);
  return { records, hosts, failure };
}

async function programs(
  ctx: StepContext,
  step: Step & { kind: "start" | "stop" },
  label: string,
): Promise<StepOutcome> {
  const { c, component } = ctx;
  const start = Date.now();
  const replies = await c.programs(step.kind, { ...placement(component), names: step.names }).done;
  const end = Date.now();
  let failure: PlanFailure | undefined;
  const records = replies.map((r): StepRecord => {
    const bad = r.ok ? r.results.find((x) => !x.ok) : undefined;
    const error: WireError | undefined = !r.ok
      ? r.error
      : bad
      ? bad.error ?? { code: "ESRCH", message: `${bad.name}: ${bad.message}` }
      : undefined;
    const rec: StepRecord = {
      component: component.name,
      step: label,
      host: r.host,
      start,
      end,
      status: error ? "failed" : "ok",
      detail: error
        ? error.message
        : r.ok
        ? r.results.map((x) => `${x.name}: ${x.message}`).join(", ")
        : "",
      ...(error ? { error } : {}),
    };
    ctx.emit(rec);
    if (error && !failure) {
      failure = { component: component.name, step: label, host: r.host, error };
    }
    return rec;
  });
  const hosts = replies.map((r) => r.host);
  if (hosts.length === 0) failure = noHosts(ctx, label);
  // Programs started on a host stay recorded even when another name failed there: down stops them.
  const started = new Map<string, string[]>();
  for (const r of replies) {
    const names = r.ok ? r.results.filter((x) => x.ok).map((x) => x.name) : [];
    if (names.length === 0) continue;
    const key = names.join(" ");
    started.set(key, [...(started.get(key) ?? []), r.host]);
  }
  return {
    records,
    hosts,
    failure,
    programs: step.kind === "start"
      ? [...started].map(([names, hosts]) => ({ names: names.split(" "), hosts }))
      : undefined,
  };
}

function noHosts(ctx: StepContext, label: string): PlanFailure {
  const c = ctx.component;
  const where = [c.hosts && `hosts ${c.hosts}`, c.where && `where ${JSON.stringify(c.where)}`]
    .filter(Boolean).join(", ");
  return {
    component: c.name,
    step: label,
    host: null,
    error: { code: "ENORESPONSE", message: `no host answered for ${c.name} (${where})` },
  };
}
