/**
 * The `exit` events of one agent's processes, delivered to whoever expects
 * a given process id: how raw-protocol measurements know a `run` is over.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeMap } from "../protocol/codec.ts";
import type { Subjects } from "../protocol/subjects.ts";

export interface Exit {
  /** performance.now() when the event arrived. */
  at: number;
  body: Record<string, unknown>;
}

export class ProcExits {
  private readonly waiting = new Map<string, (e: Exit) => void>();
  private readonly sub: Subscription;

  private constructor(nc: NatsConnection, subjects: Subjects, host: string) {
    this.sub = nc.subscribe(subjects.proc(host, "*", "exit"), {
      callback: (_err, m) => {
        const at = performance.now();
        const where = subjects.parseProc(m.subject);
        if (where) this.waiting.get(where.proc)?.({ at, body: decodeMap(m.data) });
      },
    });
  }

  /** Subscribed (and the subscription known to the server) when this resolves. */
  static async open(nc: NatsConnection, subjects: Subjects, host: string): Promise<ProcExits> {
    const exits = new ProcExits(nc, subjects, host);
    await nc.flush();
    return exits;
  }

  /** Call before sending the request; rejects after `timeoutMs`. */
  expect(id: string, timeoutMs: number): Promise<Exit> {
    const { promise, resolve, reject } = Promise.withResolvers<Exit>();
    const timer = setTimeout(
      () => reject(new Error(`no exit event for ${id} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    this.waiting.set(id, resolve);
    return promise.finally(() => {
      clearTimeout(timer);
      this.waiting.delete(id);
    });
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
