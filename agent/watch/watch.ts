/**
 * A watch waits for one condition on this node and ends exactly once: `met`,
 * `timeout`, `failed` (the condition can no longer hold, or could not be
 * watched) or `cancelled`. Whatever it holds while waiting (an inotify
 * watcher, a timer, a probe process) is released before its outcome is
 * delivered, so a caller that awaited `start()` or `cancel()` knows nothing is
 * left behind.
 */
import { setLongTimeout } from "../../protocol/runtime/timers.ts";
import type { WatchCondition, WatchResult, WatchStatus } from "../../protocol/watch_messages.ts";

export interface Watch {
  readonly condition: WatchCondition;
  /** ms */
  readonly timeoutMs: number;
  /**
   * Starts waiting (on the first call) and answers the outcome; later calls
   * answer the same promise. Throws when the watch cannot be set up (a kernel
   * limit): then it never started.
   */
  start(): Promise<WatchResult>;
  /** Ends the watch as `cancelled` unless it is already over; resolves once everything is released. */
  cancel(): Promise<void>;
}

/** A line of a matched `output` watch is cut to this many characters. */
export const MAX_LINE_CHARS = 4096;

/**
 * The life cycle shared by every kind of watch: the timeout, the single
 * outcome, and releasing resources before the outcome is delivered. A kind
 * implements `run` (start waiting, then call `finish`) and registers each
 * resource it takes with `hold`.
 */
export abstract class BaseWatch implements Watch {
  private outcome: Promise<WatchResult> | null = null;
  private deliver: (r: WatchResult) => void = () => {};
  private over = false;
  private running: Promise<void> = Promise.resolve();
  private cancelTimeout = () => {};
  private t0 = 0;
  private readonly holds: (() => void | Promise<void>)[] = [];

  constructor(readonly condition: WatchCondition, readonly timeoutMs: number) {}

  start(): Promise<WatchResult> {
    if (this.outcome) return this.outcome;
    // Throws before anything else: the watch did not start and holds nothing.
    if (!this.over) this.prepare();
    this.outcome = new Promise((resolve) => this.deliver = resolve);
    this.t0 = performance.now();
    if (this.over) {
      // Cancelled before it started: nothing was taken.
      this.deliver(this.result("cancelled", "cancelled before it started"));
      return this.outcome;
    }
    this.cancelTimeout = setLongTimeout(
      () => this.finish("timeout", this.timeoutDetail()),
      this.timeoutMs,
    );
    this.running = (async () => {
      try {
        await this.run();
      } catch (e) {
        this.finish("failed", e instanceof Error ? e.message : String(e));
      }
    })();
    return this.outcome;
  }

  async cancel(): Promise<void> {
    if (this.outcome === null) {
      this.over = true;
      return;
    }
    this.finish("cancelled", "cancelled");
    await this.outcome;
  }

  /** True once the outcome is decided; `run` checks it after every await. */
  protected get done(): boolean {
    return this.over;
  }

  /**
   * Takes, synchronously, what must be held before the request is answered;
   * throwing refuses the watch (the request's reply is the error) and must
   * leave nothing held.
   */
  protected prepare(): void {}

  /** Begin waiting; call `finish` when the outcome is known. Throwing ends the watch as `failed`. */
  protected abstract run(): void | Promise<void>;

  /** What the `timeout` outcome says: what was last seen. */
  protected abstract timeoutDetail(): string;

  /**
   * Registers the release of a resource, run when the watch ends (at once if
   * it already has). Returns a function that releases it earlier.
   */
  protected hold(release: () => void | Promise<void>): () => Promise<void> {
    let done = false;
    const once = async () => {
      if (done) return;
      done = true;
      const i = this.holds.indexOf(once);
      if (i >= 0) this.holds.splice(i, 1);
      try {
        await release();
      } catch {
        // A resource that is already gone is released.
      }
    };
    if (this.over) {
      void once();
    } else {
      this.holds.push(once);
    }
    return once;
  }

  /** Waits `ms`, or less when the watch ends meanwhile. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let cancel = () => {};
      const wake = this.hold(() => {
        cancel();
        resolve();
      });
      if (!this.over) cancel = setLongTimeout(() => void wake(), ms);
    });
  }

  /** Decides the outcome (the first call wins), releases everything, then delivers it. */
  protected finish(status: WatchStatus, detail: string, line?: string): void {
    if (this.over) return;
    this.over = true;
    this.cancelTimeout();
    const r = this.result(status, detail, line);
    const holds = this.holds.splice(0).reverse();
    const released = (async () => {
      // Let `start` record `running` first when `run` finished synchronously.
      await Promise.resolve();
      for (const release of holds) await release();
      // `run` notices `done` and returns; its end is part of "nothing left behind".
      await this.running;
    })();
    released.then(() => this.deliver(r));
  }

  private result(status: WatchStatus, detail: string, line?: string): WatchResult {
    const r: WatchResult = {
      status,
      at: Date.now(),
      elapsed: Math.round(performance.now() - this.t0),
      detail,
    };
    if (line !== undefined) {
      r.line = line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line;
    }
    return r;
  }
}

/** `5000` → `5s`, `250` → `250ms`: durations in details. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${Math.round(ms / 100) / 10}s`;
}
