/**
 * What a controller does to a queue after its submission, from the queue's
 * name alone (nothing is kept in a controller): cancel it, queue its failed
 * tasks again, drain a host, and follow it to its end (`queue watch`, the
 * view a controller that was killed would have had).
 */
import {
  isFinal,
  parseQueueReply,
  type QueueConfig,
  type QueueReply,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import type { HostReply } from "../../protocol/replies.ts";
import type { Scope } from "../broadcast/scope.ts";
import { fanout } from "../fanout.ts";
import { Channel } from "../operation.ts";
import { resolveTarget } from "../target.ts";
import { countStates, QueueStore } from "./queue_store.ts";
import type { QueueEvent, QueueOperation, QueueSummary } from "./submit.ts";

export interface RetryReport {
  /** The tasks queued again. */
  tasks: TaskState[];
  /** The answers of the hosts told to take the queue again. */
  hosts: HostReply<QueueReply>[];
}

export async function cancelQueue(scope: Scope, name: string): Promise<number> {
  const store = await QueueStore.open(scope.link.nc, scope.link.subjects, name);
  return await store.cancel();
}

/**
 * Failed (and cancelled) tasks pending again, then a `queue` request to
 * the queue's selection, so that hosts which stopped taking it (restarted
 * since) take it again.
 */
export async function retryFailed(scope: Scope, name: string): Promise<RetryReport> {
  const store = await QueueStore.open(scope.link.nc, scope.link.subjects, name);
  const tasks = await store.retryFailed();
  const config = await store.config();
  if (tasks.length === 0 || !config) return { tasks, hosts: [] };
  return { tasks, hosts: await tell(scope, config) };
}

export async function drainHost(
  scope: Scope,
  name: string,
  host: string,
  on: boolean,
): Promise<QueueConfig> {
  const store = await QueueStore.open(scope.link.nc, scope.link.subjects, name);
  return await store.drain(host, on);
}

async function tell(scope: Scope, c: QueueConfig): Promise<HostReply<QueueReply>[]> {
  const { target, cancelled: _c, drained: _d, ...body } = c;
  const resolved = resolveTarget({
    hosts: target.hosts,
    exclude: target.exclude,
    where: target.where,
  });
  return await fanout(scope, { verb: "queue", body, parse: parseQueueReply }, resolved).done;
}

/**
 * Follows every task of queue `name` until none is pending or running:
 * progress events, one `task` event per task over (with its number in the
 * order the bucket lists them), and the summary `queue submit` would give.
 */
export function watchQueue(scope: Scope, name: string): QueueOperation {
  const op = new Channel<QueueEvent, QueueSummary>();
  (async () => {
    const store = await QueueStore.open(scope.link.nc, scope.link.subjects, name);
    const states = new Map<string, TaskState>();
    const reported = new Set<string>();
    let wake = () => {};
    let last = 0;
    const settled = () => {
      const c = countStates(states.values());
      return c.pending === 0 && c.running === 0;
    };
    // The current states first (the watch's initial values), then every change.
    const initial = await store.tasks();
    for (const s of initial) states.set(s.id, s);
    const seqs = new Map(initial.map((s, i) => [s.id, s.seq ?? i + 1]));
    // Tasks already over are reported too: the joblog of an attaching controller is complete.
    for (const s of initial) {
      if (!isFinal(s.state)) continue;
      reported.add(s.id);
      op.push({ type: "task", seq: seqs.get(s.id)!, task: s });
    }
    const progress = () => {
      last = Date.now();
      op.push({ type: "progress", counts: countStates(states.values()), total: states.size });
    };
    const stop = await store.watch((s) => {
      const was = states.get(s.id);
      // The watch begins with the current states: one already reported is not news.
      if (was && was.state === s.state && was.attempt === s.attempt) return;
      states.set(s.id, s);
      if (!seqs.has(s.id)) seqs.set(s.id, s.seq ?? seqs.size + 1);
      if (isFinal(s.state) && !reported.has(s.id)) {
        reported.add(s.id);
        op.push({ type: "task", seq: seqs.get(s.id)!, task: s });
      } else if (!isFinal(s.state)) reported.delete(s.id);
      if (Date.now() - last >= 200) progress();
      if (settled()) wake();
    });
    try {
      if (!settled()) await new Promise<void>((r) => wake = r);
      progress();
      const tasks = [...states.values()];
      const counts = countStates(tasks);
      op.end({
        name,
        total: tasks.length,
        counts,
        tasks,
        hosts: [],
        ran: [...new Set(tasks.flatMap((t) => t.host === null ? [] : [t.host]))].sort(),
        detached: false,
        ok: counts.done === tasks.length,
      });
    } finally {
      stop();
    }
  })().catch((e) => op.fail(e));
  return op;
}
