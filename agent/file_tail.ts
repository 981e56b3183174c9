/**
 * The agent's side of a file the keeper appends to (a `run` process's spool
 * file, a supervised program's output file): the keeper says how far it has
 * grown; the tail reads each new range once, in order, and hands it on (to
 * the live stream and output watches, or to a program's `tail` and
 * followers).
 *
 * Reads are synchronous: the bytes were just written, so they come from the
 * page cache in microseconds, and an async read would cost more in event
 * loop turns than it saves. The file stays open while the process runs.
 */

/**
 * A tail reads at most this much at once: a live message is at most 256 KiB,
 * and larger reads only leave larger garbage for V8 to find.
 */
const READ_MAX = 256 * 1024;

export interface TailOptions {
  deliver(offset: number, data: Uint8Array): void;
  /**
   * Memory to read the next `want` bytes into (at most its length is read),
   * handed back in the `deliver` that follows; undefined for a new array.
   */
  buffer?(want: number): Uint8Array | undefined;
  problem(why: string): void;
  /** True when nobody needs `[offset, offset + bytes)` now: it is passed over unread. */
  unwanted?(offset: number, bytes: number): boolean;
  /**
   * True when what follows must wait (live output held back by flow
   * control): reading stops where it is, and goes on at `resume()`.
   */
  held?(): boolean;
  /**
   * The file may shrink under the reader (logrotate's copytruncate of a
   * program's output file): a read that finds less than announced waits for
   * more instead of being a problem.
   */
  truncatable?: boolean;
}

export class FileTail {
  private file: Deno.FsFile | null = null;
  /** Bytes read and handed on: the offset of the next one. */
  private read: number;
  /** How much the file holds (what the keeper says), capped where its writes failed. */
  private readable: number;

  /** `from`: where to start (0 for a new process, the current size for an adopted one). */
  constructor(private readonly path: string, from: number, private readonly opts: TailOptions) {
    this.read = from;
    this.readable = from;
  }

  /** The keeper has `size` bytes in the file: read what is new. */
  grew(size: number): void {
    if (size <= this.readable) return;
    this.readable = size;
    this.drain();
  }

  /** Reads on after a hold. */
  resume(): void {
    this.drain();
  }

  /** Bytes announced but not read yet (held back, or not read yet). */
  get pending(): number {
    return this.readable - this.read;
  }

  /** The offset of the next byte to read. */
  get position(): number {
    return this.read;
  }

  /** Passes over what is announced and unread (given up on): returns where it started. */
  skipPending(): number {
    const from = this.read;
    this.read = this.readable;
    return from;
  }

  /** A new file at the same path (the keeper reopened it after a rotation), read from `from`. */
  reopen(from: number): void {
    this.close();
    this.read = from;
    this.readable = from;
  }

  private drain(): void {
    try {
      while (this.read < this.readable) {
        if (this.opts.unwanted?.(this.read, this.readable - this.read)) {
          this.read = this.readable;
          return;
        }
        if (this.opts.held?.()) return;
        this.file ??= Deno.openSync(this.path, { read: true });
        const size = Math.min(READ_MAX, this.readable - this.read);
        const buf = this.opts.buffer?.(size) ?? new Uint8Array(size);
        const want = buf.length;
        this.file.seekSync(this.read, Deno.SeekMode.Start);
        let got = 0;
        while (got < want) {
          const n = this.file.readSync(buf.subarray(got));
          if (n === null || n === 0) break;
          got += n;
        }
        if (got === 0) {
          if (this.opts.truncatable) return; // truncated under us: the next growth says more
          this.opts.problem(
            `${this.path}: ${this.readable - this.read} bytes announced but not readable`,
          );
          this.read = this.readable;
          return;
        }
        const offset = this.read;
        this.read += got;
        this.opts.deliver(offset, got === want ? buf : buf.subarray(0, got));
      }
    } catch (e) {
      this.opts.problem(`${this.path}: ${(e as Error).message}`);
      this.read = this.readable;
    }
  }

  close(): void {
    try {
      this.file?.close();
    } catch {
      // already closed
    }
    this.file = null;
  }
}
