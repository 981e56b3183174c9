/**
 * A queue's storage on JetStream, seen from the controller. Nothing of a
 * queue lives in a controller: any controller opens it by name.
 *
 * - stream `<P>_queue_<Q>` (work-queue retention, file storage) on
 *   `P.queue.<Q>.task`: one message per pending task (JSON TaskMessage),
 *   published with the task id as message id (deduplicated by the server);
 * - its durable pull consumer `agents`, shared by every agent taking tasks:
 *   explicit acks, the ack wait is the lease of a running task;
 * - KV bucket `<P>_queue_<Q>`: `task.<id>` (JSON TaskState), updated by the
 *   agents with revision checks, `meta` (JSON QueueMeta) and `config` (JSON
 *   QueueConfig: the selection and limits the agents follow, the cancel and
 *   the drained hosts).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { TuttiError } from "../../protocol/errors.ts";
import {
  checkQueueName,
  isFinal,
  parseQueueConfig,
  parseQueueMeta,
  parseTaskState,
  pendingState,
  type QueueConfig,
  type QueueMeta,
  type TaskMessage,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import type { Subjects } from "../../protocol/subjects.ts";

/** The durable consumer every agent pulls from. */
export const CONSUMER = "agents";
/** Requests to the server in flight while storing or reading tasks. */
const WINDOW = 64;
const NS = 1_000_000;

export interface QueueCounts {
  pending: number;
  running: number;
  done: number;
  failed: number;
  cancelled: number;
}

export class QueueStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly subjects: Subjects,
    readonly name: string,
    readonly stream: string,
    /** The consumer's ack wait, in seconds: the lease of a running task. */
    readonly lease: number,
  ) {}

  /**
   * Opens queue `name`; with `create`, makes what is missing (a lease given
   * for an existing queue is ignored: the consumer keeps its own). ENOENT
   * when it does not exist and `create` is absent, ENOTSUP without JetStream.
   */
  static async open(
    nc: NatsConnection,
    subjects: Subjects,
    name: string,
    create?: { lease: number },
  ): Promise<QueueStore> {
    checkQueueName(name);
    const stream = subjects.queueStream(name);
    let jsm;
    try {
      jsm = await jetstreamManager(nc);
    } catch (e) {
      throw noJetStream(e);
    }
    const exists = await jsm.streams.info(stream).then(() => true, (e) => {
      if (/not found/i.test((e as Error).message)) return false;
      throw noJetStream(e);
    });
    if (!exists) {
      if (!create) throw new TuttiError("ENOENT", `no queue ${JSON.stringify(name)}`);
      await jsm.streams.add({
        name: stream,
        subjects: [subjects.queueTasks(name)],
        storage: StorageType.File,
        retention: RetentionPolicy.Workqueue,
        duplicate_window: 120 * 1000 * NS,
      }).catch((e) => {
        // Another controller created it at the same time: fine.
        if (!/already in use/i.test((e as Error).message)) throw noJetStream(e);
      });
    }
    let info = await jsm.consumers.info(stream, CONSUMER).catch(() => null);
    if (!info) {
      if (!create) throw new TuttiError("ENOENT", `queue ${JSON.stringify(name)} has no consumer`);
      info = await jsm.consumers.add(stream, {
        durable_name: CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: create.lease * 1000 * NS,
        max_deliver: -1,
        // Every slot of every agent may hold a task: no cap of the server's default 1000.
        max_ack_pending: -1,
        max_waiting: 4096,
      });
    }
    const js = jetstream(nc);
    const kvm = new Kvm(js);
    const bucket = subjects.queueBucket(name);
    const kv = create
      ? await kvm.create(bucket, { history: 1, storage: StorageType.File })
      : await kvm.open(bucket);
    return new QueueStore(
      js,
      jsm,
      kv,
      subjects,
      name,
      stream,
      (info.config.ack_wait ?? 30_000 * NS) / 1000 / NS,
    );
  }

  /**
   * Stores `tasks` as they come, a window of them at a time: a state
   * `pending` for each, then its stream message. A task already there (the
   * same sweep submitted again) is left as it is, but a pending one is
   * published again (its first publish may have been lost with a controller
   * killed in between; the server's deduplication drops it within two
   * minutes). `each` learns every task before its state is written, with
   * the state it already had (null for a new one). Returns how many were new.
   */
  async submit(
    tasks: AsyncIterable<TaskMessage>,
    each: (t: TaskMessage, existing: TaskState | null) => void,
  ): Promise<number> {
    let added = 0;
    const one = async (t: TaskMessage) => {
      each(t, null);
      try {
        await this.kv.create(taskKey(t.id), JSON.stringify(pendingState(t)));
        added++;
      } catch (e) {
        if (!/wrong last sequence|key exists/i.test((e as Error).message)) throw e;
        const existing = await this.task(t.id);
        if (existing) each(t, existing);
        if (existing?.state !== "pending") return;
      }
      await this.js.publish(this.subjects.queueTasks(this.name), JSON.stringify(t), {
        msgID: t.id,
      });
    };
    await windowed(tasks, one);
    await this.#addToMeta(added);
    return added;
  }

  async config(): Promise<QueueConfig | null> {
    const e = await this.kv.get("config");
    return e && e.operation === "PUT" ? parseQueueConfig(e.json()) : null;
  }

  /**
   * Writes `config` as `change` makes it from the current one (null when
   * there is none yet), with a revision check: another controller's change
   * in between makes it read again. Returns what was written.
   */
  async updateConfig(change: (c: QueueConfig | null) => QueueConfig): Promise<QueueConfig> {
    for (;;) {
      const e = await this.kv.get("config");
      const current = e && e.operation === "PUT" ? parseQueueConfig(e.json()) : null;
      const next = change(current);
      const text = JSON.stringify(next);
      const ok =
        await (e ? this.kv.update("config", text, e.revision) : this.kv.create("config", text))
          .then(() => true, (err) => {
            if (/wrong last sequence|key exists/i.test((err as Error).message)) return false;
            throw err;
          });
      if (ok) return next;
    }
  }

  /**
   * `queue cancel`: the agents are told (`config.cancelled`: they stop
   * pulling and kill what they run), the stream is emptied, and every task
   * not over yet becomes `cancelled` (an agent's later write of a result
   * loses to it: a final state is never changed). Returns how many tasks
   * are cancelled now.
   */
  async cancel(): Promise<number> {
    const c = await this.config();
    if (!c) {
      throw new TuttiError("ENOENT", `queue ${JSON.stringify(this.name)} has no configuration`);
    }
    await this.updateConfig((cur) => ({ ...(cur ?? c), cancelled: true }));
    await this.jsm.streams.purge(this.stream);
    await windowed(await this.#ids(), async (id) => {
      await this.#change(id, (s) => isFinal(s.state) ? null : { ...s, state: "cancelled" });
    });
    // Those the agents marked first (the running ones they killed) count too.
    return countStates(await this.tasks()).cancelled;
  }

  /**
   * `queue retry-failed`: every failed (or cancelled) task becomes pending
   * again and its message is published anew (a message id of its own per
   * re-queue, so the server's deduplication does not drop it). Its attempts
   * keep counting. Returns the tasks queued again.
   */
  async retryFailed(): Promise<TaskState[]> {
    const again: TaskState[] = [];
    await windowed(await this.#ids(), async (id) => {
      const held: TaskState[] = [];
      const rev = await this.#change(id, (s) => {
        if (s.state !== "failed" && s.state !== "cancelled") return null;
        // Its full retry budget again, as when it was submitted.
        held[0] = { ...s, state: "pending", failures: 0 };
        return held[0];
      });
      if (rev === null) return;
      const t = held[0];
      await this.js.publish(
        this.subjects.queueTasks(this.name),
        JSON.stringify({ id: t.id, args: t.args, shell: t.shell, seq: t.seq }),
        { msgID: `${t.id}.${rev}` },
      );
      again.push(t);
    });
    if (again.length > 0) {
      await this.updateConfig((cur) => ({ ...cur!, cancelled: false }));
    }
    return again;
  }

  /** Adds `host` to (or, with `on` false, removes it from) the drained hosts. */
  async drain(host: string, on: boolean): Promise<QueueConfig> {
    if (!await this.config()) {
      throw new TuttiError("ENOENT", `queue ${JSON.stringify(this.name)} has no configuration`);
    }
    return await this.updateConfig((cur) => {
      const drained = cur!.drained.filter((h) => h !== host);
      if (on) drained.push(host);
      return { ...cur!, drained: drained.sort() };
    });
  }

  async #ids(): Promise<string[]> {
    const ids: string[] = [];
    for await (const k of await this.kv.keys("task.>")) ids.push(k.slice("task.".length));
    return ids;
  }

  /**
   * `change` applied to a task's state with a revision check (a concurrent
   * writer makes it read again); the new revision, or null when it said null.
   */
  async #change(id: string, change: (s: TaskState) => TaskState | null): Promise<number | null> {
    const key = taskKey(id);
    for (;;) {
      const e = await this.kv.get(key);
      if (!e || e.operation !== "PUT") return null;
      const next = change(parseTaskState(e.json()));
      if (!next) return null;
      const rev = await this.kv.update(key, JSON.stringify(next), e.revision).catch((err) => {
        if (/wrong last sequence/i.test((err as Error).message)) return null;
        throw err;
      });
      if (rev !== null) return rev;
    }
  }

  async meta(): Promise<QueueMeta | null> {
    const e = await this.kv.get("meta");
    return e && e.operation === "PUT" ? parseQueueMeta(e.json()) : null;
  }

  async task(id: string): Promise<TaskState | null> {
    const e = await this.kv.get(taskKey(id));
    return e && e.operation === "PUT" ? parseTaskState(e.json()) : null;
  }

  /**
   * Every task's state, as the bucket holds them now: read in one pass of
   * an ordered consumer over the bucket's last values (a request per task
   * took 6 s for 100,000 tasks), ended once it has caught up.
   */
  async tasks(): Promise<TaskState[]> {
    // By key: a task written while the pass goes comes twice (its value then, its update), and
    // the later one is the truth.
    const out = new Map<string, TaskState>();
    // How many to expect: a watch over no value at all would wait for the first update.
    if ((await this.#ids()).length === 0) return [];
    const it = await this.kv.watch({ key: "task.>", ignoreDeletes: true });
    try {
      for await (const e of it) {
        if (e.operation === "PUT") {
          try {
            out.set(e.key, parseTaskState(e.json()));
          } catch {
            // A state this controller cannot read is left out, as a missing one would be.
          }
        }
        if (e.delta === 0) break;
      }
    } finally {
      it.stop();
    }
    return [...out.values()];
  }

  /**
   * `fn` with every task state from now on, the current ones first; returns
   * the stop. Updates are whole states: the latest one is the truth.
   */
  async watch(fn: (s: TaskState) => void): Promise<() => void> {
    const it = await this.kv.watch({ key: "task.>" });
    (async () => {
      for await (const e of it) {
        if (e.operation !== "PUT") continue;
        try {
          fn(parseTaskState(e.json()));
        } catch {
          // A state this controller cannot read is not counted; `queue results` names it.
        }
      }
    })();
    return () => it.stop();
  }

  async #addToMeta(added: number): Promise<void> {
    for (;;) {
      const e = await this.kv.get("meta");
      if (!e || e.operation !== "PUT") {
        const meta: QueueMeta = { name: this.name, total: added, created: Date.now() };
        const ok = await this.kv.create("meta", JSON.stringify(meta)).then(() => true, () => false);
        if (ok) return;
        continue;
      }
      const meta = parseQueueMeta(e.json());
      meta.total += added;
      const ok = await this.kv.update("meta", JSON.stringify(meta), e.revision).then(
        () => true,
        () => false,
      );
      if (ok) return;
    }
  }
}

export function countStates(states: Iterable<TaskState>): QueueCounts {
  const c: QueueCounts = { pending: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const s of states) c[s.state]++;
  return c;
}

function taskKey(id: string): string {
  return `task.${id}`;
}

/** Calls `fn` on every item, WINDOW calls at a time, taking the items only as calls finish. */
async function windowed<T>(
  items: Iterable<T> | AsyncIterable<T>,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  // Several workers may ask at once: an async generator queues their requests and answers them
  // in order, and a plain iterator answers at once.
  const it = Symbol.asyncIterator in items
    ? items[Symbol.asyncIterator]()
    : (items as Iterable<T>)[Symbol.iterator]();
  let done = false;
  const worker = async () => {
    while (!done) {
      const r = await it.next();
      if (r.done) {
        done = true;
        return;
      }
      try {
        await fn(r.value);
      } catch (e) {
        done = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

function noJetStream(e: unknown): TuttiError {
  const why = (e as Error)?.message ?? String(e);
  if (/permissions violation/i.test(why)) {
    return new TuttiError(
      "EPERM",
      `the NATS server refuses this controller JetStream's API (${why})`,
    );
  }
  return new TuttiError(
    "ENOTSUP",
    `the work queue needs JetStream on the NATS server (${why}): start nats-server with ` +
      `-js -sd DIR, or add "jetstream { store_dir: DIR }" to its configuration`,
  );
}
