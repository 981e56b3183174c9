/**
 * Records for people: `record show` (what ran where, how each host ended,
 * how long it took, on which versions and machines) and `record diff` (one
 * line per change).
 */
import {
  type AnyRecord,
  fold,
  type HostFacts,
  type PlanRecord,
  type QueueRecord,
  type RecordChange,
  type RecordDiff,
  recordOutcomes,
  type RunRecord,
} from "../mod.ts";
import { formatTable } from "./table.ts";

/** `record show FILE`. */
export function recordText(r: AnyRecord): string {
  const span = Date.parse(r.ended) - Date.parse(r.started);
  const lines: string[] = [];
  const run = r.kind === "run" ? (r as RunRecord).run : null;
  const plan = r.kind === "plan" ? (r as unknown as PlanRecord).plan : null;
  const queue = r.kind === "queue" ? (r as unknown as QueueRecord).queue : null;
  const ok = run?.ok ?? plan?.ok ?? queue?.ok;
  const verdict = ok === undefined ? "" : (ok ? "ok" : "FAILED") + ", ";
  lines.push(`${r.kind} ${r.id}: ${verdict}${seconds(span)}, ${r.started} → ${r.ended}`);
  if (run) {
    const c = run.command;
    const what = c.argv ? c.argv.map(quote).join(" ") : `sh -c ${quote(c.shell ?? "")}`;
    const env = c.env.keys.length === 0
      ? "no env"
      : `env ${c.env.keys.join(",")} sha256:${c.env.sha256.slice(0, 12)}`;
    const extra = [
      c.cwd === undefined ? "" : `cwd ${c.cwd}`,
      env,
      c.env.clear ? "clear env" : "",
      c.timeout === undefined ? "" : `timeout ${c.timeout}s`,
      c.stdin ? "stdin fed" : "",
    ].filter((s) => s !== "");
    lines.push(`command: ${what} (${extra.join(", ")})`);
  }
  if (queue) {
    const c = queue.counts;
    const sub = queue.submission;
    lines.push(
      `queue: ${queue.name}, ${queue.tasks.length} tasks: ${c.done} done, ${c.failed} failed` +
        `${c.cancelled ? `, ${c.cancelled} cancelled` : ""}` +
        `${c.pending + c.running ? `, ${c.pending + c.running} not over` : ""}` +
        (sub ? ` (${sub.command}, ${sub.slots} slots, ${sub.retries} retries)` : ""),
    );
  }
  if (plan) {
    lines.push(
      `plan: ${plan.name} ${plan.action} (${plan.source}): ` +
        plan.components.map((c) => `${c.name} ${c.status}`).join(", "),
    );
    for (const f of plan.failures) {
      lines.push(
        `failed: ${f.component} step ${f.step}${f.host ? ` on ${f.host}` : ""}: ` +
          `${f.error.code} ${f.error.message}`,
      );
    }
  }
  const sel = [
    r.selector.hosts === undefined ? "" : `--hosts ${r.selector.hosts}`,
    r.selector.exclude === undefined ? "" : `--exclude ${r.selector.exclude}`,
    ...Object.entries(r.selector.where ?? {}).map(([k, v]) => `--where ${k}=${v}`),
  ].filter((s) => s !== "").join(" ") || "(every host)";
  lines.push(`hosts: ${sel} → ${r.nodeset || "(none)"}`);
  const ctl = r.controller;
  lines.push(`controller: ${ctl.version} on ${ctl.host || "?"} (pid ${ctl.pid})`);
  if (run?.interrupted) {
    const { running, scheduled } = run.interrupted;
    lines.push(
      "interrupted: the controller stopped waiting" +
        (running.length ? `; still running: ${fold(running)}` : "") +
        (scheduled.length ? `; still to start: ${fold(scheduled)}` : ""),
    );
  }
  if (run?.sync) {
    const s = run.sync;
    const skew = s.skew === null ? "none started" : `skew ${s.skew.toFixed(3)} ms`;
    lines.push(
      `instant: ${new Date(s.at).toISOString()}, ${s.started} started, ${skew}, ` +
        `clock bound ±${s.bound.toFixed(3)} ms`,
    );
  }
  const facts = new Map(r.facts.map((f) => [f.host, f]));
  const outcomes = recordOutcomes(r);
  if (outcomes.length > 0) {
    const results = run?.results ?? [];
    // Plans and queues have several outcomes per host: each is named (step, task) beside its host.
    const keyed = outcomes.some((o) => o.key !== o.host);
    const rows = outcomes.map((o) => {
      const res = results.find((x) => x.host === o.key);
      const lost = (res?.missing.stdout ?? 0) + (res?.missing.stderr ?? 0);
      return [
        ...(keyed ? [o.key.slice(o.key.startsWith(`${o.host}/`) ? o.host.length + 1 : 0)] : []),
        o.host || "-",
        o.status,
        exitText(o.code, o.signal, o.timedOut, o.error),
        o.duration === undefined ? "-" : seconds(o.duration),
        o.bytes ? String(o.bytes.stdout) : "-",
        o.bytes ? String(o.bytes.stderr) : "-",
        String(lost),
        ...factCells(facts.get(o.host)),
      ];
    });
    lines.push("");
    lines.push(
      formatTable(
        [
          ...(keyed ? [r.kind === "queue" ? "TASK" : "STEP"] : []),
          "HOST",
          "STATUS",
          "EXIT",
          "DURATION",
          "OUT",
          "ERR",
          "LOST",
          ...FACT_HEADER,
        ],
        rows,
      ).trimEnd(),
    );
  } else if (r.facts.length > 0) {
    lines.push("");
    lines.push(
      formatTable(["HOST", ...FACT_HEADER], r.facts.map((f) => [f.host, ...factCells(f)]))
        .trimEnd(),
    );
  }
  const errors = run?.results.filter((x) => x.error) ?? [];
  for (const x of errors) lines.push(`${x.host}: ${x.error!.code} ${x.error!.message}`);
  return lines.join("\n") + "\n";
}

const FACT_HEADER = ["AGENT", "KERNEL", "CPUS", "MEMORY"];

function factCells(f: HostFacts | undefined): string[] {
  if (!f) return ["?", "?", "?", "?"];
  return [f.version, f.kernel ?? "?", String(f.cores), gib(f.memory)];
}

/** `record diff A B`. */
export function diffText(d: RecordDiff): string {
  const head = `a: ${d.a.kind} ${d.a.id} ${d.a.started}\nb: ${d.b.kind} ${d.b.id} ${d.b.started}\n`;
  if (d.same) return head + "no differences\n";
  const rows = d.changes.map((c) => [c.key ?? "-", c.what, c.field, changeText(c)]);
  return head + formatTable(["HOST", "WHAT", "FIELD", "CHANGE"], rows);
}

function changeText(c: RecordChange): string {
  if (c.what === "host") return c.b ? "only in b" : "only in a";
  const show = c.what === "duration"
    ? (v: unknown) => typeof v === "number" ? seconds(v) : value(v)
    : c.field === "memory"
    ? (v: unknown) => typeof v === "number" ? gib(v) : value(v)
    : c.field === "env.sha256"
    ? (v: unknown) => typeof v === "string" ? v.slice(0, 12) : value(v)
    : c.field === "boot"
    ? (v: unknown) => typeof v === "number" ? new Date(v).toISOString() : value(v)
    : value;
  return `${show(c.a)} → ${show(c.b)}`;
}

function value(v: unknown): string {
  if (v === undefined) return "(none)";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function exitText(
  code: number | null | undefined,
  signal: string | null | undefined,
  timedOut: boolean | undefined,
  error: string | undefined,
): string {
  const base = signal
    ? signal
    : code === null || code === undefined
    ? (error ?? "-")
    : String(code);
  return timedOut ? `${base} (timed out)` : base;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)}GiB`;
}

/** A word as a shell would need it. */
function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
