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
    let w = this.#workers.get(req.name);
    if (w) {
      (await w).update(req);
      return;
    }
    w = QueueWorker.open(this.ctx(), req).catch((e) => {
      this.#workers.delete(req.name);
      const why = (e as Error).message;
      if (/not found/i.test(why)) {
        throw new TuttiError("ENOENT", `no queue ${JSON.stringify(req.name)} (${why})`);
      }
      throw new TuttiError("EIO", `queue ${req.name}: ${why}`);
    });
    this.#workers.set(req.name, w);
    await w;
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
    const kvm = new Kvm(ctx.nc);
    try {
      for await (const stream of jsm.streams.names(ctx.subjects.queueTasks("*"))) {
        if (!stream.startsWith(prefix)) continue;
        const name = stream.slice(prefix.length);
        if (this.#workers.has(name)) continue;
        const info = await jsm.streams.info(stream);
        if (info.state.messages === 0) continue;
        const kv = await kvm.open(ctx.subjects.queueBucket(name));
        const e = await kv.get("config");
        if (e?.operation !== "PUT") continue;
        const c = parseQueueConfig(e.json());
        if (c.cancelled || !matchTarget(c.target, ctx.host, ctx.labels)) continue;
        if (this.#stopped) return;
        log(`queue ${name}: taking its tasks (${info.state.messages} left)`);
        await this.#take({ ...c, name }).catch((err) => {
          log(`queue ${name}: ${(err as Error).message}`);
        });
      }
    } catch (e) {
      log(`looking for queues: ${(e as Error).message}`);
    }
  }

  /** No more tasks taken; those running are handed back as they end. */
  stop(): void {
    this.#stopped = true;
    for (const w of this.#workers.values()) w.then((x) => x.stop(), () => {});
  }
}
