/**
 * Length-prefixed CBOR frames over the keeper's unix socket. Messages sent in
 * one turn of the event loop leave in one write; a write that is still in
 * progress queues the next ones behind it, so frames never interleave.
 */
import { decode, encode } from "../../protocol/codec.ts";
import { concatBytes } from "../../protocol/runtime/bytes.ts";

/** No frame between agent and keeper comes near this: a larger length means a broken stream. */
const FRAME_MAX = 64 * 1024 * 1024;

export class FrameConn<In, Out> {
  private queued: Uint8Array[] = [];
  /** Messages of which only the latest counts, by key; sent after the queued ones. */
  private latest = new Map<string, Out>();
  private writing = false;
  private closed = false;

  constructor(private readonly conn: Deno.Conn) {}

  send(msg: Out): void {
    if (this.closed) return;
    this.queued.push(...frame(msg));
    this.wake();
  }

  /** Sends `msg` unless a later one with the same key replaces it before it leaves. */
  sendLatest(key: string, msg: Out): void {
    if (this.closed) return;
    this.latest.set(key, msg);
    this.wake();
  }

  private wake(): void {
    if (!this.writing) {
      this.writing = true;
      queueMicrotask(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while ((this.queued.length > 0 || this.latest.size > 0) && !this.closed) {
        for (const msg of this.latest.values()) this.queued.push(...frame(msg));
        this.latest.clear();
        const data = concatBytes(this.queued);
        this.queued = [];
        let done = 0;
        while (done < data.length) done += await this.conn.write(data.subarray(done));
      }
    } catch {
      // The peer went away: the read side sees it and ends the conversation.
      this.close();
    } finally {
      this.writing = false;
    }
  }

  /** Every frame until the peer closes; a malformed frame ends the stream with an error. */
  async *frames(): AsyncGenerator<In> {
    let buf: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    for (;;) {
      while (buf.length >= 4) {
        const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
        if (len > FRAME_MAX) throw new Error(`frame of ${len} bytes: not a keeper stream`);
        if (buf.length < 4 + len) break;
        const msg = decode(buf.subarray(4, 4 + len)) as In;
        buf = buf.subarray(4 + len);
        yield msg;
      }
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) return;
      buf = buf.length === 0 ? chunk.slice(0, n) : concatBytes([buf, chunk.subarray(0, n)]);
    }
  }

  /** Closes once what was sent has been written. */
  async end(): Promise<void> {
    while (this.writing) await new Promise((r) => setTimeout(r, 1));
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

function frame(msg: unknown): [Uint8Array, Uint8Array] {
  const body = encode(msg);
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, body.length);
  return [head, body];
}
