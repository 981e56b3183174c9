/**
 * One queue, taken by this agent: K slots, each a loop that pulls one task
 * from the queue's shared consumer (`next`: one message, only when the slot
 * is free), runs it through the process table as `run` does (output in the
 * spool, process id `<task>-<attempt>`), and records the result in the
 * task's state with a revision check.
 *
 * - The lease: the message's ack wait, renewed (`working`) every third of
 *   it while the task runs. An agent that dies stops renewing: the server
 *   delivers the task to another agent once the ack wait has passed since
 *   the last renewal (the bound is the lease).
 * - First completion wins: a final state (done, failed) is never
 *   overwritten; a task delivered whose state is already final is only
 *   acknowledged (a redelivery after a lost acknowledgement).
 * - A failed attempt (exit status not 0, a signal, a timeout) is retried up
 *   to `retries` times: its message is negatively acknowledged with the
 *   backoff as delay. Every delivery is an attempt, a lost lease included.
 * - Stopping: no new pulls; tasks ended by the agent's own stop are handed
 *   back at once (negative acknowledgement, state pending again).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type Consumer, jetstream, type JsMsg } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  parseTaskMessage,
  parseTaskState,
  type QueueRequest,
  retryDelayMs,
  type TaskMessage,
  taskProcId,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { log, RateLimitedLog } from "../log.ts";
import type { ProcessTable } from "../process_table.ts";

/** How long one pull waits for a task before asking again. */
const PULL_EXPIRES_MS = 10_000;
/** After an error pulling (the broker away), the wait before the next pull. */
const PULL_RETRY_MS = 1000;
/** The consumer every agent pulls from (controller/queue/queue_store.ts). */
const CONSUMER = "agents";

export interface QueueContext {
  nc: NatsConnection;
  subjects: Subjects;
  host: string;
  table: ProcessTable;
}

export class QueueWorker {
  #req: QueueRequest;
  #loops = 0;
  #stopping = false;
  readonly #errors = new RateLimitedLog(60_000);

  private constructor(
    private readonly ctx: QueueContext,
    private readonly consumer: Consumer,
    private readonly kv: KV,
    req: QueueRequest,
  ) {
    this.#req = req;
  }

  /** Opens the queue's consumer and bucket (ENOENT-like errors when it does not exist). */
  static async open(ctx: QueueContext, req: QueueRequest): Promise<QueueWorker> {
    const js = jetstream(ctx.nc);
    const consumer = await js.consumers.get(ctx.subjects.queueStream(req.name), CONSUMER);
    const kv = await new Kvm(js).open(ctx.subjects.queueBucket(req.name));
    const w = new QueueWorker(ctx, consumer, kv, req);
    w.update(req);
    return w;
  }

  get slots(): number {
    return this.#req.slots;
  }

  /** New limits (a later submission): more slots start loops, fewer end some after their task. */
  update(req: QueueRequest): void {
    this.#req = req;
    while (this.#loops < req.slots) this.#loop(this.#loops++);
  }

  stop(): void {
    this.#stopping = true;
  }

  async #loop(slot: number): Promise<void> {
    while (!this.#stopping && slot < this.#req.slots) {
      let m: JsMsg | null;
      try {
        m = await this.consumer.next({ expires: PULL_EXPIRES_MS });
      } catch (e) {
        const why = (e as Error).message;
        if (/consumer not found|stream not found|consumer deleted/i.test(why)) {
          log(`queue ${this.#req.name}: gone (${why}); no more tasks taken from it`);
          this.#stopping = true;
          break;
        }
        this.#errors.report(`queue ${this.#req.name}: ${why}`);
        await new Promise((r) => setTimeout(r, PULL_RETRY_MS));
        continue;
      }
      if (!m) continue;
      if (this.#stopping) {
        m.nak();
        break;
      }
      try {
        await this.#runTask(m);
      } catch (e) {
        // Left unacknowledged: the task comes back after the lease, here or elsewhere.
        this.#errors.report(`queue ${this.#req.name}: ${(e as Error).message}`);
      }
    }
    this.#loops--;
  }

  async #runTask(m: JsMsg): Promise<void> {
    let task: TaskMessage;
    try {
      task = parseTaskMessage(m.json());
    } catch (e) {
      log(`queue ${this.#req.name}: dropping a malformed task: ${(e as Error).message}`);
      m.term();
      return;
    }
    const req = this.#req;
    const attempt = m.info.deliveryCount;
    const proc = taskProcId(task.id, attempt);
    const claimed = await this.#record(task.id, (s) => ({
      ...s,
      state: "running",
      attempt,
      host: this.ctx.host,
      proc,
      started: Date.now(),
      ended: null,
      code: null,
      signal: null,
      timedOut: false,
    }));
    if (!claimed) {
      await m.ackAck().catch(() => {});
      return;
    }
    const leaseMs = req.lease * 1000;
    const renew = setInterval(() => m.working(), Math.max(300, leaseMs / 3));
    let result: Pick<TaskState, "code" | "signal" | "timedOut" | "started" | "ended">;
    try {
      result = await this.#execute(task, proc, req);
    } finally {
      clearInterval(renew);
    }
    if (this.#stopping) {
      await this.#record(task.id, (s) => s.proc === proc ? { ...s, state: "pending" } : null);
      m.nak();
      return;
    }
    const ok = result.code === 0;
    if (!ok && attempt <= req.retries) {
      await this.#record(
        task.id,
        (s) => s.proc === proc ? { ...s, ...result, state: "pending" } : null,
      );
      m.nak(retryDelayMs(req.backoff, attempt));
      return;
    }
    await this.#record(task.id, (s) => ({
      ...s,
      ...result,
      state: ok ? "done" : "failed",
      attempt,
      host: this.ctx.host,
      proc,
    }));
    await m.ackAck().catch(() => {});
  }

  /** Runs the task's command to its end; a command that cannot start is exit 127. */
  async #execute(task: TaskMessage, proc: string, req: QueueRequest) {
    const started = Date.now();
    try {
      const run = await this.ctx.table.run({
        id: proc,
        shell: task.shell,
        live: false,
        ...(req.timeout !== undefined && { timeout: req.timeout }),
        env: { TUTTI_QUEUE: req.name, TUTTI_TASK: task.id },
      });
      if (run.proc.running) {
        await new Promise<void>((r) => this.ctx.table.onExit(proc, () => r()));
      }
      const info = this.ctx.table.get(proc)?.info ?? run.proc.info;
      return {
        code: info.code,
        signal: info.signal,
        timedOut: info.timedOut,
        started: info.started,
        ended: info.ended ?? Date.now(),
      };
    } catch (e) {
      log(`queue ${req.name}: task ${task.id}: ${(e as Error).message}`);
      return { code: 127, signal: null, timedOut: false, started, ended: Date.now() };
    }
  }

  /**
   * Applies `change` to the task's state unless it is final (or `change`
   * says null), with a revision check: a concurrent writer makes it read
   * again. False when nothing was written.
   */
  async #record(id: string, change: (s: TaskState) => TaskState | null): Promise<boolean> {
    const key = `task.${id}`;
    for (;;) {
      const e = await this.kv.get(key);
      if (!e || e.operation !== "PUT") return false;
      const s = parseTaskState(e.json());
      if (s.state === "done" || s.state === "failed") return false;
      const next = change(s);
      if (!next) return false;
      try {
        await this.kv.update(key, JSON.stringify(next), e.revision);
        return true;
      } catch (err) {
        if (!/wrong last sequence/i.test((err as Error).message)) throw err;
      }
    }
  }
}
