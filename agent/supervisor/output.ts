/**
 * Where a program's output goes: appended to its file chunk by chunk as it
 * is read (nothing accumulates), with the last bytes of each stream kept in
 * memory for `tail`. The file can be reopened after a rotation (logrotate
 * renames it; the next write creates a new one), which supervisord cannot
 * do (its issue 273).
 */

/** Bytes of each stream kept in memory per process for `tail`. */
export const TAIL_BYTES = 64 * 1024;

/** After a failed open, how long before the next write tries again. */
const RETRY_OPEN_MS = 10_000;

export class OutputFile {
  private file: Deno.FsFile | null = null;
  /** Writes are chained: an earlier run's leftover pump may share the file with the current one. */
  private queue: Promise<void> = Promise.resolve();
  private writing = false;
  private reopenWanted = false;
  private failedAt = -Infinity;
  private lastError = "";
  private closed = false;

  /** `onError` hears each new failure once (disk full, missing directory…); output is then dropped. */
  constructor(readonly path: string, private readonly onError: (why: string) => void) {}

  /** Resolves once `chunk` is written or dropped; never rejects. */
  write(chunk: Uint8Array): Promise<void> {
    this.queue = this.queue.then(() => this.append(chunk));
    return this.queue;
  }

  /** Closes the file now (or after the write in progress); the next write opens the path again. */
  reopen(): void {
    this.failedAt = -Infinity;
    if (this.writing) {
      this.reopenWanted = true;
    } else {
      this.closeFile();
    }
  }

  close(): void {
    this.closed = true;
    if (!this.writing) this.closeFile();
  }

  private async append(chunk: Uint8Array): Promise<void> {
    if (this.closed) return;
    this.writing = true;
    try {
      if (this.file === null) {
        if (performance.now() - this.failedAt < RETRY_OPEN_MS) return;
        this.file = await Deno.open(this.path, { append: true, create: true });
        this.lastError = "";
      }
      let done = 0;
      while (done < chunk.length) done += await this.file.write(chunk.subarray(done));
    } catch (e) {
      this.failedAt = performance.now();
      this.closeFile();
      const why = `${this.path}: ${(e as Error).message}`;
      if (why !== this.lastError) {
        this.lastError = why;
        this.onError(why);
      }
    } finally {
      this.writing = false;
      if (this.reopenWanted || this.closed) {
        this.reopenWanted = false;
        this.closeFile();
      }
    }
  }

  private closeFile(): void {
    try {
      this.file?.close();
    } catch {
      // already closed
    }
    this.file = null;
  }
}

/**
 * The last `TAIL_BYTES` of a stream, and how many bytes the stream has had in
 * all. The ring starts empty and grows (doubling) up to TAIL_BYTES as output
 * comes: a hundred idle programs that print a line each hold a few KiB, not
 * 128 KiB each.
 */
export class TailBuffer {
  private ring = new Uint8Array(0);
  /** Bytes ever pushed: the stream offset just after the last byte. */
  end = 0;

  push(chunk: Uint8Array): void {
    this.grow(Math.min(TAIL_BYTES, this.end + chunk.length));
    const cap = this.ring.length;
    const data = chunk.length > cap ? chunk.subarray(chunk.length - cap) : chunk;
    const at = (this.end + chunk.length - data.length) % cap;
    const first = Math.min(data.length, cap - at);
    this.ring.set(data.subarray(0, first), at);
    if (first < data.length) this.ring.set(data.subarray(first), 0);
    this.end += chunk.length;
  }

  /** The last `max` bytes held (a copy); they start at stream offset `end - result.length`. */
  read(max = TAIL_BYTES): Uint8Array {
    const cap = this.ring.length;
    const n = Math.min(max, cap, this.end);
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const start = (this.end - n) % cap;
    const first = Math.min(n, cap - start);
    out.set(this.ring.subarray(start, start + first), 0);
    if (first < n) out.set(this.ring.subarray(0, n - first), first);
    return out;
  }

  /**
   * A ring of at least `need` bytes. While it has not wrapped (end <= its
   * size, which holds until it reaches TAIL_BYTES), bytes sit at their stream
   * offset, so growing is a copy to the same places.
   */
  private grow(need: number): void {
    if (need <= this.ring.length) return;
    let size = Math.max(1024, this.ring.length);
    while (size < need) size *= 2;
    const ring = new Uint8Array(Math.min(TAIL_BYTES, size));
    ring.set(this.ring.subarray(0, Math.min(this.end, this.ring.length)));
    this.ring = ring;
  }
}
