/**
 * The `queue` verb: take tasks of a queue (protocol/PROTOCOL.md, "Work
 * queue"). The first request for a queue opens it and starts its slots; a
 * later one (another submission) updates its limits. Answered once the
 * queue's consumer and bucket are open, so a controller that saw the answer
 * knows this host pulls; a queue that does not exist is ENOENT.
 *
 * An agent that starts (or reconnects) while a queue has tasks left finds
 * it without being asked (`scan`): it lists the queues' streams and takes
 * each one whose `config` selects it and still holds tasks, so a host
 * added to the node set while a queue runs starts taking its tasks.
 *
 * A queue with nothing left is let go (the worker's `finished`), and
 * looked at once more right after: a submission that came between the
 * worker's last look and its removal was asked of the worker let go.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { TuttiError } from "../../protocol/errors.ts";
import {
  parseQueueConfig,
  parseQueueRequest,
  type QueueReply,
  type QueueRequest,
} from "../../protocol/queue_messages.ts";
import { matchTarget } from "../../protocol/selector.ts";
import type { Handler } from "../handlers.ts";
import { log } from "../log.ts";
import { type QueueContext, QueueWorker } from "./queue_worker.ts";

export class Queues {
  readonly #workers = new Map<string, Promise<QueueWorker>>();
  #stopped = false;

  constructor(private readonly ctx: () => QueueContext) {}

  handlers(): Map<string, Handler> {
    return new Map<string, Handler>([
      ["queue", async (m) => {
        const req = parseQueueRequest(m);
        await this.#take(req);
        const body: QueueReply = { name: req.name, slots: req.slots };
        return { body };
      }],
    ]);
  }

  async #take(req: QueueRequest): Promise<void> {
    const existing = this.#workers.get(req.name);
    if (existing) {
      const w = await existing;
      if (!w.retired) {
        w.update(req);
        return;
      }
      // Let go a moment ago (its removal is on its way): a new worker takes the request.
      if (this.#workers.get(req.name) === existing) this.#workers.delete(req.name);
    }
    const opened = QueueWorker.open(this.ctx(), req).catch((e) => {
      this.#workers.delete(req.name);
      const why = (e as Error).message;
      if (/not found/i.test(why)) {
        throw new TuttiError("ENOENT", `no queue ${JSON.stringify(req.name)} (${why})`);
      }
      throw new TuttiError("EIO", `queue ${req.name}: ${why}`);
    });
    this.#workers.set(req.name, opened);
    const worker = await opened;
    worker.finished.then(() => {
      if (this.#workers.get(req.name) !== opened) return;
      this.#workers.delete(req.name);
      log(`queue ${req.name}: no task left; not pulling until it has tasks again`);
      this.#takeIfLeft(req.name).catch((err) => log(`queue ${req.name}: ${err.message}`));
    });
  }

  /**
   * Takes every queue this host is selected for that still has tasks and
   * that it does not take yet. Quiet without JetStream (no queue can exist).
   */
  async scan(): Promise<void> {
    if (this.#stopped) return;
    const ctx = this.ctx();
    let jsm;
    try {
      jsm = await jetstreamManager(ctx.nc);
    } catch {
      return;
    }
    const prefix = ctx.subjects.queueStream("");
    try {
      for await (const stream of jsm.streams.names(ctx.subjects.queueTasks("*"))) {
        if (!stream.startsWith(prefix)) continue;
        await this.#takeIfLeft(stream.slice(prefix.length));
      }
    } catch (e) {
      log(`looking for queues: ${(e as Error).message}`);
    }
  }

  /** Takes queue `name` if this host does not yet, it still has tasks, and selects this host. */
  async #takeIfLeft(name: string): Promise<void> {
    if (this.#stopped || this.#workers.has(name)) return;
    const ctx = this.ctx();
    const jsm = await jetstreamManager(ctx.nc);
    const info = await jsm.streams.info(ctx.subjects.queueStream(name));
    if (info.state.messages === 0) return;
    const kv = await new Kvm(ctx.nc).open(ctx.subjects.queueBucket(name));
    const e = await kv.get("config");
    if (e?.operation !== "PUT") return;
    const c = parseQueueConfig(e.json());
    if (c.cancelled || !matchTarget(c.target, ctx.host, ctx.labels)) return;
    if (this.#stopped || this.#workers.has(name)) return;
    log(`queue ${name}: taking its tasks (${info.state.messages} left)`);
    await this.#take({ ...c, name }).catch((err) => {
      log(`queue ${name}: ${(err as Error).message}`);
    });
  }

  /** No more tasks taken; those running are handed back as they end. */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#workers.values()) w.then((x) => x.stop(), () => {});
  }
}
