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
  TASK_STATES,
  type TaskMessage,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import { checkPlaceholders, TASK_ID_LENGTH, TaskNamer } from "../../protocol/queue_tasks.ts";
import type { HostReply } from "../../protocol/replies.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import type { Scope } from "../broadcast/scope.ts";
import { fanout } from "../fanout.ts";
import { Channel, type Operation } from "../operation.ts";
import type { ResolvedTarget } from "../target.ts";
import { type QueueCounts, QueueStore } from "./queue_store.ts";

export interface QueueSubmitOptions {
  /** The queue's name (a subject token; default: a new one). */
  name?: string;
  /** The command line, with `{}`, `{N}`, `{#}` placeholders (protocol/queue_tasks.ts). */
  command: string;
  /**
   * Each task's arguments: an array, or a function that gives them afresh at
   * each call, as they are read (a file's lines): then the controller never
   * holds the sweep whole. They are gone through twice: every task is checked
   * before any is stored, then they are stored.
   */
  rows: string[][] | (() => TaskRows);
  /** How many arguments a row has at most, for `{N}` (default: counted in an array, else 1). */
  columns?: number;
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
  /**
   * Whether the summary keeps the tasks that ended done (default true). The
   * others (failed, cancelled) are always kept; without the done ones, what
   * the controller holds no longer grows with the number of tasks.
   */
  keepDone?: boolean;
}

export type TaskRows = Iterable<string[]> | AsyncIterable<string[]>;

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
  /**
   * This submission's tasks as they ended, in submission order: all of them
   * (none when detached), or only those not done (`keepDone: false`).
   */
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

const ID_STAND_IN = "t".padEnd(TASK_ID_LENGTH, "0");

/** What a task's state may grow by once it ran (host, process id, times, exit). */
const STATE_GROWTH = 512;

/** Checks the options before anything is sent (EINVAL); the tasks are checked by `startSubmit`. */
export function checkSubmit(opts: QueueSubmitOptions): void {
  if (opts.name !== undefined) checkQueueName(opts.name);
  if (!Number.isInteger(opts.slots) || opts.slots < 1) {
    throw new TuttiError("EINVAL", `slots ${opts.slots}: a whole number from 1`);
  }
  if (opts.maxLoad !== undefined && !(opts.maxLoad >= 0)) {
    throw new TuttiError("EINVAL", `max load ${opts.maxLoad}: a load average from 0`);
  }
  const rows = opts.rows;
  if (Array.isArray(rows) && rows.length === 0) {
    throw new TuttiError("EINVAL", "no tasks to submit");
  }
  const columns = opts.columns ??
    (Array.isArray(rows) ? rows.reduce((n, r) => Math.max(n, r.length), 1) : 1);
  checkPlaceholders(opts.command, columns);
}

/** A fresh pass over the submission's rows. */
function rowsOf(opts: QueueSubmitOptions): TaskRows {
  return Array.isArray(opts.rows) ? opts.rows : opts.rows();
}

/** The submission's tasks, named as they are made from its rows (a fresh pass at each call). */
async function* tasksOf(opts: QueueSubmitOptions): AsyncGenerator<TaskMessage> {
  const namer = new TaskNamer(opts.command);
  for await (const args of rowsOf(opts)) yield namer.next(args);
}

/**
 * Goes through every task once before anything is stored: how many there
 * are (EINVAL for none) and EMSGSIZE for the first whose state would not fit
 * in one message of the server (`max_payload`): it could be neither queued
 * nor recorded, and the tasks before it must not be queued alone.
 */
async function checkTasks(opts: QueueSubmitOptions, maxPayload: number): Promise<number> {
  const encoder = new TextEncoder();
  const namer = new TaskNamer(opts.command);
  let n = 0;
  for await (const args of rowsOf(opts)) {
    n++;
    // Sized with a stand-in id of an id's length: the digest is computed for the one named.
    const t = namer.unnamed(args);
    const state = pendingState({ id: ID_STAND_IN, args, shell: t.shell, seq: t.seq });
    const size = encoder.encode(JSON.stringify(state)).length + STATE_GROWTH;
    if (size > maxPayload) {
      throw new TuttiError(
        "EMSGSIZE",
        `task ${n} (${t.id()}) takes ${size} bytes with its state, above the server's ` +
          `max_payload of ${maxPayload}: pass large inputs in files, not as arguments`,
      );
    }
  }
  if (n === 0) throw new TuttiError("EINVAL", "no tasks to submit");
  return n;
}

export function startSubmit(
  scope: Scope,
  resolved: ResolvedTarget,
  opts: QueueSubmitOptions,
): QueueOperation {
  const op = new Channel<QueueEvent, QueueSummary>();
  const name = opts.name ?? newId("q");
  const keepDone = opts.keepDone ?? true;
  (async () => {
    const { nc, subjects } = scope.link;
    const total = await checkTasks(opts, nc.info?.max_payload ?? 1 << 20);
    const store = await QueueStore.open(nc, subjects, name, {
      lease: opts.lease ?? DEFAULT_LEASE_S,
    });
    // Per task, only its number (by id) and its state as a byte (an index in TASK_STATES,
    // pending first): the states themselves go out as events, and are kept as the summary asks.
    const seqOf = new Map<string, number>();
    const codes = new Uint8Array(total + 1);
    const counts: QueueCounts = { pending: total, running: 0, done: 0, failed: 0, cancelled: 0 };
    const kept: TaskState[] = [];
    const ran = new Set<string>();
    let over = 0;
    let wake = () => {};
    let last = 0;
    const progress = () => {
      last = Date.now();
      op.push({ type: "progress", counts: { ...counts }, total });
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = (s: TaskState) => {
      const seq = seqOf.get(s.id);
      if (seq === undefined) return;
      // The first end wins, as on the agents.
      const was = TASK_STATES[codes[seq]];
      if (isFinal(was)) return;
      counts[was]--;
      counts[s.state]++;
      codes[seq] = TASK_STATES.indexOf(s.state);
      if (isFinal(s.state)) {
        over++;
        if (s.host !== null) ran.add(s.host);
        if (keepDone || s.state !== "done") kept.push(s);
        op.push({ type: "task", seq, task: s });
        if (over === total) wake();
      }
      if (Date.now() - last >= PROGRESS_MS) progress();
      else {timer ??= setTimeout(() => {
          timer = undefined;
          progress();
        }, PROGRESS_MS);}
    };
    // Followed from before the tasks are stored: no state change is missed. A task already
    // there (the same sweep submitted again) is given its state by the store instead.
    const stopWatch = opts.detach ? () => {} : await store.watch(seen);
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
      const added = await store.submit(tasksOf(opts), (t, existing) => {
        if (opts.detach) return;
        seqOf.set(t.id, t.seq!);
        if (existing) seen(existing);
      });
      op.push({ type: "submitted", name, tasks: total, added });
      const hosts = await fanout(scope, { verb: "queue", body, parse: parseQueueReply }, resolved)
        .done;
      for (const h of hosts) {
        op.push(
          h.ok
            ? { type: "taken", host: h.host, ok: true, slots: h.slots }
            : { type: "taken", host: h.host, ok: false, error: h.error },
        );
      }
      const summary = (detached: boolean): QueueSummary => ({
        name,
        total,
        counts: { ...counts },
        tasks: kept.sort((a, b) => seqOf.get(a.id)! - seqOf.get(b.id)!),
        hosts,
        ran: [...ran].sort(),
        detached,
        ok: detached ? hosts.every((h) => h.ok) : counts.done === total,
      });
      if (opts.detach) {
        op.end(summary(true));
        return;
      }
      if (!hosts.some((h) => h.ok) && over < total) {
        throw new TuttiError(
          "ENORESPONSE",
          `no selected host took queue ${name}: its ${total - over} pending task(s) ` +
            `stay queued (submit again, or queue status --name ${name})`,
        );
      }
      if (over < total) await new Promise<void>((r) => wake = r);
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
