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
 *
 * The run's `OutputFlow` bounds what the stream holds: a live chunk it may
 * not take now (the reader lags, or too much is held past holes) is not
 * kept but counted as known, so it is fetched from the spool like a dropped
 * range, once spool reads may start again.
 */
import { TuttiError, type WireError } from "../protocol/errors.ts";
import { LOGS_CHUNK_MAX, type StreamName } from "../protocol/messages.ts";
import { OutputFlow } from "./output_flow.ts";

export interface StreamSink {
  /** `recovered`: the bytes were fetched from the spool, not received live. */
  data(offset: number, data: Uint8Array, recovered: boolean): void;
  missing(offset: number, bytes: number, error: WireError): void;
}

/** Reads `[offset, offset + limit)` of the stream from the spool; may return less. */
export type SpoolReader = (offset: number, limit: number) => Promise<Uint8Array>;

/** Reads of one hole in flight at once. */
export const FETCH_AHEAD = 4;

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
  /** How much one read asks for: LOGS_CHUNK_MAX, or what the agent answers when less. */
  #readSize = LOGS_CHUNK_MAX;
  readonly #waiters: (() => void)[] = [];

  constructor(
    readonly stream: StreamName,
    private readonly sink: StreamSink,
    private readonly read: SpoolReader,
    private readonly flow: OutputFlow = new OutputFlow(),
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
    const end = offset + data.length;
    if (data.length === 0 || end <= this.#next) return;
    this.#known = Math.max(this.#known, end);
    const ahead = offset > this.#next;
    if (!this.flow.takeLive(data.length, ahead)) {
      // Not kept: from the spool later, once there is room.
      this.#fill();
    } else if (ahead) {
      this.#hold({ offset, data: own(data) });
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
    this.flow.hold(h.data.length);
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
      this.flow.release(h.data.length);
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

  /**
   * Fetches holes until delivery has caught up with what is known: up to
   * FETCH_AHEAD consecutive reads of one hole at once, delivered in order, so
   * that a long hole costs a round trip per FETCH_AHEAD reads rather than per
   * read (a skipped gigabyte is two thousand reads).
   */
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
        const reads: Read[] = [];
        try {
          for (let at = this.#next; at < end && reads.length < FETCH_AHEAD; at += this.#readSize) {
            const want = Math.min(end - at, this.#readSize);
            if (!this.flow.tryRead(want)) {
              // Waiting for room while holding reads would let every stream wait for the others.
              if (reads.length > 0) break;
              await this.flow.startRead(want);
            }
            // Live chunks may have covered it while the read waited for room.
            if (at + want <= this.#next) {
              this.flow.endRead(want);
              continue;
            }
            reads.push({ at, want, got: this.read(at, want).catch(wireErrorOf), done: false });
          }
          await this.#deliver(reads, end);
        } finally {
          // A read counts until its bytes are delivered or dropped; those not awaited (an
          // early return) count until they settle.
          for (const r of reads) if (!r.done) r.got.then(() => this.#ended(r));
        }
      }
    } finally {
      this.#filling = false;
      this.#wake();
    }
  }

  #ended(read: Read): void {
    if (read.done) return;
    read.done = true;
    this.flow.endRead(read.want);
  }

  /** The answers of one round of reads of the hole that ends at `end`, in order. */
  async #deliver(reads: Read[], end: number): Promise<void> {
    for (const read of reads) {
      const { at, want } = read;
      const r = await read.got;
      this.#ended(read);
      // Live chunks may have filled the range meanwhile, or an earlier read came back
      // short, leaving a gap before this one: the next turn of the loop starts over.
      if (this.#next < at) return;
      if (this.#next >= at + want) continue;
      if (!(r instanceof Uint8Array)) {
        // The agent could not be asked (gone, or the process expired): the rest of the hole
        // is missing, reported once, rather than asked for again piece by piece.
        if (this.#next === at) this.#skip(end - at, r);
        continue;
      }
      if (r.length === 0) {
        if (this.#next === at) {
          this.#skip(want, {
            code: "EIO",
            message: `${this.stream} bytes ${at}-${at + want} are not in the agent's spool`,
          });
        }
        continue;
      }
      // An agent whose server allows smaller messages answers less: ask for that much.
      if (r.length < want && at + r.length < this.#known) this.#readSize = r.length;
      this.#accept(at, r, true);
    }
  }
}

interface Read {
  at: number;
  want: number;
  got: Promise<Uint8Array | WireError>;
  /** Its room in the flow was given back. */
  done: boolean;
}

/** The chunk itself, or a copy when it is a view of a larger buffer (which it would keep). */
function own(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
}

function wireErrorOf(e: unknown): WireError {
  return e instanceof TuttiError ? e.toWire() : { code: "EINTERNAL", message: String(e) };
}
