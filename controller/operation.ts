/**
 * Every controller operation is an `Operation`: an async iterable of its
 * events (read it once, with `for await`) and a `done` promise with its
 * result. Events are queued until read, so a caller may start iterating
 * whenever it likes and loses nothing; a caller that only wants the result
 * awaits `done`.
 *
 * Once a reader iterates, the queue is its pace: `backlog` is the size of
 * what it has not read yet (an operation says what an event weighs, e.g. a
 * run its output bytes), so that a producer can hold back while the reader
 * lags (a run then leaves output in the agents' spools, see
 * output_flow.ts). Before anyone iterates there is no pace to keep, and
 * after a reader has left (`break`), nobody can read any more: events are
 * dropped and the backlog is 0.
 */
export interface Operation<E, R> extends AsyncIterable<E> {
  readonly done: Promise<R>;
}

/** The producing side: `push` events, then `end` with the result or `fail`. */
export class Channel<E, R> implements Operation<E, R> {
  readonly done: Promise<R>;
  readonly #done: PromiseWithResolvers<R>;
  #queue: E[] = [];
  /** The events taken from the queue by the reader, `#at` the next one it gets. */
  #batch: E[] = [];
  #at = 0;
  /** What the events not yet read weigh (`sizeOf`), the one the reader holds included. */
  #weight = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #error: unknown;
  #iterated = false;
  #left = false;

  constructor() {
    this.#done = Promise.withResolvers<R>();
    this.done = this.#done.promise;
    // A caller that only iterates must not see an unhandled rejection on `done`.
    this.done.catch(() => {});
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Events pushed and not yet handed to the reader. */
  get queued(): number {
    return this.#queue.length + this.#batch.length - this.#at;
  }

  /** What the reader has still to read, while one reads (see above); else 0. */
  get backlog(): number {
    return this.#iterated && !this.#left ? this.#weight : 0;
  }

  /** What an event weighs in the backlog (0 by default: only the count matters). */
  protected sizeOf(_e: E): number {
    return 0;
  }

  /** The reader has read events weighing `weight` (more than 0). */
  protected consumed(_weight: number): void {}

  push(e: E): void {
    if (this.#ended || this.#left) return;
    this.#queue.push(e);
    this.#weight += this.sizeOf(e);
    this.#notify();
  }

  end(result: R): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#done.resolve(result);
    this.#notify();
  }

  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error ?? new Error("operation failed");
    this.#done.reject(this.#error);
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<E> {
    if (this.#iterated) throw new Error("an operation's events can be read only once");
    this.#iterated = true;
    try {
      for (;;) {
        while (this.#queue.length > 0) {
          // Take the whole batch: shift() on a long queue is quadratic.
          this.#batch = this.#queue;
          this.#queue = [];
          for (this.#at = 0; this.#at < this.#batch.length;) {
            const e = this.#batch[this.#at++];
            yield e;
            // The reader asks for the next one: it is done with this one.
            const weight = this.sizeOf(e);
            if (weight > 0) {
              this.#weight -= weight;
              this.consumed(weight);
            }
          }
          this.#batch = [];
          this.#at = 0;
        }
        if (this.#ended) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    } finally {
      // Read to the end, or left early: either way nobody reads any more.
      this.#left = true;
      this.#queue = [];
      this.#batch = [];
      this.#at = 0;
      const weight = this.#weight;
      this.#weight = 0;
      if (weight > 0) this.consumed(weight);
    }
  }
}
