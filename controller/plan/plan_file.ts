/**
 * Reading a plan file (YAML) into a checked `Plan`. Every problem is
 * collected and named by line and key, all at once, like the supervisor's
 * configuration:
 *
 * ```text
 * kv.yaml:12: components.servers.after.store: expected started, ready or completed, got "up"
 * kv.yaml:20: components.client.steps[1]: unknown key "detatch" (did you mean detach?)
 * ```
 *
 * The file's form (README "Plans" has a whole example):
 *
 * ```yaml
 * name: kv                       # default: the file name without .yaml
 * defaults: {cwd: /tmp, env: {K: v}, timeout: 600}   # for every run step
 * components:
 *   store:
 *     hosts: kv-1                # and/or where: {role: db}, exclude: ...
 *     steps:
 *       - put: {src: [kv.py], dest: /tmp/kv.py}
 *       - run: python3 /tmp/kv.py --port 7000   # a string: sh -c; a list: argv
 *         name: server
 *         detach: true           # a service: done once started
 *     ready: {port: 7000, timeout: 30}
 *     down: [{run: rm -f /tmp/kv.py}]
 *   client:
 *     hosts: "c-[1-4]"
 *     after: {store: ready}      # or a list: [store] (ready)
 *     steps: [{run: ./load, sync: true}]
 * ```
 */
import { isMap as isYamlMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { createHash } from "node:crypto";
import { type ErrorCode, TuttiError } from "../../protocol/errors.ts";
import { isToken } from "../../protocol/subjects.ts";
import { suggest } from "../../protocol/text/suggest.ts";
import {
  DEFAULT_WATCH_TIMEOUT_S,
  MAX_WATCH_TIMEOUT_S,
  parseWatchCondition,
  type WatchCondition,
} from "../../protocol/watch_messages.ts";
import { PROGRAM_STATES } from "../../protocol/program_messages.ts";
import {
  type Component,
  DEPENDENCY_KINDS,
  type DependencyKind,
  type Plan,
  type Readiness,
  type RunStep,
  type Step,
  type StepAction,
} from "./plan_types.ts";

export interface PlanProblem {
  line: number;
  /** The key's path: `components.web.steps[2].run`; empty for the whole file. */
  key: string;
  message: string;
}

/** A plan that cannot be read: every problem, each with its line and key. */
export class PlanError extends TuttiError {
  constructor(
    readonly source: string,
    readonly problems: PlanProblem[],
    code: ErrorCode = "EINVAL",
  ) {
    super(
      code,
      problems.map((p) => `${source}:${p.line}: ${p.key ? `${p.key}: ` : ""}${p.message}`)
        .join("\n"),
    );
    this.name = "PlanError";
  }
}

/**
 * Process ids are `<plan>-<component>-<step>-<epoch>`: one subject token
 * of at most 128 characters, so each name is kept short enough.
 */
const MAX_NAME = 32;
const MAX_SECONDS = 86400 * 7;

/** Reads and checks a plan file (`ENOENT`, `EACCES` for a file that cannot be read). */
export async function readPlanFile(path: string): Promise<Plan> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const code: ErrorCode = e instanceof Deno.errors.NotFound
      ? "ENOENT"
      : e instanceof Deno.errors.PermissionDenied
      ? "EACCES"
      : e instanceof Deno.errors.IsADirectory
      ? "EISDIR"
      : "EIO";
    throw new TuttiError(code, `cannot read plan ${path}: ${(e as Error).message}`);
  }
  const base = path.split("/").pop()!.replace(/\.(ya?ml)$/, "");
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  return parsePlan(text, { source: path, name: base, dir });
}

/**
 * Checks a plan's text; `source` names it in messages, `name` is its default
 * name. Local paths (put sources, get directories) that are relative start
 * at `dir`, the plan file's directory (default: the working directory).
 */
export function parsePlan(
  text: string,
  ctx: { source: string; name?: string; dir?: string },
): Plan {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PlanError(
      ctx.source,
      doc.errors.map((e) => ({
        line: lines.linePos(e.pos[0]).line,
        key: "",
        message: `YAML syntax: ${e.message.split("\n")[0]}`,
      })),
    );
  }
  const lineOf = new Map<string, number>();
  mapLines(doc.contents as Node | null, "", lines, lineOf);
  const r = new Reader(ctx.source, lineOf);
  const plan = r.plan(doc.toJS({ maxAliasCount: 100 }), ctx.name);
  if (r.problems.length > 0) {
    r.problems.sort((a, b) => a.line - b.line);
    throw new PlanError(ctx.source, r.problems);
  }
  if (ctx.dir !== undefined && ctx.dir !== ".") localPathsFrom(plan!, ctx.dir);
  return plan!;
}

/** Relative put sources and get directories start at the plan file's directory. */
function localPathsFrom(plan: Plan, dir: string): void {
  const from = (p: string) => p.startsWith("/") ? p : `${dir}/${p}`;
  for (const c of plan.components) {
    for (const s of [...c.steps, ...c.down]) {
      if (s.kind === "put") s.sources = s.sources.map(from);
      if (s.kind === "get") s.dir = from(s.dir);
    }
  }
}

/** The line of every key and list item, by its path. */
function mapLines(
  node: Node | null,
  path: string,
  lines: LineCounter,
  out: globalThis.Map<string, number>,
) {
  if (node === null) return;
  if (node.range) out.set(path, lines.linePos(node.range[0]).line);
  if (isYamlMap(node)) {
    for (const pair of node.items) {
      const key = (pair.key as { value?: unknown })?.value;
      const sub = path === "" ? String(key) : `${path}.${String(key)}`;
      const k = pair.key as Node | null;
      if (k?.range) out.set(sub, lines.linePos(k.range[0]).line);
      mapLines(pair.value as Node | null, sub, lines, out);
      if (k?.range) out.set(sub, lines.linePos(k.range[0]).line);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => mapLines(item as Node | null, `${path}[${i}]`, lines, out));
  }
}

type Map = Record<string, unknown>;

/** A value that was wrong: the reader adds the line and the key. */
class Bad extends Error {}

function isMap(x: unknown): x is Map {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function shown(x: unknown): string {
  if (x === undefined || x === null) return "nothing";
  if (typeof x === "string") return JSON.stringify(x.length > 60 ? `${x.slice(0, 57)}...` : x);
  if (Array.isArray(x)) return "a list";
  if (typeof x === "object") return "a map";
  return String(x);
}

const TOP_KEYS = ["name", "defaults", "components"];
const DEFAULT_KEYS = ["cwd", "env", "timeout"];
const COMPONENT_KEYS = ["hosts", "exclude", "where", "after", "steps", "ready", "down"];
const ACTIONS = ["run", "put", "get", "start", "stop"] as const;
const STEP_KEYS: Record<typeof ACTIONS[number], string[]> = {
  run: ["run", "name", "env", "cwd", "timeout", "detach", "sync"],
  put: ["put", "name"],
  get: ["get", "name"],
  start: ["start", "name"],
  stop: ["stop", "name"],
};
const CONDITIONS = ["port", "file", "output", "exit", "state", "command"] as const;
const READY_KEYS = [...CONDITIONS, "timeout", "hosts"];

interface Defaults {
  cwd?: string;
  env?: Record<string, string>;
  timeout?: number;
}

class Reader {
  readonly problems: PlanProblem[] = [];

  constructor(readonly source: string, readonly lineOf: globalThis.Map<string, number>) {}

  report(path: string, message: string): void {
    let p = path;
    let line = this.lineOf.get(p);
    // A missing key has no line: take its nearest parent's.
    while (line === undefined && p !== "") {
      p = p.includes(".") || p.includes("[") ? p.replace(/(\.[^.[\]]*|\[\d+\])$/, "") : "";
      line = this.lineOf.get(p);
    }
    this.problems.push({ line: line ?? 1, key: path, message });
  }

  /** Runs `read`, turning a Bad into a problem at `path`; undefined then. */
  try<T>(path: string, read: () => T): T | undefined {
    try {
      return read();
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      this.report(path, e.message);
      return undefined;
    }
  }

  keys(x: Map, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(x)) {
      if (allowed.includes(k)) continue;
      const hint = suggest(k, allowed);
      const at = path === "" ? k : `${path}.${k}`;
      this.report(at, `unknown key${hint ? ` (did you mean ${hint}?)` : ""}`);
    }
  }

  plan(root: unknown, defaultName?: string): Plan | undefined {
    if (!isMap(root)) {
      this.report("", `expected a map with the key components, got ${shown(root)}`);
      return undefined;
    }
    this.keys(root, "", TOP_KEYS);
    const name = this.try("name", () => name_(root.name ?? defaultName ?? "plan", "plan name")) ??
      "plan";
    const defaults = this.try("defaults", () => readDefaults(root.defaults, this)) ?? {};
    if (!isMap(root.components) || Object.keys(root.components).length === 0) {
      this.report("components", `expected a map of components, got ${shown(root.components)}`);
      return undefined;
    }
    const components: Component[] = [];
    for (const [cname, body] of Object.entries(root.components)) {
      const path = `components.${cname}`;
      const ok = this.try(path, () => name_(cname, "component name"));
      if (ok === undefined) continue;
      const c = this.component(cname, body, path, defaults);
      if (c) components.push(c);
    }
    this.dependencies(components);
    return { name, source: this.source, components };
  }

  component(name: string, body: unknown, path: string, defaults: Defaults): Component | undefined {
    if (!isMap(body)) {
      this.report(path, `expected a map (hosts, steps, ready, after, down), got ${shown(body)}`);
      return undefined;
    }
    this.keys(body, path, COMPONENT_KEYS);
    const before = this.problems.length;
    const hosts = this.try(`${path}.hosts`, () => optString(body.hosts));
    const exclude = this.try(`${path}.exclude`, () => optString(body.exclude));
    const where = this.try(`${path}.where`, () => optStringMap(body.where));
    if (hosts === undefined && where === undefined && before === this.problems.length) {
      this.report(path, "hosts or where is missing: say where the component runs");
    }
    const after = this.try(`${path}.after`, () => readAfter(body.after)) ?? [];
    const steps = this.steps(body.steps, `${path}.steps`, defaults, true);
    const down = this.steps(body.down, `${path}.down`, defaults, false);
    const ready = body.ready === undefined ? null : this.readiness(body.ready, `${path}.ready`);
    if (ready?.step !== undefined) {
      const target = steps.find((s) => s.name === ready.step);
      if (!target || target.kind !== "run") {
        this.report(
          `${path}.ready`,
          `step ${JSON.stringify(ready.step)} is not a run step of ${name} (its run steps: ${
            steps.filter((s) => s.kind === "run").map((s) => s.name).join(", ") || "none"
          })`,
        );
      }
    }
    if (this.problems.length > before) return undefined;
    const definition = {
      hosts,
      exclude,
      where,
      after,
      ready,
      steps: strip(steps),
      down: strip(down),
    };
    return {
      name,
      hosts,
      exclude,
      where,
      after,
      steps,
      ready,
      down,
      digest: createHash("sha256").update(JSON.stringify(definition)).digest("hex").slice(0, 16),
      line: this.lineOf.get(path) ?? 1,
    };
  }

  steps(x: unknown, path: string, defaults: Defaults, required: boolean): Step[] {
    if (x === undefined && !required) return [];
    if (!Array.isArray(x) || (required && x.length === 0)) {
      this.report(path, `expected a list of steps (run, put, get, start, stop), got ${shown(x)}`);
      return [];
    }
    const steps: Step[] = [];
    const counts: Record<string, number> = {};
    x.forEach((item, i) => {
      const at = `${path}[${i}]`;
      const step = this.try(at, () => readStep(item, at, defaults, this));
      if (!step) return;
      counts[step.kind] = (counts[step.kind] ?? 0) + 1;
      const name = step.name ?? `${step.kind}-${counts[step.kind]}`;
      if (steps.some((s) => s.name === name)) {
        this.report(`${at}.name`, `step name ${JSON.stringify(name)} is used twice`);
        return;
      }
      steps.push({ ...step.action, name, line: this.lineOf.get(at) ?? 1 } as Step);
    });
    return steps;
  }

  readiness(x: unknown, path: string): Readiness | null {
    if (!isMap(x)) {
      this.report(path, `expected a map with one of ${CONDITIONS.join(", ")}, got ${shown(x)}`);
      return null;
    }
    this.keys(x, path, READY_KEYS);
    const given = CONDITIONS.filter((k) => x[k] !== undefined);
    if (given.length !== 1) {
      this.report(
        path,
        given.length === 0
          ? `one condition is needed: ${CONDITIONS.join(", ")}`
          : `one condition only, got ${given.join(" and ")}`,
      );
      return null;
    }
    const kind = given[0];
    const timeout = this.try(
      `${path}.timeout`,
      () => optSeconds(x.timeout, MAX_WATCH_TIMEOUT_S),
    );
    const hosts = this.try(`${path}.hosts`, () => optCount(x.hosts));
    const read = this.try(`${path}.${kind}`, () => readCondition(kind, x[kind]));
    if (!read) return null;
    const checked = this.try(`${path}.${kind}`, () => {
      try {
        return parseWatchCondition(read.condition);
      } catch (e) {
        throw new Bad((e as Error).message);
      }
    });
    if (!checked) return null;
    return {
      condition: checked,
      timeout: timeout ?? DEFAULT_WATCH_TIMEOUT_S,
      hosts: hosts ?? null,
      ...(read.step === undefined ? {} : { step: read.step }),
    };
  }

  /** Dependencies name known components and form no cycle. */
  dependencies(components: Component[]): void {
    const byName = new globalThis.Map(components.map((c) => [c.name, c]));
    for (const c of components) {
      for (const d of c.after) {
        if (d.component === c.name) {
          this.report(
            `components.${c.name}.after.${d.component}`,
            "a component cannot wait for itself",
          );
        } else if (!byName.has(d.component)) {
          const hint = suggest(d.component, [...byName.keys()]);
          this.report(
            `components.${c.name}.after`,
            `no component ${JSON.stringify(d.component)}${hint ? ` (did you mean ${hint}?)` : ""}`,
          );
        }
      }
    }
    const cycle = findCycle(components);
    if (cycle) {
      this.report(`components.${cycle[0]}.after`, `dependency cycle: ${cycle.join(" -> ")}`);
    }
  }
}

/** The first cycle in the dependency graph, as a path that ends where it began. */
export function findCycle(components: readonly Component[]): string[] | null {
  const byName = new globalThis.Map(components.map((c) => [c.name, c]));
  const state = new globalThis.Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === "done") return null;
    if (state.get(name) === "open") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "open");
    stack.push(name);
    for (const d of byName.get(name)?.after ?? []) {
      if (!byName.has(d.component) || d.component === name) continue;
      const found = visit(d.component);
      if (found) return found;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const c of components) {
    const found = visit(c.name);
    if (found) return found;
  }
  return null;
}

function strip(steps: Step[]): Omit<Step, "line">[] {
  return steps.map(({ line: _line, ...rest }) => rest);
}

function name_(x: unknown, what: string): string {
  if (typeof x !== "string" || !isToken(x) || x.length > MAX_NAME) {
    throw new Bad(
      `${what} ${shown(x)} is not valid: use 1-${MAX_NAME} characters from A-Z a-z 0-9 _ -`,
    );
  }
  return x;
}

function optString(x: unknown): string | undefined {
  if (x === undefined) return undefined;
  if (typeof x === "number") return String(x);
  if (typeof x !== "string" || x === "") throw new Bad(`expected a string, got ${shown(x)}`);
  return x;
}

function optStringMap(x: unknown): Record<string, string> | undefined {
  if (x === undefined) return undefined;
  if (!isMap(x)) throw new Bad(`expected a map of strings, got ${shown(x)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x)) {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new Bad(`${k}: expected a string, got ${shown(v)}`);
    }
    out[k] = String(v);
  }
  return out;
}

function optStringList(x: unknown): string[] | undefined {
  if (x === undefined) return undefined;
  const list = typeof x === "string" ? [x] : x;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === "string")) {
    throw new Bad(`expected a string or a list of strings, got ${shown(x)}`);
  }
  return list as string[];
}

function optSeconds(x: unknown, max: number): number | undefined {
  if (x === undefined) return undefined;
  if (typeof x !== "number" || !(x > 0) || x > max) {
    throw new Bad(`expected seconds, more than 0 and at most ${max}, got ${shown(x)}`);
  }
  return x;
}

function optCount(x: unknown): number | undefined {
  if (x === undefined || x === "all") return undefined;
  if (typeof x !== "number" || !Number.isInteger(x) || x < 1) {
    throw new Bad(`expected all or a number of hosts (1 or more), got ${shown(x)}`);
  }
  return x;
}

function optBool(x: unknown): boolean {
  if (x === undefined) return false;
  if (typeof x !== "boolean") throw new Bad(`expected true or false, got ${shown(x)}`);
  return x;
}

function readDefaults(x: unknown, r: Reader): Defaults {
  if (x === undefined) return {};
  if (!isMap(x)) throw new Bad(`expected a map (cwd, env, timeout), got ${shown(x)}`);
  r.keys(x, "defaults", DEFAULT_KEYS);
  return {
    cwd: r.try("defaults.cwd", () => optString(x.cwd)),
    env: r.try("defaults.env", () => optStringMap(x.env)),
    timeout: r.try("defaults.timeout", () => optSeconds(x.timeout, MAX_SECONDS)),
  };
}

function readAfter(x: unknown): Component["after"] {
  if (x === undefined) return [];
  if (typeof x === "string") return [{ component: x, kind: "ready" }];
  if (Array.isArray(x)) {
    return x.map((n) => {
      if (typeof n !== "string") throw new Bad(`expected component names, got ${shown(n)}`);
      return { component: n, kind: "ready" as DependencyKind };
    });
  }
  if (!isMap(x)) {
    throw new Bad(`expected a map {component: started|ready|completed} or a list, got ${shown(x)}`);
  }
  return Object.entries(x).map(([component, kind]) => {
    if (!DEPENDENCY_KINDS.includes(kind as DependencyKind)) {
      throw new Bad(`${component}: expected started, ready or completed, got ${shown(kind)}`);
    }
    return { component, kind: kind as DependencyKind };
  });
}

function readStep(
  x: unknown,
  path: string,
  defaults: Defaults,
  r: Reader,
): { action: StepAction; name?: string; kind: string } | undefined {
  if (!isMap(x)) {
    throw new Bad(`expected a step (a map with run, put, get, start or stop), got ${shown(x)}`);
  }
  const given = ACTIONS.filter((a) => x[a] !== undefined);
  if (given.length !== 1) {
    throw new Bad(
      given.length === 0
        ? `a step needs one of ${ACTIONS.join(", ")}${
          Object.keys(x).length ? ` (got ${Object.keys(x).join(", ")})` : ""
        }`
        : `a step does one thing, got ${given.join(" and ")}`,
    );
  }
  const kind = given[0];
  r.keys(x, path, STEP_KEYS[kind]);
  const name = x.name === undefined
    ? undefined
    : r.try(`${path}.name`, () => name_(x.name, "step name"));
  const at = `${path}.${kind}`;
  const v = x[kind];
  let action: StepAction | undefined;
  if (kind === "run") {
    const command = r.try(at, () => {
      if (typeof v === "string" && v.trim() !== "") return { shell: v };
      if (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string")) {
        return { argv: v as string[] };
      }
      throw new Bad(`expected a command line or a list (program and arguments), got ${shown(v)}`);
    });
    const env = r.try(`${path}.env`, () => optStringMap(x.env));
    const cwd = r.try(`${path}.cwd`, () => optString(x.cwd));
    const timeout = r.try(`${path}.timeout`, () => optSeconds(x.timeout, MAX_SECONDS));
    const detach = r.try(`${path}.detach`, () => optBool(x.detach)) ?? false;
    const sync = r.try(`${path}.sync`, () => optBool(x.sync)) ?? false;
    const mergedEnv = defaults.env || env ? { ...defaults.env, ...env } : undefined;
    if (command) {
      action = dropUndefined<RunStep>({
        kind: "run",
        ...command,
        env: mergedEnv,
        cwd: cwd ?? defaults.cwd,
        timeout: timeout ?? (detach ? undefined : defaults.timeout),
        detach,
        sync,
      });
    }
  } else if (kind === "put" || kind === "get") {
    action = r.try(at, () => {
      if (!isMap(v)) throw new Bad(`expected a map {src, dest}, got ${shown(v)}`);
      const extra = Object.keys(v).filter((k) => k !== "src" && k !== "dest");
      if (extra.length) throw new Bad(`unknown key ${extra[0]} (a ${kind} has src and dest)`);
      const src = optStringList(v.src);
      const dest = optString(v.dest);
      if (!src || !dest) throw new Bad(`${src ? "dest" : "src"} is missing`);
      return kind === "put"
        ? { kind: "put", sources: src, dest }
        : { kind: "get", paths: src, dir: dest };
    });
  } else {
    const names = r.try(at, () => optStringList(v));
    if (names) action = { kind, names };
  }
  return action ? { action, name, kind } : undefined;
}

function readCondition(
  kind: typeof CONDITIONS[number],
  v: unknown,
): { condition: Map; step?: string } {
  switch (kind) {
    case "port": {
      if (typeof v === "number") return { condition: { kind, port: v } };
      if (typeof v === "string") {
        const m = /^(?:\[?([0-9a-fA-F:.]+?)\]?:)?(\d+)$/.exec(v);
        if (!m) throw new Bad(`expected a port or ADDRESS:PORT, got ${shown(v)}`);
        return { condition: { kind, port: Number(m[2]), ...(m[1] ? { address: m[1] } : {}) } };
      }
      throw new Bad(`expected a port or ADDRESS:PORT, got ${shown(v)}`);
    }
    case "file": {
      if (typeof v === "string") return { condition: { kind, path: v, event: "exists" } };
      throw new Bad(`expected a path, got ${shown(v)}`);
    }
    case "command": {
      if (typeof v === "string") return { condition: { kind, shell: v } };
      if (Array.isArray(v)) return { condition: { kind, argv: v } };
      if (isMap(v)) {
        const { run, interval, probe_timeout, ...rest } = v;
        if (Object.keys(rest).length) {
          throw new Bad(`unknown key ${Object.keys(rest)[0]} (run, interval, probe_timeout)`);
        }
        const command = typeof run === "string" ? { shell: run } : { argv: run };
        return { condition: { kind, ...command, interval, probeTimeout: probe_timeout } };
      }
      throw new Bad(`expected a command line, a list, or {run, interval, probe_timeout}`);
    }
    case "output":
    case "exit":
    case "state": {
      if (kind === "exit" && typeof v === "string") return procOf(kind, { step: v });
      if (!isMap(v)) throw new Bad(`expected a map, got ${shown(v)}`);
      return procOf(kind, v);
    }
  }
}

/** output, exit, state: about a run step (`step: NAME`) or a supervised program (`program: web`). */
function procOf(kind: "output" | "exit" | "state", v: Map): { condition: Map; step?: string } {
  const { step, program, ...rest } = v;
  if ((step === undefined) === (program === undefined)) {
    throw new Bad(`say which process: step (one of this component's run steps) or program`);
  }
  if (kind === "state" && step !== undefined) {
    throw new Bad(`a state condition is about a program, not a step`);
  }
  if (kind === "state" && !PROGRAM_STATES.includes(rest.state as never)) {
    throw new Bad(`state: expected one of ${PROGRAM_STATES.join(", ")}, got ${shown(rest.state)}`);
  }
  if (step !== undefined && typeof step !== "string") throw new Bad(`step: expected a step name`);
  // The real process id is put in by the runner; this placeholder passes the checks.
  const condition: Map = { kind, proc: step === undefined ? program : "step", ...rest };
  return step === undefined ? { condition } : { condition, step: step as string };
}

function dropUndefined<T extends object>(x: T): T {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
}

/** The condition with the process id of its step filled in. */
export function conditionFor(ready: Readiness, procOf: (step: string) => string): WatchCondition {
  if (ready.step === undefined) return ready.condition;
  return { ...ready.condition, proc: procOf(ready.step) } as WatchCondition;
}
