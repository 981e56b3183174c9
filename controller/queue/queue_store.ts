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
 *   agents with revision checks, and `meta` (JSON QueueMeta).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { TuttiError } from "../../protocol/errors.ts";
import {
  checkQueueName,
  parseQueueMeta,
  parseTaskState,
  pendingState,
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
}

export class QueueStore {
  private constructor(
    private readonly js: JetStreamClient,
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
      kv,
      subjects,
      name,
      stream,
      (info.config.ack_wait ?? 30_000 * NS) / 1000 / NS,
    );
  }

  /**
   * Stores `tasks`: a state `pending` for each, then its stream message. A
   * task already there (the same sweep submitted again) is left as it is,
   * but a pending one is published again (its first publish may have been
   * lost with a controller killed in between; the server's deduplication
   * drops it within two minutes). Returns how many were new.
   */
  async submit(tasks: TaskMessage[], sent: (n: number) => void): Promise<number> {
    let added = 0;
    const one = async (t: TaskMessage) => {
      const key = taskKey(t.id);
      let fresh = true;
      try {
        await this.kv.create(key, JSON.stringify(pendingState(t)));
      } catch (e) {
        if (!/wrong last sequence|key exists/i.test((e as Error).message)) throw e;
        fresh = false;
      }
      if (fresh) added++;
      else if ((await this.task(t.id))?.state !== "pending") return;
      await this.js.publish(this.subjects.queueTasks(this.name), JSON.stringify(t), {
        msgID: t.id,
      });
      sent(1);
    };
    await windowed(tasks, one);
    await this.#addToMeta(added);
    return added;
  }

  async meta(): Promise<QueueMeta | null> {
    const e = await this.kv.get("meta");
    return e && e.operation === "PUT" ? parseQueueMeta(e.json()) : null;
  }

  async task(id: string): Promise<TaskState | null> {
    const e = await this.kv.get(taskKey(id));
    return e && e.operation === "PUT" ? parseTaskState(e.json()) : null;
  }

  /** Every task's state, as the bucket holds them now. */
  async tasks(): Promise<TaskState[]> {
    const ids: string[] = [];
    for await (const k of await this.kv.keys("task.>")) ids.push(k.slice("task.".length));
    const out: TaskState[] = [];
    await windowed(ids, async (id) => {
      const s = await this.task(id);
      if (s) out.push(s);
    });
    return out;
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
  const c: QueueCounts = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const s of states) c[s.state]++;
  return c;
}

function taskKey(id: string): string {
  return `task.${id}`;
}

async function windowed<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, items.length) }, worker));
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
