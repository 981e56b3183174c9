/**
 * What changed between two records: the command, the hosts (added,
 * removed), each host's agent version and facts (a new kernel, a reboot),
 * each outcome (status, exit code, signal, error), the output sizes, and the
 * durations beyond a tolerance (a run is never exactly as long twice).
 * Pure: the same two records always give the same changes, in the same order.
 */
import { planOutcomes, type PlanRecord } from "./plan_record.ts";
import { queueOutcomes, type QueueRecord } from "./queue_record.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import type { AnyRecord, RecordOutcome, RunRecord } from "./record_types.ts";

export type ChangeKind =
  | "kind"
  | "command"
  | "selector"
  | "controller"
  | "host"
  | "version"
  | "facts"
  | "outcome"
  | "output"
  | "duration";

export interface RecordChange {
  what: ChangeKind;
  /** The host (or `host/step`) it is about; absent for the whole record. */
  key?: string;
  /** The field that changed (`kernel`, `code`, `argv`, ...). */
  field: string;
  a: unknown;
  b: unknown;
}

export interface DiffOptions {
  /** A duration changed when it differs by more than this many ms (default 100)... */
  toleranceMs?: number;
  /** ...and by more than this fraction of the first one (default 0.1). */
  toleranceRatio?: number;
}

export interface RecordDiff {
  a: { kind: string; id: string; started: string };
  b: { kind: string; id: string; started: string };
  /** No change at all (durations within the tolerance). */
  same: boolean;
  changes: RecordChange[];
}

const DEFAULT_TOLERANCE_MS = 100;
const DEFAULT_TOLERANCE_RATIO = 0.1;
const FACT_FIELDS = ["os", "arch", "kernel", "cpu", "cores", "memory", "boot", "labels"] as const;

/** What changed from `a` to `b`. */
export function diffRecords(a: AnyRecord, b: AnyRecord, opts: DiffOptions = {}): RecordDiff {
  const tolMs = opts.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const tolRatio = opts.toleranceRatio ?? DEFAULT_TOLERANCE_RATIO;
  const beyond = (x: number, y: number) =>
    Math.abs(y - x) > tolMs && Math.abs(y - x) > tolRatio * Math.abs(x);
  const changes: RecordChange[] = [];
  const add = (what: ChangeKind, field: string, x: unknown, y: unknown, key?: string) => {
    if (!same(x, y)) {
      changes.push({ what, field, a: x, b: y, ...(key === undefined ? {} : { key }) });
    }
  };

  add("kind", "kind", a.kind, b.kind);
  if (a.kind === "run" && b.kind === "run") {
    const ca = (a as RunRecord).run.command;
    const cb = (b as RunRecord).run.command;
    for (const f of ["argv", "shell", "cwd", "timeout", "grace", "stdin"] as const) {
      add("command", f, ca[f], cb[f]);
    }
    add("command", "env.keys", ca.env.keys, cb.env.keys);
    add("command", "env.sha256", ca.env.sha256, cb.env.sha256);
    add("command", "env.clear", ca.env.clear, cb.env.clear);
  }
  if (a.kind === "queue" && b.kind === "queue") {
    const qa = (a as unknown as QueueRecord).queue;
    const qb = (b as unknown as QueueRecord).queue;
    add("command", "queue", qa.name, qb.name);
    add("command", "submission", qa.submission, qb.submission);
  }
  add("selector", "selector", a.selector, b.selector);
  add("selector", "nodeset", a.nodeset, b.nodeset);
  add("controller", "version", a.controller.version, b.controller.version);
  add("controller", "host", a.controller.host, b.controller.host);
  const span = (r: AnyRecord) => Date.parse(r.ended) - Date.parse(r.started);
  if (beyond(span(a), span(b))) {
    changes.push({ what: "duration", field: "total", a: span(a), b: span(b) });
  }

  // Hosts: those that answered with facts, and those with an outcome.
  const factsA = byKey(a.facts, (f) => f.host);
  const factsB = byKey(b.facts, (f) => f.host);
  const outA = byKey(recordOutcomes(a), (o) => o.key);
  const outB = byKey(recordOutcomes(b), (o) => o.key);
  const hostsA = new Set([...factsA.keys(), ...[...outA.values()].map((o) => o.host)]);
  const hostsB = new Set([...factsB.keys(), ...[...outB.values()].map((o) => o.host)]);
  for (const h of [...new Set([...hostsA, ...hostsB])].sort(compareHosts)) {
    if (!hostsB.has(h)) {
      changes.push({ what: "host", key: h, field: "present", a: true, b: false });
      continue;
    }
    if (!hostsA.has(h)) {
      changes.push({ what: "host", key: h, field: "present", a: false, b: true });
      continue;
    }
    const fa = factsA.get(h);
    const fb = factsB.get(h);
    if (fa && fb) {
      add("version", "version", fa.version, fb.version, h);
      for (const f of FACT_FIELDS) add("facts", f, fa[f], fb[f], h);
    } else add("facts", "answered", fa !== undefined, fb !== undefined, h);
  }
  const keys = [...new Set([...outA.keys(), ...outB.keys()])].sort(compareKeys);
  for (const k of keys) {
    const oa = outA.get(k);
    const ob = outB.get(k);
    if (!oa || !ob) {
      // A host present in one record only is reported once, above; a step is reported here.
      if (k.includes("/")) add("outcome", "present", oa !== undefined, ob !== undefined, k);
      continue;
    }
    for (const f of ["status", "code", "signal", "timedOut", "error"] as const) {
      add("outcome", f, oa[f], ob[f], k);
    }
    add("output", "bytes", oa.bytes, ob.bytes, k);
    add("output", "missing", oa.missing, ob.missing, k);
    if (oa.duration !== undefined && ob.duration !== undefined) {
      if (beyond(oa.duration, ob.duration)) {
        changes.push({
          what: "duration",
          key: k,
          field: "duration",
          a: oa.duration,
          b: ob.duration,
        });
      }
    } else add("duration", "duration", oa.duration, ob.duration, k);
  }
  const head = (r: AnyRecord) => ({ kind: r.kind, id: r.id, started: r.started });
  return { a: head(a), b: head(b), same: changes.length === 0, changes };
}

/**
 * The outcomes of a record, one per host (or host and step), whatever its
 * kind; a kind whose body this controller does not know has none.
 */
export function recordOutcomes(r: AnyRecord): RecordOutcome[] {
  if (r.kind === "plan") return planOutcomes(r as unknown as PlanRecord);
  if (r.kind === "queue") return queueOutcomes(r as unknown as QueueRecord);
  if (r.kind !== "run") return [];
  const run = (r as RunRecord).run;
  // An interrupted run's hosts that had not ended: their status is that.
  const unended = [
    ...(run.interrupted?.running ?? []).map((h) => ({ key: h, host: h, status: "still running" })),
    ...(run.interrupted?.scheduled ?? []).map((h) => ({ key: h, host: h, status: "to start" })),
  ];
  return run.results.map((x): RecordOutcome => {
    const o: RecordOutcome = { key: x.host, host: x.host, status: x.status };
    if (x.code !== undefined) o.code = x.code;
    if (x.signal !== undefined) o.signal = x.signal;
    if (x.timedOut !== undefined) o.timedOut = x.timedOut;
    if (x.error) o.error = x.error.code;
    if (x.start !== undefined && typeof x.end === "number") o.duration = x.end - x.start;
    if (x.bytes) o.bytes = x.bytes;
    o.missing = x.missing;
    return o;
  }).concat(unended).sort((x, y) => compareHosts(x.host, y.host));
}

function byKey<T>(items: T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((t) => [key(t), t]));
}

function compareKeys(a: string, b: string): number {
  const [ha, sa = ""] = a.split("/", 2);
  const [hb, sb = ""] = b.split("/", 2);
  return compareHosts(ha, hb) || (sa < sb ? -1 : sa > sb ? 1 : 0);
}

/** Deep equality of JSON values (object keys in any order); undefined equals undefined only. */
function same(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  const kx = Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined);
  const ky = Object.keys(y).filter((k) => (y as Record<string, unknown>)[k] !== undefined);
  if (kx.length !== ky.length) return false;
  return kx.every((k) =>
    same((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k])
  );
}
