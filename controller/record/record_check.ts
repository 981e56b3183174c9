/**
 * The shape of a record file, checked before anything reads it: a record is
 * often read long after it was written, by another version, or after a
 * hand edit, and "cannot read property of undefined" would say nothing of
 * which file and which field are wrong. Each error is EINVAL and names both
 * (`record runs/x.json: run.results[2].status: expected one of ...`).
 */
import { TuttiError } from "../../protocol/errors.ts";
import { type AnyRecord, RECORD_FORMAT } from "./record_types.ts";

const STATUSES = ["ok", "failed", "noresponse", "lost"];

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly source: string) {}

  fail(path: string, what: string, got: unknown): never {
    const shown = got === undefined ? "nothing" : JSON.stringify(got)?.slice(0, 60) ?? String(got);
    throw new TuttiError(
      "EINVAL",
      `record ${this.source}: ${path}: expected ${what}, got ${shown}`,
    );
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(path, "an object", v);
    return v as Obj;
  }

  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, "an array", v);
    return v;
  }

  str(v: unknown, path: string): string {
    if (typeof v !== "string") this.fail(path, "a string", v);
    return v;
  }

  num(v: unknown, path: string): number {
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(path, "a number", v);
    return v;
  }

  /** A number or null (an exit code, an end time). */
  numOrNull(v: unknown, path: string): void {
    if (v !== null) this.num(v, path);
  }

  time(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (Number.isNaN(Date.parse(s))) this.fail(path, "an ISO 8601 time", v);
    return s;
  }

  strMap(v: unknown, path: string): void {
    const o = this.obj(v, path);
    for (const [k, x] of Object.entries(o)) this.str(x, `${path}.${k}`);
  }

  optional(o: Obj, key: string, path: string, check: (v: unknown, path: string) => unknown): void {
    if (o[key] !== undefined) check(o[key], `${path}.${key}`);
  }

  bytes(v: unknown, path: string): void {
    const o = this.obj(v, path);
    this.num(o.stdout, `${path}.stdout`);
    this.num(o.stderr, `${path}.stderr`);
  }
}

/** `data` as a record, or EINVAL naming `source` and the first field that is wrong. */
export function checkRecord(data: unknown, source: string): AnyRecord {
  const c = new Checker(source);
  const r = c.obj(data, "the file");
  if (r.format !== RECORD_FORMAT) {
    c.fail("format", `${RECORD_FORMAT} (a tutti record of this version)`, r.format);
  }
  const kind = c.str(r.kind, "kind");
  c.str(r.id, "id");
  c.time(r.started, "started");
  c.time(r.ended, "ended");
  const ctl = c.obj(r.controller, "controller");
  c.str(ctl.version, "controller.version");
  c.str(ctl.host, "controller.host");
  c.num(ctl.pid, "controller.pid");
  const sel = c.obj(r.selector, "selector");
  c.optional(sel, "hosts", "selector", (v, p) => c.str(v, p));
  c.optional(sel, "exclude", "selector", (v, p) => c.str(v, p));
  c.optional(sel, "where", "selector", (v, p) => c.strMap(v, p));
  c.str(r.nodeset, "nodeset");
  c.arr(r.facts, "facts").forEach((v, i) => checkFacts(c, v, `facts[${i}]`));
  if (kind === "run") checkRunBody(c, r.run, "run");
  if (kind === "plan") checkPlanBody(c, r.plan, "plan");
  if (kind === "queue") checkQueueBody(c, r.queue, "queue");
  return r as AnyRecord;
}

/** What `record show` and `record diff` read of a queue's record. */
function checkQueueBody(c: Checker, v: unknown, path: string): void {
  const b = c.obj(v, path);
  c.str(b.name, `${path}.name`);
  c.obj(b.counts, `${path}.counts`);
  c.arr(b.tasks, `${path}.tasks`).forEach((x, i) => {
    const t = c.obj(x, `${path}.tasks[${i}]`);
    c.num(t.seq, `${path}.tasks[${i}].seq`);
    c.str(t.state, `${path}.tasks[${i}].state`);
    c.arr(t.args, `${path}.tasks[${i}].args`);
  });
}

/** What `record show` and `record diff` read of a plan's record. */
function checkPlanBody(c: Checker, v: unknown, path: string): void {
  const b = c.obj(v, path);
  c.str(b.name, `${path}.name`);
  c.str(b.action, `${path}.action`);
  c.arr(b.components, `${path}.components`).forEach((x, i) => {
    const o = c.obj(x, `${path}.components[${i}]`);
    c.str(o.name, `${path}.components[${i}].name`);
    c.str(o.status, `${path}.components[${i}].status`);
  });
  c.arr(b.failures, `${path}.failures`);
  c.arr(b.steps, `${path}.steps`).forEach((x, i) => {
    const s = c.obj(x, `${path}.steps[${i}]`);
    for (const k of ["component", "step", "host", "status"]) {
      c.str(s[k], `${path}.steps[${i}].${k}`);
    }
    c.num(s.start, `${path}.steps[${i}].start`);
  });
}

function checkFacts(c: Checker, v: unknown, path: string): void {
  const f = c.obj(v, path);
  for (const k of ["host", "version", "os", "arch"]) c.str(f[k], `${path}.${k}`);
  for (const k of ["cores", "memory", "boot"]) c.num(f[k], `${path}.${k}`);
  c.optional(f, "kernel", path, (x, p) => c.str(x, p));
  c.optional(f, "cpu", path, (x, p) => c.str(x, p));
  c.strMap(f.labels, `${path}.labels`);
}

function checkRunBody(c: Checker, v: unknown, path: string): void {
  const b = c.obj(v, path);
  const cmd = c.obj(b.command, `${path}.command`);
  if (cmd.argv === undefined && cmd.shell === undefined) {
    c.fail(`${path}.command`, "argv or shell", cmd);
  }
  c.optional(
    cmd,
    "argv",
    `${path}.command`,
    (x, p) => c.arr(x, p).forEach((a, i) => c.str(a, `${p}[${i}]`)),
  );
  c.optional(cmd, "shell", `${path}.command`, (x, p) => c.str(x, p));
  c.optional(cmd, "cwd", `${path}.command`, (x, p) => c.str(x, p));
  const env = c.obj(cmd.env, `${path}.command.env`);
  c.arr(env.keys, `${path}.command.env.keys`).forEach((k, i) =>
    c.str(k, `${path}.command.env.keys[${i}]`)
  );
  c.str(env.sha256, `${path}.command.env.sha256`);
  c.arr(b.results, `${path}.results`).forEach((x, i) => checkResult(c, x, `${path}.results[${i}]`));
  if (typeof b.ok !== "boolean") c.fail(`${path}.ok`, "true or false", b.ok);
  c.optional(b, "interrupted", path, (x, p) => {
    const i = c.obj(x, p);
    for (const k of ["running", "scheduled"] as const) {
      c.arr(i[k], `${p}.${k}`).forEach((h, n) => c.str(h, `${p}.${k}[${n}]`));
    }
  });
  c.optional(b, "sync", path, (x, p) => {
    const s = c.obj(x, p);
    c.num(s.at, `${p}.at`);
    c.arr(s.clocks, `${p}.clocks`);
  });
}

function checkResult(c: Checker, v: unknown, path: string): void {
  const r = c.obj(v, path);
  c.str(r.host, `${path}.host`);
  if (!STATUSES.includes(r.status as string)) {
    c.fail(`${path}.status`, `one of ${STATUSES.join(", ")}`, r.status);
  }
  c.optional(r, "pid", path, (x, p) => c.num(x, p));
  c.optional(r, "start", path, (x, p) => c.num(x, p));
  c.optional(r, "end", path, (x, p) => c.numOrNull(x, p));
  c.optional(r, "code", path, (x, p) => c.numOrNull(x, p));
  c.optional(r, "signal", path, (x, p) => x === null || c.str(x, p));
  c.optional(r, "bytes", path, (x, p) => c.bytes(x, p));
  c.bytes(r.recovered, `${path}.recovered`);
  c.bytes(r.missing, `${path}.missing`);
  c.optional(r, "error", path, (x, p) => {
    const e = c.obj(x, p);
    c.str(e.code, `${p}.code`);
    c.str(e.message, `${p}.message`);
  });
}
