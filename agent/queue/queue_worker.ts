/**
 * One queue, taken by this agent: K slots, each a loop that pulls one task
 * from the queue's shared consumer (`next`: one message, only when the slot
 * is free), runs it through the process table as `run` does (output in the
 * spool, process id `<task>-<attempt>`), and records the result in the
 * task's state with a revision check.
 *
 * - The queue's `config` key is watched: a later submission's limits, a
 *   cancel (no more pulls, running tasks killed, their state `cancelled`)
 *   and a drain (no more pulls, running tasks finish) reach the agent at
 *   once, from whichever controller wrote them.
 * - The lease: the message's ack wait, renewed (`working`) every third of
 *   it while the task runs. An agent that dies stops renewing: the server
 *   delivers the task to another agent once the ack wait has passed since
 *   the last renewal (the bound is the lease).
 * - A lost lease: at each renewal the task's state is read; when another
 *   attempt has claimed it (the server gave it to another slot after the
 *   lease ran out, say while this agent was stopped or cut off) or it is
 *   over (another attempt completed first, or it was cancelled), this copy
 *   is killed and nothing of it is recorded.
 * - First completion wins: a final state (done, failed, cancelled) is never
 *   overwritten; a task delivered whose state is already final is only
 *   acknowledged (a redelivery after a lost acknowledgement).
 * - A failed attempt (exit status not 0, a signal, a timeout) is retried up
 *   to `retries` times: its message is negatively acknowledged with the
 *   backoff as delay. Every delivery is an attempt, a lost lease included,
 *   but only failures count against `retries` (the state's `failures`).
 * - Finished: when a pull finds nothing, nothing runs here and the queue's
 *   stream holds no message (every task acknowledged), the worker retires
 *   (`finished` resolves): an agent does not poll a finished queue for
 *   ever. A later submission's `queue` request, or tasks found at a
 *   reconnection, open it again.
 * - Load limits: while the load average is above `maxLoad` or the available
 *   memory below `minFreeMem`, no slot pulls.
 * - Stopping: no new pulls; tasks ended by the agent's own stop are handed
 *   back at once (negative acknowledgement, state pending again).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import {
  type Consumer,
  jetstream,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  isFinal,
  parseQueueConfig,
  parseTaskMessage,
  parseTaskState,
  type QueueConfig,
  type QueueRequest,
  retryDelayMs,
  type TaskMessage,
  taskProcId,
  type TaskState,
} from "../../protocol/queue_messages.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { TuttiError, type WireError } from "../../protocol/errors.ts";
import { log, RateLimitedLog } from "../log.ts";
import type { ProcessTable } from "../process_table.ts";

/** How long one pull waits for a task before asking again. */
const PULL_EXPIRES_MS = 10_000;
/** After an error pulling (the broker away), the wait before the next pull. */
const PULL_RETRY_MS = 1000;
/** While held back (load, memory), how often the limits are checked again. */
const HOLD_CHECK_MS = 1000;
/** Writes of a task's state tried before the task is left to its lease. */
const RECORD_TRIES = 240;
/** The wait between two of them: short, so that a result is in soon after a reconnection. */
const RECORD_RETRY_MS = 250;
/** A cancelled task gets SIGTERM, then SIGKILL after this. */
const CANCEL_GRACE_MS = 2000;
/** The consumer every agent pulls from (controller/queue/queue_store.ts). */
const CONSUMER = "agents";

export interface QueueContext {
  nc: NatsConnection;
  subjects: Subjects;
  host: string;
  labels: Record<string, string>;
  table: ProcessTable;
}

/** How an attempt ended; `error` (present, undefined when none) clears an earlier attempt's. */
type Result = Pick<TaskState, "code" | "signal" | "timedOut" | "started" | "ended" | "error">;

export class QueueWorker {
  #req: QueueRequest;
  #cancelled = false;
  #drained = false;
  #loops = 0;
  #stopping = false;
  /** Running attempts of this queue on this host, by process id. */
  readonly #running = new Set<string>();
  /** The state and revision this agent last wrote, per task it holds (see `#record`). */
  readonly #written = new Map<string, { state: TaskState; revision: number }>();
  /** Woken when the configuration changes (or the agent stops). */
  #wake = new Set<() => void>();
  #stopWatch = () => {};
  #heldFor: string | null = null;
  readonly #errors = new RateLimitedLog(60_000);
  readonly #finished = Promise.withResolvers<void>();
  #retired = false;

  private constructor(
    private readonly ctx: QueueContext,
    private readonly consumer: Consumer,
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    req: QueueRequest,
  ) {
    this.#req = req;
  }

  /** Resolves when the queue had nothing left and this worker stopped pulling. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  get retired(): boolean {
    return this.#retired;
  }

  /**
   * Opens the queue's consumer and bucket (ENOENT-like errors when it does
   * not exist) and follows its `config`.
   */
  static async open(ctx: QueueContext, req: QueueRequest): Promise<QueueWorker> {
    const js = jetstream(ctx.nc);
    const consumer = await js.consumers.get(ctx.subjects.queueStream(req.name), CONSUMER);
    const kv = await new Kvm(js).open(ctx.subjects.queueBucket(req.name));
    const w = new QueueWorker(ctx, consumer, kv, await jetstreamManager(ctx.nc), req);
    const first = await kv.get("config");
    if (first?.operation === "PUT") w.#configure(parseQueueConfig(first.json()));
    await w.#watchConfig();
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
    this.#notify();
  }

  stop(): void {
    this.#stopping = true;
    this.#stopWatch();
    this.#notify();
  }

  async #watchConfig(): Promise<void> {
    const it = await this.kv.watch({ key: "config" });
    this.#stopWatch = () => it.stop();
    (async () => {
      for await (const e of it) {
        if (e.operation !== "PUT") continue;
        try {
          const c = parseQueueConfig(e.json());
          this.#configure(c);
          this.update({ ...c, name: this.#req.name });
        } catch (err) {
          this.#errors.report(`queue ${this.#req.name}: bad config: ${(err as Error).message}`);
        }
      }
    })().catch(() => {});
  }

  #configure(c: QueueConfig): void {
    const wasCancelled = this.#cancelled;
    this.#cancelled = c.cancelled;
    const drained = c.drained.includes(this.ctx.host);
    if (drained !== this.#drained) {
      log(`queue ${this.#req.name}: ${drained ? "drained: no more tasks taken" : "undrained"}`);
    }
    this.#drained = drained;
    if (c.cancelled && !wasCancelled) {
      if (this.#running.size > 0) {
        log(`queue ${this.#req.name}: cancelled: killing ${this.#running.size} task(s)`);
      }
      for (const proc of this.#running) this.#kill(proc);
    }
  }

  #kill(proc: string): void {
    const p = this.ctx.table.get(proc);
    if (p && "signal" in p) {
      try {
        p.signal("SIGTERM", CANCEL_GRACE_MS);
      } catch (e) {
        log(`queue ${this.#req.name}: ${proc}: ${(e as Error).message}`);
      }
    }
  }

  #notify(): void {
    const fns = [...this.#wake];
    this.#wake.clear();
    for (const fn of fns) fn();
  }

  /** Resolves on the next configuration change, or after `ms`. */
  #changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake.delete(done);
        resolve();
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#wake.add(done);
    });
  }

  /** Why no slot may pull now (cancelled, drained, load, memory), or null. */
  #holdReason(): string | null {
    if (this.#cancelled) return "cancelled";
    if (this.#drained) return "drained";
    const { maxLoad, minFreeMem } = this.#req;
    if (maxLoad !== undefined) {
      const load = Deno.loadavg()[0];
      if (load > maxLoad) return `load ${load.toFixed(2)} above ${maxLoad}`;
    }
    if (minFreeMem !== undefined) {
      const free = Deno.systemMemoryInfo().available;
      if (free < minFreeMem) return `available memory ${free} B below ${minFreeMem} B`;
    }
    return null;
  }

  async #loop(slot: number): Promise<void> {
    while (!this.#stopping && !this.#retired && slot < this.#req.slots) {
      const hold = this.#holdReason();
      if (hold !== null) {
        if (hold !== this.#heldFor && hold !== "cancelled" && hold !== "drained") {
          log(`queue ${this.#req.name}: not taking tasks: ${hold}`);
        }
        this.#heldFor = hold;
        await this.#changed(HOLD_CHECK_MS);
        continue;
      }
      if (this.#heldFor !== null && slot === 0) {
        log(`queue ${this.#req.name}: taking tasks again`);
      }
      this.#heldFor = null;
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
      if (!m) {
        if (await this.#nothingLeft()) this.#retire();
        continue;
      }
      if (this.#stopping || this.#cancelled || this.#drained || this.#retired) {
        // Taken while the pull waited: back to the queue for another host (or the worker that
        // takes this queue again after this one let it go).
        m.nak();
        continue;
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

  /** Nothing runs here, and the stream holds no task (every one acknowledged). */
  async #nothingLeft(): Promise<boolean> {
    if (this.#running.size > 0 || this.#stopping || this.#retired) return false;
    try {
      const info = await this.jsm.streams.info(this.ctx.subjects.queueStream(this.#req.name));
      return info.state.messages === 0 && this.#running.size === 0;
    } catch {
      return false; // the broker away, or the queue gone: the next pull says which
    }
  }

  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#stopWatch();
    this.#notify();
    this.#finished.resolve();
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
    // The attempt number comes from the state, not the delivery count: a task queued again
    // (`retry-failed`) is a new message, and its attempts go on from the last one.
    let proc = "";
    let attempt = 0;
    let busyMs = 0;
    const leaseMs = req.lease * 1000;
    const claimed = await this.#record(task.id, (s) => {
      // Another attempt renewed its lease recently: it is alive, and this delivery comes from a
      // broker that lost track of the first one (a restart). It waits for that lease.
      const age = s.renewed === null ? Infinity : Date.now() - s.renewed;
      if (s.state === "running" && age < leaseMs) {
        busyMs = leaseMs - age;
        return null;
      }
      attempt = s.attempt + 1;
      proc = taskProcId(req.name, task.id, attempt);
      const now = Date.now();
      return {
        ...s,
        state: "running",
        attempt,
        host: this.ctx.host,
        proc,
        started: now,
        renewed: now,
        ended: null,
        code: null,
        signal: null,
        timedOut: false,
      };
    });
    if (busyMs > 0) {
      m.nak(Math.ceil(busyMs));
      return;
    }
    if (!claimed) {
      await m.ackAck().catch(() => {});
      return;
    }
    let lost: "taken" | "over" | null = null;
    const renew = setInterval(async () => {
      m.working();
      if (lost !== null) return;
      // Ended, its result not recorded yet (the broker away): the lease still holds it.
      const ended = !this.#running.has(proc);
      let why: "taken" | "over" | null = null;
      let holder: string | null = null;
      // The renewal is also written in the state, which says whether this attempt still holds
      // the task. Unknown (the broker away) is not lost: only a state that says so is.
      const ok = await this.#record(task.id, (s) => {
        if (s.proc !== proc) {
          why = "taken";
          holder = s.proc;
          return null;
        }
        return { ...s, renewed: Date.now() };
      }, 1).catch(() => true);
      if (!ok && why === null) why = "over";
      if (why === null || lost !== null || ended) return;
      lost = why;
      log(
        `queue ${req.name}: task ${task.id}: ${
          why === "over" ? "over elsewhere" : `attempt ${holder} took it`
        }; killing ${proc}`,
      );
      this.#kill(proc);
    }, Math.max(300, leaseMs / 3));
    try {
      this.#running.add(proc);
      let result: Result;
      try {
        result = await this.#execute(task, proc, req);
      } finally {
        this.#running.delete(proc);
      }
      await this.#finish(m, task, proc, attempt, result, lost);
    } finally {
      clearInterval(renew);
      this.#written.delete(task.id);
    }
  }

  /** Records how the attempt ended and acknowledges the message as that says. */
  async #finish(
    m: JsMsg,
    task: TaskMessage,
    proc: string,
    attempt: number,
    result: Result,
    lost: "taken" | "over" | null,
  ): Promise<void> {
    const req = this.#req;
    if (lost === "taken") return; // The message is the other attempt's now.
    if (lost === "over") {
      await m.ackAck().catch(() => {});
      return;
    }
    if (this.#cancelled) {
      await this.#record(
        task.id,
        (s) => s.proc === proc ? { ...s, ...result, state: "cancelled" } : null,
      );
      m.term();
      return;
    }
    if (this.#stopping) {
      await this.#record(task.id, (s) => s.proc === proc ? { ...s, state: "pending" } : null);
      m.nak();
      return;
    }
    const ok = result.code === 0;
    if (!ok) {
      // The budget counts failures, read from the state: the message's delivery count also
      // counts deliveries after a lost agent or a broker restart, which failed nothing.
      let failures = 0;
      const again = await this.#record(task.id, (s) => {
        failures = s.failures + 1;
        if (failures > req.retries || s.proc !== proc) return null;
        return { ...s, ...result, failures, state: "pending" };
      });
      if (failures <= req.retries) {
        if (again) m.nak(retryDelayMs(req.backoff, failures));
        else await m.ackAck().catch(() => {});
        return;
      }
    }
    await this.#record(task.id, (s) => ({
      ...s,
      ...result,
      state: ok ? "done" : "failed",
      failures: ok ? s.failures : s.failures + 1,
      // What this attempt did, whichever attempt the state last named.
      attempt: Math.max(s.attempt, attempt),
      host: this.ctx.host,
      proc,
    }));
    // Not waited for: an acknowledgement lost on the way brings the message back after the
    // lease, and its state, final by then, has it acknowledged without running it again.
    m.ack();
  }

  /** Runs the task's command to its end; a command that cannot start is exit 127. */
  async #execute(task: TaskMessage, proc: string, req: QueueRequest): Promise<Result> {
    const started = Date.now();
    try {
      const run = await this.ctx.table.run({
        id: proc,
        shell: task.shell,
        live: false,
        ...(req.timeout !== undefined && { timeout: req.timeout }),
        env: { TUTTI_QUEUE: req.name, TUTTI_TASK: task.id },
      });
      // Cancelled while it was being started.
      if (this.#cancelled) this.#kill(proc);
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
        error: undefined,
      };
    } catch (e) {
      log(`queue ${req.name}: task ${task.id}: ${(e as Error).message}`);
      const error: WireError = e instanceof TuttiError
        ? { code: e.code, message: e.message }
        : { code: "ESPAWN", message: (e as Error).message };
      return { code: 127, signal: null, timedOut: false, started, ended: Date.now(), error };
    }
  }

  /**
   * Applies `change` to the task's state unless it is final (or `change`
   * says null), with a revision check: a concurrent writer makes it read
   * again. False when nothing was written. A failure to reach the bucket
   * (the broker restarting) is tried again for a while: a result not
   * recorded would make the task run again.
   */
  async #record(
    id: string,
    change: (s: TaskState) => TaskState | null,
    maxTries = RECORD_TRIES,
  ): Promise<boolean> {
    const key = `task.${id}`;
    // What this agent last wrote of a task it holds: written over directly with its revision,
    // without reading it first. Anyone else's write in between fails the revision check, and
    // the state is then read afresh.
    const known = this.#written.get(id);
    if (known) {
      const next = isFinal(known.state.state) ? null : change(known.state);
      if (next) {
        try {
          const revision = await this.kv.update(key, JSON.stringify(next), known.revision);
          this.#written.set(id, { state: next, revision });
          return true;
        } catch {
          // Written by another since, or the broker away: the loop below reads and decides.
        }
      }
      this.#written.delete(id);
    }
    for (let tries = 1;; tries++) {
      try {
        const e = await this.kv.get(key);
        if (!e || e.operation !== "PUT") return false;
        const s = parseTaskState(e.json());
        if (isFinal(s.state)) return false;
        const next = change(s);
        if (!next) return false;
        const revision = await this.kv.update(key, JSON.stringify(next), e.revision);
        this.#written.set(id, { state: next, revision });
        return true;
      } catch (err) {
        if (/wrong last sequence/i.test((err as Error).message)) continue;
        if (tries >= maxTries || this.#stopping) throw err;
        await new Promise((r) => setTimeout(r, RECORD_RETRY_MS));
      }
    }
  }
}
