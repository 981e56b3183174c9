/**
 * Best-effort live output with flow control.
 *
 * `LiveBudget` is connection-wide: it counts the output bytes published but
 * not yet known to be processed by the server, measured with `flush()` round
 * trips (a flush resolves once the server has handled everything published
 * before it). Past `window` bytes in flight, or while disconnected, output is
 * not published live; it is still in the spool. Publishing resumes once half
 * of the window has drained, so a congested link does not flap chunk by chunk.
 *
 * `LiveStream` is one stream of one process: it publishes chunks when the
 * budget allows, remembers the range it had to skip, and announces that range
 * with a `dropped` event before the next chunk it publishes (or before `exit`).
 */
import type { DroppedEvent, StreamName } from "../protocol/messages.ts";
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

  constructor(private readonly conn: Connection, readonly window: number) {
    conn.onLink(() => this.reset());
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

  sent(bytes: number): void {
    this.published += bytes;
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
        this.flushing = false;
        if (this.published - this.acked >= this.window / 4) this.flush();
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
    this.published = 0;
    this.acked = 0;
    this.flushing = false;
    this.congested = false;
  }
}

export class LiveStream {
  private skipFrom = 0;
  private skipped = 0;
  private reason: Reason = "backpressure";

  constructor(
    private readonly budget: LiveBudget,
    private readonly events: ProcEvents,
    private readonly stream: StreamName,
  ) {}

  /** One chunk that starts at `offset` in the stream (already in the spool). */
  chunk(offset: number, data: Uint8Array): void {
    const blocked = this.budget.blocked();
    if (blocked !== null) {
      if (this.skipped === 0) {
        this.skipFrom = offset;
        this.reason = blocked;
      }
      this.skipped += data.length;
      return;
    }
    this.announceDropped();
    this.events.output(this.stream, offset, data);
    this.budget.sent(data.length);
  }

  /** Publishes the pending `dropped` range, if any. */
  announceDropped(): void {
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
