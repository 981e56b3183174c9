/**
 * One output stream of one process on one host, delivered in order and
 * without holes.
 *
 * Live chunks carry their offset. A chunk past the next expected byte means
 * something was missed (a `dropped` range, or a message the broker lost):
 * later chunks are held back while the missing range is fetched from the
 * agent's spool with `logs`, then everything continues in order. The `exit`
 * event's byte counts close the stream (`finish`): whatever did not arrive
 * live is fetched too. A range that cannot be fetched is reported as
 * missing, never skipped in silence.
 */
import { TuttiError, type WireError } from "../protocol/errors.ts";
import { LOGS_CHUNK_MAX, type StreamName } from "../protocol/messages.ts";

export interface StreamSink {
  /** `recovered`: the bytes were fetched from the spool, not received live. */
  data(offset: number, data: Uint8Array, recovered: boolean): void;
  missing(offset: number, bytes: number, error: WireError): void;
}

/** Reads `[offset, offset + limit)` of the stream from the spool; may return less. */
export type SpoolReader = (offset: number, limit: number) => Promise<Uint8Array>;

interface Held {
  offset: number;
  data: Uint8Array;
}

export class OutputStream {
  /** Bytes delivered, in order: the offset of the next one. */
  #next = 0;
  /** Bytes known to exist: the end of the furthest chunk, dropped range or final count. */
  #known = 0;
  #final: number | undefined;
  /** Chunks past a hole, in offset order. */
  readonly #held: Held[] = [];
  #filling = false;
  readonly #waiters: (() => void)[] = [];

  constructor(
    readonly stream: StreamName,
    private readonly sink: StreamSink,
    private readonly read: SpoolReader,
  ) {}

  get delivered(): number {
    return this.#next;
  }

  /** True once the final size is known and every byte up to it was delivered or reported. */
  get complete(): boolean {
    return this.#final !== undefined && this.#next >= this.#final;
  }

  /** A live chunk. */
  chunk(offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.#known = Math.max(this.#known, offset + data.length);
    if (offset > this.#next) {
      this.#hold({ offset, data });
      this.#fill();
    } else {
      this.#accept(offset, data);
    }
  }

  /** The agent skipped `[offset, offset + bytes)` live: fetch it. */
  dropped(offset: number, bytes: number): void {
    this.#known = Math.max(this.#known, offset + bytes);
    this.#fill();
  }

  /** The stream's final size (from `exit` or `ps`); resolves once all of it is delivered. */
  finish(size: number): Promise<void> {
    this.#final = size;
    this.#known = Math.max(this.#known, size);
    this.#fill();
    return this.#settled();
  }

  #settled(): Promise<void> {
    if (this.complete) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #hold(h: Held): void {
    let i = this.#held.length;
    while (i > 0 && this.#held[i - 1].offset > h.offset) i--;
    this.#held.splice(i, 0, h);
  }

  /** Delivers what of `[offset, …)` is new, then any held chunks that now follow on. */
  #accept(offset: number, data: Uint8Array, recovered = false): void {
    const skip = this.#next - offset;
    if (skip < data.length) {
      const fresh = skip > 0 ? data.subarray(skip) : data;
      this.sink.data(this.#next, fresh, recovered);
      this.#next += fresh.length;
    }
    while (this.#held.length > 0 && this.#held[0].offset <= this.#next) {
      const h = this.#held.shift()!;
      const s = this.#next - h.offset;
      if (s < h.data.length) {
        const fresh = s > 0 ? h.data.subarray(s) : h.data;
        this.sink.data(this.#next, fresh, false);
        this.#next += fresh.length;
      }
    }
    this.#wake();
  }

  #skip(bytes: number, error: WireError): void {
    this.sink.missing(this.#next, bytes, error);
    this.#next += bytes;
    this.#accept(this.#next, new Uint8Array(0));
  }

  #wake(): void {
    if (!this.complete) return;
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Fetches holes one at a time until delivery has caught up with what is known. */
  async #fill(): Promise<void> {
    if (this.#filling) return;
    this.#filling = true;
    try {
      while (this.#next < this.#known) {
        const end = this.#held.length > 0 ? this.#held[0].offset : this.#known;
        if (end <= this.#next) {
          this.#accept(this.#next, new Uint8Array(0));
          continue;
        }
        const from = this.#next;
        const want = Math.min(end - from, LOGS_CHUNK_MAX);
        let data: Uint8Array;
        try {
          data = await this.read(from, want);
        } catch (e) {
          const error = e instanceof TuttiError
            ? e.toWire()
            : { code: "EINTERNAL" as const, message: String(e) };
          // Live chunks may have filled part of the hole meanwhile.
          if (this.#next === from) this.#skip(end - from, error);
          continue;
        }
        if (data.length === 0) {
          if (this.#next === from) {
            this.#skip(end - from, {
              code: "EIO",
              message: `${this.stream} bytes ${from}-${end} are not in the agent's spool`,
            });
          }
          continue;
        }
        this.#accept(from, data, true);
      }
    } finally {
      this.#filling = false;
      this.#wake();
    }
  }
}
