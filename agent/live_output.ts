/**
 * Live output with flow control.
 *
 * `LiveBudget` is connection-wide: it counts the output bytes published but
 * not yet known to be processed by the server, measured with `flush()` round
 * trips (a flush resolves once the server has handled everything published
 * before it). Past `window` bytes in flight, or while disconnected, output is
 * held: it waits in the spool, where the keeper keeps writing it, and the
 * readers of the spool stop reading. Once half of the window has drained (so
 * that a congested link does not flap chunk by chunk) or the link is back,
 * the budget tells its `onDrain` listeners, and they read on from where they
 * stopped: the agent replays what it held back itself, in order, and the
 * controller gets every byte live, with no hole to ask for.
 *
 * `LiveStream` is one stream of one process: it gathers chunks into
 * messages and publishes them. It announces a `dropped` range only when it
 * gives up on part of the stream: chunks gathered when the link went down,
 * or output still held back when a process's exit could wait no longer.
 */
import { Buffer } from "node:buffer";
import type { DroppedEvent, StreamName } from "../protocol/messages.ts";
import { ChunkPool } from "./chunk_pool.ts";
import type { Connection } from "./connection.ts";
import type { ProcEvents } from "./proc_events.ts";

type Reason = DroppedEvent["reason"];

export class LiveBudget {
  private published = 0;
  private acked = 0;
  private flushing = false;
  private congested = false;
  /** Bumped on every disconnect: answers to flushes of an older link are ignored. */
  private epoch = 0;
  private readonly drainListeners = new Set<() => void>();
  /** Read chunks of fast output, back once acknowledged: what the window holds, and a few more. */
  readonly pool: ChunkPool;

  constructor(private readonly conn: Connection, readonly window: number) {
    this.pool = new ChunkPool(Math.ceil(window / LIVE_CHUNK_MAX) + POOL_SPARE);
    conn.onLink(() => {
      this.reset();
      // After the other listeners: the agent's `hello` goes out before any replayed output,
      // so whoever saw the hello gets the replay.
      queueMicrotask(() => this.drained());
    });
  }

  /** `fn` each time held output may flow again (the window drained, the link came back). */
  onDrain(fn: () => void): () => void {
    this.drainListeners.add(fn);
    return () => this.drainListeners.delete(fn);
  }

  private drained(): void {
    if (this.blocked() !== null) return;
    for (const fn of [...this.drainListeners]) fn();
  }

  get linkUp(): boolean {
    return this.conn.connected;
  }

  /** Why output cannot go live right now, or null when it can. */
  blocked(): Reason | null {
    if (!this.conn.connected) return "disconnected";
    const inFlight = this.published - this.acked;
    if (this.congested) {
      if (inFlight > this.window / 2) return "backpressure";
      this.congested = false;
    } else if (inFlight >= this.window) {
      this.congested = true;
      return "backpressure";
    }
    return null;
  }

  /** The largest live message: LIVE_CHUNK_MAX, less when the server's max_payload is smaller. */
  maxChunk(): number {
    return Math.max(1024, Math.min(LIVE_CHUNK_MAX, this.conn.maxPayload - 4096));
  }

  /** `bytes` were published; `chunk`, from the pool, held them and returns after their ack. */
  sent(bytes: number, chunk?: Uint8Array): void {
    this.published += bytes;
    if (chunk) this.pool.lend(chunk, this.published);
    if (!this.flushing && this.published - this.acked >= this.window / 4) this.flush();
  }

  private flush(): void {
    this.flushing = true;
    const mark = this.published;
    const epoch = this.epoch;
    this.conn.nc.flush().then(
      () => {
        if (epoch !== this.epoch) return;
        this.acked = Math.max(this.acked, mark);
        this.pool.acked(this.acked);
        this.flushing = false;
        if (this.published - this.acked >= this.window / 4) this.flush();
        this.drained();
      },
      () => {
        // The link went down: reset() has already started a new accounting.
        if (epoch === this.epoch) this.flushing = false;
      },
    );
  }

  /** A new link starts empty: whatever was in flight on the old one is gone. */
  private reset(): void {
    this.epoch++;
    this.pool.forget();
    this.published = 0;
    this.acked = 0;
    this.flushing = false;
    this.congested = false;
  }
}

/** Live output is gathered into messages of up to this many bytes (or the server's limit). */
export const LIVE_CHUNK_MAX = 256 * 1024;
/** How long gathered output may wait for more before it is published. */
export const LIVE_LINGER_MS = 2;
/** Free read chunks kept beyond a window's worth while streaming, and all that stay after. */
const POOL_SPARE = 4;

export class LiveStream {
  private skipFrom = 0;
  private skipped = 0;
  private reason: Reason = "backpressure";
  /** Output read but not yet published: `gathered` from `gatherFrom` on. */
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  private gatherFrom = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The pooled chunk handed to the reader by readBuffer, until its bytes come back in chunk(). */
  private pooled: Uint8Array | null = null;

  constructor(
    private readonly budget: LiveBudget,
    private readonly events: ProcEvents,
    private readonly stream: StreamName,
  ) {}

  /**
   * One chunk that starts at `offset` in the stream (already in the spool).
   * A pipe gives at most 64 KiB per read: chunks that follow each other
   * within LIVE_LINGER_MS are published as one message, which saves the
   * agent, the server and every subscriber most of their per-message work
   * when a process writes fast, and delays a lone line by at most that.
   */
  chunk(offset: number, data: Uint8Array): void {
    this.announceDropped();
    const pooled = this.pooled;
    if (pooled !== null && data.buffer === pooled.buffer) {
      this.pooled = null;
      this.publishGathered(); // smaller reads before it come first
      this.publishPooled(offset, data, pooled);
      return;
    }
    if (this.gatheredBytes === 0) this.gatherFrom = offset;
    this.gathered.push(data);
    this.gatheredBytes += data.length;
    if (this.gatheredBytes >= this.budget.maxChunk()) this.publishGathered();
    else this.timer ??= setTimeout(() => this.publishGathered(), LIVE_LINGER_MS);
  }

  /**
   * Where the reader puts its next `want` bytes: a chunk of the budget's pool
   * when they make at least half a message (a process writing fast: the chunk
   * is published as soon as it is read), else undefined, a new array of their
   * size (slow output is gathered for the linger, and a pooled chunk held by
   * each of many quiet processes would cost more than the arrays it saves).
   */
  readBuffer(want: number): Uint8Array | undefined {
    const max = this.budget.maxChunk();
    if (want < max / 2) return undefined;
    this.pooled = this.budget.pool.take(max);
    return this.pooled.subarray(0, Math.min(want, max));
  }

  /**
   * Whether output must wait now (the budget is spent or the link is down):
   * the reader stops reading the spool until the budget's next `onDrain`.
   * What was gathered goes out first: it was admitted.
   */
  held(): boolean {
    if (this.budget.blocked() === null) return false;
    this.publishGathered();
    return true;
  }

  /**
   * Gives up on `[offset, offset + bytes)` live (it stays in the spool):
   * announced with a `dropped` event before anything else of the stream.
   */
  skip(offset: number, bytes: number): void {
    if (bytes <= 0) return;
    this.publishGathered();
    if (this.skipped === 0) {
      this.skipFrom = offset;
      this.reason = this.budget.blocked() ?? "backpressure";
    }
    this.skipped += bytes;
  }

  /** Everything still held, then the pending `dropped` range: before `exit`. */
  finish(): void {
    this.publishGathered();
    this.announceDropped();
    this.budget.pool.trim(POOL_SPARE);
  }

  private publishGathered(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gatheredBytes === 0) return;
    if (!this.budget.linkUp) {
      // The link went down while this waited: it is skipped like what follows (nothing is
      // skipped before it, as a skipped range is announced before anything is gathered).
      this.skipFrom = this.gatherFrom;
      this.skipped = this.gatheredBytes;
      this.reason = "disconnected";
      this.gathered = [];
      this.gatheredBytes = 0;
      return;
    }
    const max = this.budget.maxChunk();
    const all = this.gathered.length === 1
      ? this.gathered[0]
      : Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    // Several reads may overshoot the limit: split at it.
    for (let at = 0; at < all.length; at += max) {
      const part = all.subarray(at, Math.min(all.length, at + max));
      this.events.output(this.stream, this.gatherFrom + at, part);
      this.budget.sent(part.length);
    }
    this.gatheredBytes = 0;
  }

  /** One read of at most a message, in `chunk` from the pool: published as it is. */
  private publishPooled(offset: number, data: Uint8Array, chunk: Uint8Array): void {
    if (!this.budget.linkUp) {
      // Skipped as any range given up on (its reason: the link is down), after whatever
      // publishGathered skipped, which it continues.
      this.skip(offset, data.length);
      this.budget.pool.giveBack(chunk);
      return;
    }
    this.events.output(this.stream, offset, data);
    this.budget.sent(data.length, chunk);
  }

  /** Publishes the pending `dropped` range, if any. */
  private announceDropped(): void {
    if (this.skipped === 0) return;
    this.events.dropped({
      stream: this.stream,
      offset: this.skipFrom,
      bytes: this.skipped,
      reason: this.reason,
    });
    this.skipped = 0;
  }
}
