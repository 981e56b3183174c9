/**
 * `queue submit`: store the tasks, tell the selected agents to take them
 * (a `queue` broadcast, a plain fan-out on the broadcast core), then follow
 * the tasks' states in the queue's KV bucket until every task of this
 * submission is done or failed (unless detached). Everything followed is
 * read from the bucket, so another controller sees the same.
 */
import type { WireError } from "../../protocol/errors.ts";
import { TuttiError } from "../../protocol/errors.ts";
import {
  checkQueueName,
  isFinal,
  parseQueueReply,
  pendingState,
  type QueueReply,
  type QueueRequest,
  type TaskMessage,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import { makeTasks } from "../../protocol/queue_tasks.ts";
import type { HostReply } from "../../protocol/replies.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import type { Scope } from "../broadcast/scope.ts";
import { fanout } from "../fanout.ts";
import { Channel, type Operation } from "../operation.ts";
import type { ResolvedTarget } from "../target.ts";
import { countStates, type QueueCounts, QueueStore } from "./queue_store.ts";

export interface QueueSubmitOptions {
  /** The queue's name (a subject token; default: a new one). */
  name?: string;
  /** The command line, with `{}`, `{N}`, `{#}` placeholders (protocol/queue_tasks.ts). */
  command: string;
  /** Each task's arguments. */
  rows: string[][];
  slots: number;
  retries?: number;
  /** Seconds before the first retry, doubled for each next one (default 1). */
  backoff?: number;
  timeout?: number;
  /** Seconds of a running task's lease, for a new queue (default 30). */
  lease?: number;
  /** Hosts take no task while their 1-minute load average is above this. */
  maxLoad?: number;
  /** Hosts take no task while their available memory is below this many bytes. */
  minFreeMem?: number;
  /** Return once the tasks are stored and the agents told, without following them. */
  detach?: boolean;
}

export type QueueEvent =
  | { type: "submitted"; name: string; tasks: number; added: number }
  | { type: "taken"; host: string; ok: boolean; slots?: number; error?: WireError }
  | { type: "progress"; counts: QueueCounts; total: number }
  /** A task of this submission over; `seq` is its number in the submission, from 1. */
  | { type: "task"; seq: number; task: TaskState };

export interface QueueSummary {
  name: string;
  /** Tasks of this submission. */
  total: number;
  counts: QueueCounts;
  /** This submission's tasks as they ended (all of them unless detached), in submission order. */
  tasks: TaskState[];
  /** Each selected host's answer to the `queue` request. */
  hosts: HostReply<QueueReply>[];
  /** The hosts that ran this submission's tasks (those of their last attempts), sorted. */
  ran: string[];
  detached: boolean;
  /** Every task done (or, detached, every selected host took the queue). */
  ok: boolean;
}

export type QueueOperation = Operation<QueueEvent, QueueSummary>;

const DEFAULT_LEASE_S = 30;
const PROGRESS_MS = 200;

/** What a task's state may grow by once it ran (host, process id, times, exit). */
const STATE_GROWTH = 512;

/** Checks everything it can before anything is sent (EINVAL). */
export function prepareTasks(opts: QueueSubmitOptions): TaskMessage[] {
  if (opts.name !== undefined) checkQueueName(opts.name);
  if (!Number.isInteger(opts.slots) || opts.slots < 1) {
    throw new TuttiError("EINVAL", `slots ${opts.slots}: a whole number from 1`);
  }
  if (opts.maxLoad !== undefined && !(opts.maxLoad >= 0)) {
    throw new TuttiError("EINVAL", `max load ${opts.maxLoad}: a load average from 0`);
  }
  if (opts.rows.length === 0) throw new TuttiError("EINVAL", "no tasks to submit");
  return makeTasks(opts.command, opts.rows);
}

/**
 * EMSGSIZE for the first task whose state would not fit in one message of
 * the server (`max_payload`): it could be neither queued nor recorded.
 */
export function checkTaskSizes(tasks: TaskMessage[], maxPayload: number): void {
  const encoder = new TextEncoder();
  tasks.forEach((t, i) => {
    const size = encoder.encode(JSON.stringify(pendingState(t))).length + STATE_GROWTH;
    if (size > maxPayload) {
      throw new TuttiError(
        "EMSGSIZE",
        `task ${i + 1} (${t.id}) takes ${size} bytes with its state, above the server's ` +
          `max_payload of ${maxPayload}: pass large inputs in files, not as arguments`,
      );
    }
  });
}

export function startSubmit(
  scope: Scope,
  resolved: ResolvedTarget,
  opts: QueueSubmitOptions,
  tasks: TaskMessage[],
): QueueOperation {
  const op = new Channel<QueueEvent, QueueSummary>();
  const name = opts.name ?? newId("q");
  (async () => {
    const { nc, subjects } = scope.link;
    checkTaskSizes(tasks, nc.info?.max_payload ?? 1 << 20);
    const store = await QueueStore.open(nc, subjects, name, {
      lease: opts.lease ?? DEFAULT_LEASE_S,
    });
    const mine = new Map<string, TaskState | null>(tasks.map((t) => [t.id, null]));
    const seqs = new Map(tasks.map((t, i) => [t.id, i + 1]));
    // Followed from before the tasks are stored: no state change is missed.
    const finals = new Map<string, TaskState>();
    let wake = () => {};
    let last = 0;
    const progress = () => {
      last = Date.now();
      const seen = [...mine.values()].filter((s): s is TaskState => s !== null);
      const counts = countStates(seen);
      counts.pending += mine.size - seen.length;
      op.push({ type: "progress", counts, total: mine.size });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stopWatch = opts.detach ? () => {} : await store.watch((s) => {
      if (!mine.has(s.id) || finals.has(s.id)) return;
      mine.set(s.id, s);
      if (isFinal(s.state)) {
        finals.set(s.id, s);
        op.push({ type: "task", seq: seqs.get(s.id)!, task: s });
        if (finals.size === mine.size) wake();
      }
      if (Date.now() - last >= PROGRESS_MS) progress();
      else {timer ??= setTimeout(() => {
          timer = undefined;
          progress();
        }, PROGRESS_MS);}
    });
    try {
      const body: QueueRequest = {
        name,
        slots: opts.slots,
        lease: store.lease,
        retries: opts.retries ?? 0,
        backoff: opts.backoff ?? 1,
        ...(opts.timeout !== undefined && { timeout: opts.timeout }),
        ...(opts.maxLoad !== undefined && { maxLoad: opts.maxLoad }),
        ...(opts.minFreeMem !== undefined && { minFreeMem: opts.minFreeMem }),
      };
      // Before the tasks: an agent that finds the queue by itself finds its selection too.
      // A new submission lifts a cancel; the drained hosts stay drained.
      await store.updateConfig((cur) => ({
        ...body,
        target: resolved.target,
        cancelled: false,
        drained: cur?.drained ?? [],
      }));
      const added = await store.submit(tasks, () => {});
      op.push({ type: "submitted", name, tasks: tasks.length, added });
      const hosts = await fanout(scope, { verb: "queue", body, parse: parseQueueReply }, resolved)
        .done;
      for (const h of hosts) {
        op.push(
          h.ok
            ? { type: "taken", host: h.host, ok: true, slots: h.slots }
            : { type: "taken", host: h.host, ok: false, error: h.error },
        );
      }
      const summary = (detached: boolean): QueueSummary => {
        const states = tasks.map((t) => finals.get(t.id) ?? mine.get(t.id)).filter(
          (s): s is TaskState => s !== null && s !== undefined,
        );
        const counts = countStates(states);
        counts.pending += tasks.length - states.length;
        const ran = new Set(states.flatMap((s) => s.host === null ? [] : [s.host]));
        return {
          name,
          total: tasks.length,
          counts,
          tasks: states,
          hosts,
          ran: [...ran].sort(),
          detached,
          ok: detached ? hosts.every((h) => h.ok) : counts.done === tasks.length,
        };
      };
      if (opts.detach) {
        op.end(summary(true));
        return;
      }
      if (!hosts.some((h) => h.ok) && finals.size < mine.size) {
        throw new TuttiError(
          "ENORESPONSE",
          `no selected host took queue ${name}: its ${mine.size - finals.size} pending task(s) ` +
            `stay queued (submit again, or queue status --name ${name})`,
        );
      }
      if (finals.size < mine.size) await new Promise<void>((r) => wake = r);
      clearTimeout(timer);
      progress();
      op.end(summary(false));
    } finally {
      clearTimeout(timer);
      stopWatch();
    }
  })().catch((e) => op.fail(e));
  return op;
}
