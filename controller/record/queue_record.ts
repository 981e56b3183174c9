/**
 * The record of a work queue followed to its end (`queue submit|watch
 * --record DIR`): the shared header (the hosts that ran its tasks, and what
 * each host was), the submission (command, slots, retries), and every task:
 * its arguments, where its last attempt ran, how many attempts it took, how
 * it ended and when. `record diff` compares two by task (`#seq/args`).
 */
import type { Controller } from "../controller.ts";
import type { HostSpec } from "../target.ts";
import type { QueueSummary } from "../queue/submit.ts";
import type { QueueCounts } from "../queue/queue_store.ts";
import { recordHeader } from "./record_header.ts";
import type { RecordHeader, RecordOutcome } from "./record_types.ts";

export interface QueueTaskResult {
  /** Its number in its submission (from 1), or in the queue for a watch. */
  seq: number;
  id: string;
  args: string[];
  shell: string;
  state: string;
  /** Where its last attempt ran, and its process id there. */
  host: string | null;
  proc: string | null;
  attempts: number;
  /** ms since the epoch, on the agent's clock. */
  start: number | null;
  end: number | null;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
}

export interface QueueBody {
  name: string;
  /** The submission, when this controller submitted it (a watch knows the tasks only). */
  submission?: { command: string; slots: number; retries: number; timeout?: number };
  ok: boolean;
  counts: QueueCounts;
  tasks: QueueTaskResult[];
}

/** A type, not an interface: so that it is one of `AnyRecord`'s (an open body). */
export type QueueRecord = RecordHeader & { kind: "queue"; queue: QueueBody };

/** Builds the record of a followed queue: asks the hosts that ran its tasks for their facts. */
export async function queueRecord(
  c: Controller,
  summary: QueueSummary,
  opts: {
    started: number;
    selector: HostSpec;
    submission?: QueueBody["submission"];
  },
): Promise<QueueRecord> {
  const hosts = summary.ran;
  const pings = hosts.length === 0 ? [] : await c.ping({ hosts: hosts.join(",") }).done;
  const header = recordHeader({
    kind: "queue",
    id: `${summary.name}-${opts.started.toString(36)}`,
    started: opts.started,
    ended: Date.now(),
    selector: opts.selector,
    hosts,
    pings,
  });
  return {
    ...header,
    kind: "queue",
    queue: {
      name: summary.name,
      ...(opts.submission ? { submission: opts.submission } : {}),
      ok: summary.ok,
      counts: summary.counts,
      tasks: summary.tasks.map((t, i): QueueTaskResult => ({
        seq: t.seq ?? i + 1,
        id: t.id,
        args: t.args,
        shell: t.shell,
        state: t.state,
        host: t.host,
        proc: t.proc,
        attempts: t.attempt,
        start: t.started,
        end: t.ended,
        code: t.code,
        signal: t.signal,
        timedOut: t.timedOut,
      })),
    },
  };
}

/** One outcome per task, keyed by its number and arguments: `#12/0.5 7`. */
export function queueOutcomes(r: QueueRecord): RecordOutcome[] {
  return r.queue.tasks.map((t): RecordOutcome => {
    const o: RecordOutcome = {
      key: `#${t.seq}/${t.args.join(" ")}`,
      host: t.host ?? "",
      status: t.state,
      code: t.code,
      signal: t.signal,
      timedOut: t.timedOut,
    };
    if (t.start !== null && t.end !== null) o.duration = t.end - t.start;
    return o;
  });
}
