/**
 * Every controller operation is an `Operation`: an async iterable of its
 * events (read it once, with `for await`) and a `done` promise with its
 * result. Events are queued until read, so a caller may start iterating
 * whenever it likes and loses nothing; a caller that only wants the result
 * awaits `done`.
 */
export interface Operation<E, R> extends AsyncIterable<E> {
  readonly done: Promise<R>;
}

/** The producing side: `push` events, then `end` with the result or `fail`. */
export class Channel<E, R> implements Operation<E, R> {
  readonly done: Promise<R>;
  readonly #done: PromiseWithResolvers<R>;
  readonly #queue: E[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #error: unknown;
  #iterated = false;

  constructor() {
    this.#done = Promise.withResolvers<R>();
    this.done = this.#done.promise;
    // A caller that only iterates must not see an unhandled rejection on `done`.
    this.done.catch(() => {});
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(e: E): void {
    if (this.#ended) return;
    this.#queue.push(e);
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
    for (;;) {
      while (this.#queue.length > 0) {
        // Take the whole batch: shift() on a long queue is quadratic.
        const batch = this.#queue.splice(0);
        for (const e of batch) yield e;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error;
        return;
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
