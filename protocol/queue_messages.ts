/**
 * The work queue (protocol/PROTOCOL.md, "Work queue"): the `queue` request
 * that tells agents to take tasks of a queue, the task a stream message
 * carries, and the task state kept in the queue's KV bucket.
 *
 * The controller stores; agents pull. Nothing here is held by a controller:
 * every count `queue status` prints comes from the KV bucket.
 */
import { createHash } from "node:crypto";
import { TuttiError, type WireError } from "./errors.ts";
import { parseWireError } from "./replies.ts";
import { Fields, requested } from "./fields.ts";
import { parseTarget, type Target } from "./messages.ts";
import { checkToken } from "./subjects.ts";

type Map = Record<string, unknown>;

/** `queue` request: take tasks of queue `name`, `slots` at a time. */
export interface QueueRequest {
  name: string;
  /** Tasks run at once on this host. */
  slots: number;
  /** Seconds a running task's lease lasts (the consumer's ack wait), renewed while it runs. */
  lease: number;
  /** Failed attempts retried before the task is failed for good. */
  retries: number;
  /** Seconds before the first retry; doubled for each next one (60 s at most). */
  backoff: number;
  /** Seconds a task may run (SIGTERM, then SIGKILL after 5 s), none when absent. */
  timeout?: number;
  /** No pull while the host's 1-minute load average is above this. */
  maxLoad?: number;
  /** No pull while the host's available memory is below this many bytes. */
  minFreeMem?: number;
}

/**
 * `config` in the queue's bucket: what the agents taking the queue follow
 * (a KV watch), so that a submission, a cancel or a drain reaches every
 * one of them, and an agent that starts later finds the queue and its
 * selection.
 */
export interface QueueConfig extends QueueRequest {
  /** The hosts that take the queue. */
  target: Target;
  /** Set by `queue cancel`: no more pulls, running tasks killed. A new submission clears it. */
  cancelled: boolean;
  /** Hosts drained (`queue drain`): they finish their tasks and take no more. */
  drained: string[];
}

export interface QueueReply {
  name: string;
  slots: number;
}

/** A task as it sits in the queue's stream. */
export interface TaskMessage {
  /** Stable: the same command and arguments always get the same id. */
  id: string;
  /** Its arguments (what the placeholders were replaced with). */
  args: string[];
  /** The command line run with `/bin/sh -c`. */
  shell: string;
  /** Its number in its submission, from 1 (`{#}`, a joblog's `Seq`). */
  seq?: number;
}

export const TASK_STATES = ["pending", "running", "done", "failed", "cancelled"] as const;
export type TaskStateName = typeof TASK_STATES[number];

/** Whether a task in this state is over: its state is never changed again by an agent. */
export function isFinal(state: TaskStateName): boolean {
  return state === "done" || state === "failed" || state === "cancelled";
}

/** `task.<id>` in the queue's bucket. */
export interface TaskState extends TaskMessage {
  state: TaskStateName;
  /** Attempts started so far (a delivery of the task to an agent is one). */
  attempt: number;
  /**
   * Attempts that failed (an exit status not 0, a signal, a timeout, a
   * command that could not start) since the task was submitted or retried:
   * what `retries` counts. An attempt cut short by a lost agent or lease is
   * not one, nor a delivery from a broker that lost track of one. Absent in
   * states written before it existed: 0.
   */
  failures: number;
  /** Where the last attempt ran, and its process id there (`logs HOST PROC`). */
  host: string | null;
  proc: string | null;
  /** ms since the epoch; null until it started / ended. */
  started: number | null;
  /**
   * When the running attempt last renewed its lease (ms since the epoch, the
   * agent's clock): a delivery of the task while this is younger than the
   * lease is not a new attempt (the broker lost track of the delivery, the
   * holder is alive) and waits.
   */
  renewed: number | null;
  ended: number | null;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  /**
   * Why the last attempt's command never ran (`ENOENT`, `EACCES`, `EIO`, ...):
   * its `code` is then 127, as a shell's for a command not found.
   */
  error?: WireError;
}

/** `meta` in the queue's bucket: what every controller needs to show the queue. */
export interface QueueMeta {
  name: string;
  /** Tasks submitted, all submissions together. */
  total: number;
  created: number;
}

export function parseQueueRequest(m: Map): QueueRequest {
  return requested(() => {
    const f = Fields.of(m, "queue request");
    const name = checkQueueName(f.str("name"));
    const slots = f.int("slots", 1);
    const lease = f.num("lease");
    if (!(lease >= 1)) f.fail("lease", "a number of seconds from 1");
    const backoff = f.num("backoff");
    if (!(backoff >= 0)) f.fail("backoff", "a number of seconds from 0");
    const timeout = f.has("timeout") ? f.num("timeout") : undefined;
    if (timeout !== undefined && !(timeout > 0)) f.fail("timeout", "a positive number of seconds");
    const maxLoad = f.has("maxLoad") ? f.num("maxLoad") : undefined;
    if (maxLoad !== undefined && !(maxLoad >= 0)) f.fail("maxLoad", "a load average from 0");
    const minFreeMem = f.optInt("minFreeMem");
    return {
      name,
      slots,
      lease,
      retries: f.int("retries"),
      backoff,
      ...(timeout !== undefined && { timeout }),
      ...(maxLoad !== undefined && { maxLoad }),
      ...(minFreeMem !== undefined && { minFreeMem }),
    };
  });
}

export function parseQueueConfig(m: unknown): QueueConfig {
  const f = Fields.of(m, "queue config");
  return {
    ...parseQueueRequest(f.m),
    target: parseTarget(f.m) ?? {},
    cancelled: f.bool("cancelled"),
    drained: f.strList("drained"),
  };
}

export function parseQueueReply(m: Map): QueueReply {
  const f = Fields.of(m, "queue reply");
  return { name: f.str("name"), slots: f.int("slots", 1) };
}

export function parseTaskMessage(m: unknown): TaskMessage {
  const f = Fields.of(m, "queue task");
  const seq = f.optInt("seq", 1);
  return {
    id: f.str("id"),
    args: f.strList("args"),
    shell: f.str("shell"),
    ...(seq !== undefined && { seq }),
  };
}

export function parseTaskState(m: unknown): TaskState {
  const f = Fields.of(m, "task state");
  const state = f.str("state") as TaskStateName;
  if (!TASK_STATES.includes(state)) f.fail("state", TASK_STATES.join(", "));
  return {
    ...parseTaskMessage(m),
    state,
    attempt: f.int("attempt"),
    failures: f.has("failures") ? f.int("failures") : 0,
    host: f.strOrNull("host"),
    proc: f.strOrNull("proc"),
    started: f.intOrNull("started"),
    renewed: f.has("renewed") ? f.intOrNull("renewed") : null,
    ended: f.intOrNull("ended"),
    code: f.intOrNull("code"),
    signal: f.strOrNull("signal"),
    timedOut: f.bool("timedOut"),
    ...(f.has("error") && { error: parseWireError((m as Record<string, unknown>).error) }),
  };
}

export function parseQueueMeta(m: unknown): QueueMeta {
  const f = Fields.of(m, "queue meta");
  return { name: f.str("name"), total: f.int("total"), created: f.int("created") };
}

/** A queue name becomes a subject token and part of stream and bucket names. */
export function checkQueueName(name: string): string {
  try {
    return checkToken("queue name", name);
  } catch {
    throw new TuttiError(
      "EINVAL",
      `queue name ${JSON.stringify(name)} is not a subject token: use 1-128 characters from ` +
        `A-Z a-z 0-9 _ -`,
    );
  }
}

/** The wait before retry `n` (1 for the first): `backoff` doubled each time, 60 s at most. */
export function retryDelayMs(backoffS: number, n: number): number {
  return Math.min(60_000, backoffS * 1000 * 2 ** Math.max(0, n - 1));
}

/** A fresh state for a task just submitted. */
export function pendingState(t: TaskMessage): TaskState {
  return {
    ...t,
    state: "pending",
    attempt: 0,
    failures: 0,
    host: null,
    proc: null,
    started: null,
    renewed: null,
    ended: null,
    code: null,
    signal: null,
    timedOut: false,
  };
}

/**
 * The process id of attempt `attempt` of task `id` of queue `queue` on its
 * host: `<queue>-<task>-<attempt>`. The queue is in it because a task's id
 * is a digest of its command line alone: the same sweep submitted to two
 * queues has the same task ids, and an agent keeps exited processes, so
 * without it the second queue's attempt would meet the first's process
 * (EEXIST). A queue name too long for a 128-character id is replaced by a
 * digest of it.
 */
export function taskProcId(queue: string, id: string, attempt: number): string {
  const tail = `${id}-${attempt}`;
  const q = queue.length + 1 + tail.length <= 128
    ? queue
    : "q" + createHash("sha256").update(queue).digest("hex").slice(0, 15);
  return `${q}-${tail}`;
}
