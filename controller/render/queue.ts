/**
 * How the work queue reads: the progress line of `queue submit` on a
 * terminal (`queue sweep: 120/200 done, 6 running, 74 pending, 0 failed,
 * 41.2/s, ETA 2s`), its end (failed tasks, then one summary line in
 * tutti's words: `200 tasks: 198 done, 2 failed`), and the tables of
 * `queue status` and `queue results`. With `--json`, one JSON object per
 * event or task on stdout.
 */
import type { QueueCounts, QueueEvent, QueueStatus, QueueSummary, TaskState } from "../mod.ts";
import { fold } from "../mod.ts";
import { SIGNALS } from "../../protocol/signals.ts";
import type { Out } from "./out.ts";

export class QueueView {
  readonly #began = Date.now();
  #name = "";

  constructor(private readonly out: Out, private readonly json: boolean) {}

  event(e: QueueEvent): void {
    if (this.json) {
      this.out.stdout(JSON.stringify(e) + "\n");
      return;
    }
    if (e.type === "submitted") {
      this.#name = e.name;
      const again = e.tasks - e.added;
      this.out.stderr(
        `queue ${e.name}: ${e.tasks} task${e.tasks === 1 ? "" : "s"} submitted` +
          (again > 0 ? ` (${again} already there)` : "") + "\n",
      );
    } else if (e.type === "taken" && !e.ok) {
      this.out.stderr(`${e.host}: did not take the queue: ${e.error?.code} ${e.error?.message}\n`);
    } else if (e.type === "progress") {
      this.out.status(this.line(e.counts, e.total));
    }
  }

  /** Done, running, pending, failed, the rate since the start and the time left at that rate. */
  line(c: QueueCounts, total: number): string {
    const elapsed = Math.max(0.001, (Date.now() - this.#began) / 1000);
    const finished = c.done + c.failed;
    const rate = finished / elapsed;
    const left = total - finished;
    const eta = rate > 0 && left > 0 ? `, ETA ${Math.ceil(left / rate)}s` : "";
    const cancelled = c.cancelled > 0 ? `, ${c.cancelled} cancelled` : "";
    return `queue ${this.#name}: ${c.done}/${total} done, ${c.running} running, ` +
      `${c.pending} pending, ${c.failed} failed${cancelled}, ${rate.toFixed(1)}/s${eta}`;
  }

  /** The queue's name, for a view that did not see a `submitted` event (`queue watch`). */
  named(name: string): void {
    this.#name = name;
  }

  /** A line of the CLI's own after the summary (`record: PATH`), on stderr. */
  note(text: string): void {
    this.out.stderr(`${text}\n`);
  }

  end(s: QueueSummary): void {
    this.out.status(null);
    if (this.json) {
      const { tasks: _t, ...rest } = s;
      this.out.stdout(JSON.stringify({ type: "summary", ...rest }) + "\n");
      return;
    }
    for (const t of s.tasks) {
      if (t.state === "failed") this.out.stderr(`${taskLabel(t)}: ${describeTask(t)}\n`);
    }
    const hosts = s.detached || s.ran.length === 0
      ? s.hosts.filter((h) => h.ok).map((h) => h.host)
      : s.ran;
    const on = hosts.length > 0 ? ` on ${fold(hosts)}` : "";
    if (s.detached) {
      this.out.stderr(
        `queue ${s.name}: ${s.total} tasks queued${on}; follow with ` +
          `controller queue watch ${s.name}\n`,
      );
      return;
    }
    const secs = ((Date.now() - this.#began) / 1000).toFixed(1);
    this.out.stderr(`${countsLine(s.counts, s.total)} in ${secs}s${on}\n`);
  }
}

/** `200 tasks: 198 done, 2 failed` (running and pending only when there are some). */
export function countsLine(c: QueueCounts, total: number): string {
  const parts = [`${c.done} done`];
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  if (c.cancelled > 0) parts.push(`${c.cancelled} cancelled`);
  if (c.running > 0) parts.push(`${c.running} running`);
  if (c.pending > 0) parts.push(`${c.pending} pending`);
  return `${total} task${total === 1 ? "" : "s"}: ${parts.join(", ")}`;
}

/** `exit 3`, `killed by SIGKILL`, `timed out`, `running on n-2`... */
export function describeTask(t: TaskState): string {
  if (t.state === "pending") {
    return t.attempt > 0 ? `pending (attempt ${t.attempt} failed)` : "pending";
  }
  if (t.state === "running") return `running on ${t.host}`;
  if (t.state === "cancelled") return "cancelled";
  if (t.error) return `${t.error.code} ${t.error.message}`;
  if (t.timedOut) return "timed out";
  if (t.signal !== null) return `killed by ${t.signal}`;
  return `exit ${t.code}`;
}

function taskLabel(t: TaskState): string {
  return `${t.id} (${t.args.join(" ")})`;
}

/** The first line of a joblog, as GNU parallel's `--joblog` writes it. */
export const JOBLOG_HEADER =
  "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/**
 * A task over, as a line of GNU parallel's joblog: its number in the
 * submission, its host, start (seconds since the epoch) and run time with
 * milliseconds, 0 bytes sent and received (nothing is transferred), exit
 * status and signal number, command line. A task that never ran (cancelled
 * while pending) has host `-` and times 0.
 */
export function joblogLine(seq: number, t: TaskState): string {
  const start = t.started === null ? 0 : t.started / 1000;
  const runtime = t.started === null || t.ended === null ? 0 : (t.ended - t.started) / 1000;
  const signal = t.signal === null ? 0 : (SIGNALS as Record<string, number>)[t.signal] ?? 0;
  return `${seq}\t${t.host ?? "-"}\t${start.toFixed(3)}\t${
    runtime.toFixed(3).padStart(8)
  }\t0\t0\t` +
    `${t.code ?? 0}\t${signal}\t${t.shell}\n`;
}

/** `queue status`: one line of counts. */
export function statusText(s: QueueStatus, json: boolean): string {
  if (json) return JSON.stringify({ name: s.name, total: s.total, ...s.counts }) + "\n";
  return `queue ${s.name}: ${countsLine(s.counts, s.total)}\n`;
}

/** `queue results`: a row per task, finished ones first by end time. */
export function resultsText(s: QueueStatus, json: boolean): string {
  const tasks = [...s.tasks].sort((a, b) =>
    (a.ended ?? Infinity) - (b.ended ?? Infinity) || (a.id < b.id ? -1 : 1)
  );
  if (json) return tasks.map((t) => JSON.stringify(t) + "\n").join("");
  const rows = [["TASK", "STATE", "HOST", "PROC", "EXIT", "ATTEMPTS", "SECONDS", "ARGS"]];
  for (const t of tasks) {
    const exit = t.state === "done" || t.state === "failed"
      ? (t.signal ?? (t.timedOut ? "timeout" : String(t.code)))
      : "-";
    const secs = t.started !== null && t.ended !== null
      ? ((t.ended - t.started) / 1000).toFixed(2)
      : "-";
    rows.push([
      t.id,
      t.state,
      t.host ?? "-",
      t.proc ?? "-",
      exit,
      String(t.attempt),
      secs,
      t.args.join(" "),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd() + "\n"
  ).join("");
}
