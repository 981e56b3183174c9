/**
 * The shell's input as a queue of byte chunks, filled by one reader of
 * stdin and read by whoever has the keyboard at the moment: the line
 * editor, the Ctrl-C watch of a running command, an attached process. A
 * reader can give back what it did not use (`unread`), and a waiting read
 * can be cancelled without losing the chunk that comes next.
 */
export class InputQueue {
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #waiter: ((chunk: Uint8Array | null) => void) | undefined;

  push(chunk: Uint8Array): void {
    if (this.#ended || chunk.length === 0) return;
    const wake = this.#waiter;
    this.#waiter = undefined;
    if (wake) wake(chunk);
    else this.#chunks.push(chunk);
  }

  /** The end of input (stdin closed). */
  end(): void {
    this.#ended = true;
    const wake = this.#waiter;
    this.#waiter = undefined;
    wake?.(null);
  }

  get ended(): boolean {
    return this.#ended && this.#chunks.length === 0;
  }

  /** Puts bytes back at the front: the next read returns them. */
  unread(chunk: Uint8Array): void {
    if (chunk.length > 0) this.#chunks.unshift(chunk);
  }

  /**
   * The next chunk, or null at the end of input. With `signal`: resolves
   * `undefined` once it is aborted (nothing is taken from the queue then).
   */
  next(signal?: AbortSignal): Promise<Uint8Array | null | undefined> {
    const ready = this.#chunks.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#ended) return Promise.resolve(null);
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.#waiter) throw new Error("two readers of the shell's input at once");
    return new Promise((resolve) => {
      const onAbort = () => {
        if (this.#waiter !== wake) return;
        this.#waiter = undefined;
        resolve(undefined);
      };
      const wake = (chunk: Uint8Array | null) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(chunk);
      };
      this.#waiter = wake;
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
