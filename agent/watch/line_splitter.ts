/**
 * Cuts a byte stream into lines across chunk boundaries, without copying
 * chunks that hold whole lines. A line longer than `maxLine` is tested on its
 * first `maxLine` bytes; the rest of it is skipped.
 */
const NL = 0x0a;
const CR = 0x0d;

export const MAX_LINE_BYTES = 64 * 1024;

export class LineSplitter {
  private partial: Uint8Array[] = [];
  private partialLen = 0;
  /** The current line already exceeded maxLine and was handed out. */
  private skipping = false;

  /** `onLine` answers true to stop: later bytes are ignored. */
  constructor(
    private readonly onLine: (line: Uint8Array) => boolean,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {}

  /** Feeds a chunk; true once `onLine` asked to stop. */
  push(chunk: Uint8Array): boolean {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      if (this.line(chunk.subarray(start, nl))) return true;
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      // Copied: the caller may reuse its buffer.
      const rest = chunk.slice(
        start,
        Math.min(chunk.length, start + this.maxLine - this.partialLen),
      );
      this.partial.push(rest);
      this.partialLen += rest.length;
      if (this.partialLen >= this.maxLine) {
        const long = this.take();
        this.skipping = true;
        return this.onLine(long);
      }
    }
    return false;
  }

  /** The last line when the stream ends without a newline; true if `onLine` asked to stop. */
  flush(): boolean {
    if (this.skipping || this.partialLen === 0) {
      this.skipping = false;
      this.partial = [];
      this.partialLen = 0;
      return false;
    }
    return this.onLine(stripCr(this.take()));
  }

  private line(tail: Uint8Array): boolean {
    if (this.skipping) {
      this.skipping = false;
      return false;
    }
    if (this.partialLen === 0) return this.onLine(stripCr(tail.subarray(0, this.maxLine)));
    const room = this.maxLine - this.partialLen;
    this.partial.push(tail.subarray(0, room));
    this.partialLen += Math.min(tail.length, room);
    return this.onLine(stripCr(this.take()));
  }

  private take(): Uint8Array {
    const out = new Uint8Array(this.partialLen);
    let at = 0;
    for (const p of this.partial) {
      out.set(p, at);
      at += p.length;
    }
    this.partial = [];
    this.partialLen = 0;
    return out;
  }
}

function stripCr(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
