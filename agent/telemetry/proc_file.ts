/**
 * Cheap reads of Linux `/proc` files: one read of each file per sample into a
 * reused buffer, and a byte scanner that parses numbers in place, so that a
 * sample allocates almost nothing besides the result it returns.
 *
 * Telemetry and the port watch read `/proc`, which exists only on Linux:
 * `requireLinux` turns any other OS into a clear error instead of odd
 * `NotFound`s.
 */
import { TuttiError } from "../../protocol/errors.ts";

/** Throws ENOSYS naming `feature` when the agent does not run on Linux. */
export function requireLinux(feature: string): void {
  if (Deno.build.os !== "linux") {
    throw new TuttiError(
      "ENOSYS",
      `${feature} needs Linux (/proc); this agent runs on ${Deno.build.os}`,
    );
  }
}

/**
 * A `/proc` file kept open between samples: a seek to 0 makes the kernel
 * generate fresh contents (seq_file), which halves the cost of a sample
 * against open + read + close. The buffer grows to the largest size seen.
 */
export class ProcFile {
  buf: Uint8Array;
  len = 0;
  private file: Deno.FsFile | null = null;

  constructor(readonly path: string, size = 4096) {
    this.buf = new Uint8Array(size);
  }

  /** Reads the whole file; false when it cannot be read (absent, permission). */
  read(): boolean {
    try {
      if (this.file === null) {
        this.file = Deno.openSync(this.path, { read: true });
      } else {
        this.file.seekSync(0, Deno.SeekMode.Start);
      }
      this.len = readAll(this.file, this);
      return true;
    } catch {
      this.close();
      this.len = 0;
      return false;
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

/** A buffer shared by one-shot reads (per-process files that come and go). */
export class ProcBuffer {
  buf: Uint8Array;
  len = 0;

  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
  }

  /** Opens, reads and closes `path`; false when it cannot be read (the process is gone). */
  read(path: string): boolean {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch {
      this.len = 0;
      return false;
    }
    try {
      this.len = readAll(file, this);
      return true;
    } catch {
      // ESRCH from a process that exited between open and read.
      this.len = 0;
      return false;
    } finally {
      file.close();
    }
  }
}

/**
 * Reads to the end. `/proc` files are seq_files: a read fills the caller's
 * buffer unless the contents end first, or unless the kernel's own buffer
 * (one page at first) is nearly full at a record boundary. So a short read
 * of less than half a page is the end, and the extra read that would only
 * answer 0 (a third of the cost of a small file) is saved.
 */
const SHORT_READ_IS_END = 2048;

function readAll(file: Deno.FsFile, into: { buf: Uint8Array }): number {
  let len = 0;
  for (;;) {
    if (len === into.buf.length) {
      const bigger = new Uint8Array(into.buf.length * 2);
      bigger.set(into.buf);
      into.buf = bigger;
    }
    const space = into.buf.length - len;
    const n = file.readSync(into.buf.subarray(len));
    if (n === null || n === 0) return len;
    len += n;
    if (n < space && n < SHORT_READ_IS_END) return len;
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const NL = 0x0a;
const ZERO = 0x30;
const DOT = 0x2e;

/**
 * A cursor over the bytes of a `/proc` file. Parses the unsigned decimal
 * numbers and short ASCII names these files are made of, without building
 * strings for the numbers.
 */
export class Scanner {
  buf: Uint8Array = new Uint8Array(0);
  end = 0;
  pos = 0;

  reset(src: { buf: Uint8Array; len: number }, pos = 0): this {
    this.buf = src.buf;
    this.end = src.len;
    this.pos = pos;
    return this;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  skipSpaces(): void {
    const b = this.buf;
    while (this.pos < this.end && (b[this.pos] === SPACE || b[this.pos] === TAB)) this.pos++;
  }

  /** Moves past the next newline (or to the end). */
  nextLine(): void {
    const i = this.buf.indexOf(NL, this.pos);
    this.pos = i < 0 || i >= this.end ? this.end : i + 1;
  }

  /** Skips `n` whitespace-separated fields on the current line. */
  skipFields(n: number): void {
    const b = this.buf;
    for (let k = 0; k < n; k++) {
      this.skipSpaces();
      while (this.pos < this.end && b[this.pos] !== SPACE && b[this.pos] !== NL) this.pos++;
    }
  }

  /** An unsigned decimal integer after optional blanks; NaN if there is none. */
  uint(): number {
    this.skipSpaces();
    const b = this.buf;
    let v = 0;
    const start = this.pos;
    while (this.pos < this.end) {
      const d = b[this.pos] - ZERO;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      this.pos++;
    }
    return this.pos === start ? NaN : v;
  }

  /** An unsigned decimal like `0.06` or `972.85`; NaN if there is none. */
  decimal(): number {
    let v = this.uint();
    if (Number.isNaN(v) || this.buf[this.pos] !== DOT) return v;
    this.pos++;
    let scale = 1;
    const b = this.buf;
    while (this.pos < this.end) {
      const d = b[this.pos] - ZERO;
      if (d < 0 || d > 9) break;
      scale /= 10;
      v += d * scale;
      this.pos++;
    }
    return v;
  }

  /** The next blank-delimited word, ended also by `stop` (e.g. `:`), as a string. */
  word(stop = SPACE): string {
    this.skipSpaces();
    const b = this.buf;
    const start = this.pos;
    while (
      this.pos < this.end && b[this.pos] !== SPACE && b[this.pos] !== NL && b[this.pos] !== stop
    ) this.pos++;
    return ascii(b, start, this.pos);
  }

  /** True (and moves past it) when the bytes at the cursor are `prefix`. */
  startsWith(prefix: Uint8Array): boolean {
    const b = this.buf;
    if (this.pos + prefix.length > this.end) return false;
    for (let i = 0; i < prefix.length; i++) if (b[this.pos + i] !== prefix[i]) return false;
    this.pos += prefix.length;
    return true;
  }

  /** Moves to just after the last occurrence of `byte` in the buffer (for `/proc/<pid>/stat`'s `)`). */
  afterLast(byte: number): boolean {
    const i = this.buf.lastIndexOf(byte, this.end - 1);
    if (i < 0) return false;
    this.pos = i + 1;
    return true;
  }

  peek(): number {
    return this.pos < this.end ? this.buf[this.pos] : -1;
  }
}

export function ascii(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
