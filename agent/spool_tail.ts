/**
 * The agent's side of one spool file: the keeper appends to it and says how
 * far it has grown; the tail reads each new range once, in order, and hands
 * it on (to the live stream and to output watches).
 *
 * Reads are synchronous: the bytes were just written, so they come from the
 * page cache in microseconds, and an async read would cost more in event
 * loop turns than it saves. The file stays open while the process runs.
 */
import type { StreamName } from "../protocol/messages.ts";

/**
 * A tail reads at most this much at once: a live message is at most 256 KiB,
 * and larger reads only leave larger garbage for V8 to find.
 */
const READ_MAX = 256 * 1024;

export class SpoolTail {
  private file: Deno.FsFile | null = null;
  /** Bytes read and handed on: the offset of the next one. */
  private read = 0;
  /** How much the spool holds (what the keeper says), capped where its writes failed. */
  private readable = 0;

  constructor(
    private readonly path: string,
    readonly stream: StreamName,
    /** Where to start: 0 for a new process, the current size for one adopted from a dead agent. */
    from: number,
    private readonly deliver: (offset: number, data: Uint8Array) => void,
    private readonly problem: (why: string) => void,
    /** True when nobody needs `[offset, offset + bytes)` now: it is passed over unread. */
    private readonly unwanted: (offset: number, bytes: number) => boolean = () => false,
  ) {
    this.read = from;
    this.readable = from;
  }

  get position(): number {
    return this.read;
  }

  /** The keeper has `size` bytes in the file: read what is new. */
  grew(size: number): void {
    if (size <= this.readable) return;
    this.readable = size;
    this.drain();
  }

  private drain(): void {
    try {
      while (this.read < this.readable) {
        if (this.unwanted(this.read, this.readable - this.read)) {
          this.read = this.readable;
          return;
        }
        this.file ??= Deno.openSync(this.path, { read: true });
        const want = Math.min(READ_MAX, this.readable - this.read);
        const buf = new Uint8Array(want);
        this.file.seekSync(this.read, Deno.SeekMode.Start);
        let got = 0;
        while (got < want) {
          const n = this.file.readSync(buf.subarray(got));
          if (n === null || n === 0) break;
          got += n;
        }
        if (got === 0) {
          this.problem(
            `spool ${this.path}: ${this.readable - this.read} bytes announced but not readable`,
          );
          this.read = this.readable;
          return;
        }
        const offset = this.read;
        this.read += got;
        this.deliver(offset, got === want ? buf : buf.subarray(0, got));
      }
    } catch (e) {
      this.problem(`spool ${this.path}: ${(e as Error).message}`);
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
