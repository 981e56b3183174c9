/**
 * The `queue` verb: take tasks of a queue (protocol/PROTOCOL.md, "Work
 * queue"). The first request for a queue opens it and starts its slots; a
 * later one (another submission) updates its limits. Answered once the
 * queue's consumer and bucket are open, so a controller that saw the answer
 * knows this host pulls; a queue that does not exist is ENOENT.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { parseQueueRequest, type QueueReply } from "../../protocol/queue_messages.ts";
import type { Handler } from "../handlers.ts";
import { type QueueContext, QueueWorker } from "./queue_worker.ts";

export class Queues {
  readonly #workers = new Map<string, Promise<QueueWorker>>();

  constructor(private readonly ctx: () => QueueContext) {}

  handlers(): Map<string, Handler> {
    return new Map<string, Handler>([
      ["queue", async (m) => {
        const req = parseQueueRequest(m);
        let w = this.#workers.get(req.name);
        if (w) (await w).update(req);
        else {
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
        const body: QueueReply = { name: req.name, slots: req.slots };
        return { body };
      }],
    ]);
  }

  /** No more tasks taken; those running are handed back as they end. */
  stop(): void {
    for (const w of this.#workers.values()) w.then((x) => x.stop(), () => {});
  }
}
