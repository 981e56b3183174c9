/**
 * Read buffers for fast live output, used again instead of left to V8.
 *
 * A process that writes fast has its spool read in chunks of a live message's
 * size, each published at once. Each chunk used to be a new array: garbage
 * that V8 counts as external memory and collects only once some 64 MiB of it
 * has piled up, which was most of an agent's memory while it streamed. A
 * chunk from this pool goes back to it once the server has acknowledged the
 * bytes published with it (the budget's flush round trip): by then the NATS
 * client has copied it into its outgoing buffer, so nothing reads it any more.
 * What was lent on a link that went down is forgotten, not reused: the client
 * may still hold it for the next link.
 */
export class ChunkPool {
  private free: Uint8Array[] = [];
  /** Lent chunks, oldest first, each with the published-byte mark it is free after. */
  private lent: { mark: number; chunk: Uint8Array }[] = [];

  /** `keep`: how many free chunks are kept at most (a window's worth circulates while streaming). */
  constructor(private readonly keep: number) {}

  /** A chunk of `size` bytes: a free one when there is one of that size. */
  take(size: number): Uint8Array {
    for (;;) {
      const chunk = this.free.pop();
      if (chunk === undefined) return new Uint8Array(size);
      if (chunk.length === size) return chunk;
      // The server's max_payload changed since: a chunk of the old size is dropped.
    }
  }

  /** `chunk` was published; its bytes end at `mark` in the budget's count. */
  lend(chunk: Uint8Array, mark: number): void {
    this.lent.push({ mark, chunk });
  }

  /** Given back unpublished (the link went down before it could go). */
  giveBack(chunk: Uint8Array): void {
    if (this.free.length < this.keep) this.free.push(chunk);
  }

  /** The server has acknowledged everything published up to `mark`. */
  acked(mark: number): void {
    let n = 0;
    while (n < this.lent.length && this.lent[n].mark <= mark) {
      this.giveBack(this.lent[n].chunk);
      n++;
    }
    if (n > 0) this.lent.splice(0, n);
  }

  /** A stream ended: no more than `n` free chunks are kept for the next one. */
  trim(n: number): void {
    if (this.free.length > n) this.free.length = n;
  }

  /** The link went down: what it carried may still sit in the client's buffer. */
  forget(): void {
    this.lent = [];
  }

  /** Chunks lent and not yet acknowledged (for tests). */
  get lentCount(): number {
    return this.lent.length;
  }
}
