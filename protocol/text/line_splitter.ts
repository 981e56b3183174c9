/**
 * Cuts a byte stream into lines across chunk boundaries, at the byte level
 * (nothing is decoded, so any encoding passes through). A line that lies
 * whole in one chunk is handed out as a view of that chunk, not a copy; only
 * the partial line waiting at the end of a chunk is copied, because the
 * caller may reuse its buffer. What waits is bounded by `maxLine`, so one
 * endless line cannot hold memory. Two ways to treat a longer line:
 *
 * - `"skip"`: the line is handed out as its first `maxLine` bytes (at once
 *   when they are waiting, before its newline comes) and the rest of it is
 *   skipped. Output watches test a line this way: a regex never runs on
 *   more than `maxLine` bytes.
 * - `"cut"`: nothing is dropped. Once the waiting part reaches `maxLine`
 *   bytes it is handed out as it is, and what follows starts a new line. A
 *   line whole in one chunk is handed out whole, however long: a view holds
 *   no memory. A newline that comes right after such a cut only ends the
 *   piece (no empty line). The CLI's live view prints lines this way.
 *
 * Lines are handed out without their newline. With `stripCR`, a CR before
 * the newline is not part of the line either (text written for Windows).
 */
const NL = 0x0a;
const CR = 0x0d;

export const MAX_LINE_BYTES = 64 * 1024;

export interface LineSplitterOptions {
  /** Bytes a partial line may hold (and, with `"skip"`, the longest line handed out); default 64 KiB. */
  maxLine?: number;
  /** What becomes of a line longer than `maxLine`; default `"cut"`. */
  onLongLine?: "cut" | "skip";
  /** Drop a CR that ends a line; default false (bytes unchanged). */
  stripCR?: boolean;
}

/**
 * Gets each line. The view is valid until the callback returns (it may be
 * part of the caller's chunk): copy what must be kept. Answers true to stop.
 */
export type LineHandler = (line: Uint8Array) => boolean | void;

export class LineSplitter {
  readonly #onLine: LineHandler;
  readonly #maxLine: number;
  readonly #skip: boolean;
  readonly #stripCR: boolean;
  /** The partial line: copies of chunk tails, `#heldBytes` in all, fewer than `#maxLine`. */
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** "skip": the current line's first bytes were handed out; the rest goes up to its newline. */
  #skipping = false;
  /** "cut": a piece was just handed out; a newline now ends it rather than an empty line. */
  #cut = false;
  #stopped = false;

  constructor(onLine: LineHandler, options: LineSplitterOptions = {}) {
    this.#onLine = onLine;
    this.#maxLine = Math.max(1, options.maxLine ?? MAX_LINE_BYTES);
    this.#skip = options.onLongLine === "skip";
    this.#stripCR = options.stripCR ?? false;
  }

  /** Feeds a chunk; true once the handler asked to stop (later bytes are ignored). */
  push(chunk: Uint8Array): boolean {
    if (this.#stopped) return true;
    let start = 0;
    for (let nl = chunk.indexOf(NL); nl >= 0; nl = chunk.indexOf(NL, start)) {
      if (this.#ended(chunk.subarray(start, nl))) return true;
      start = nl + 1;
    }
    return start < chunk.length ? this.#hold(chunk, start) : false;
  }

  /** Hands out the partial line, if any (the stream ended); true if the handler asked to stop. */
  flush(): boolean {
    if (this.#stopped) return true;
    const skipped = this.#skipping;
    this.#skipping = this.#cut = false;
    if (skipped || this.#heldBytes === 0) {
      this.#held = [];
      this.#heldBytes = 0;
      return false;
    }
    return this.#give(this.#strip(this.#take()));
  }

  /** A newline ends the line whose last bytes are `tail`. */
  #ended(tail: Uint8Array): boolean {
    if (this.#skipping) {
      this.#skipping = false;
      return false;
    }
    if (this.#cut) {
      this.#cut = false;
      if (tail.length === 0) return false;
    }
    if (this.#skip && this.#heldBytes + tail.length > this.#maxLine) {
      tail = tail.subarray(0, this.#maxLine - this.#heldBytes);
    }
    if (this.#heldBytes === 0) return this.#give(this.#strip(tail));
    this.#held.push(tail);
    this.#heldBytes += tail.length;
    return this.#give(this.#strip(this.#take()));
  }

  /** Keeps `chunk[start..]`, the start of a line whose newline has not come yet. */
  #hold(chunk: Uint8Array, start: number): boolean {
    if (this.#skipping) return false;
    this.#cut = false;
    const room = this.#maxLine - this.#heldBytes;
    const rest = chunk.length - start;
    if (rest < room) {
      this.#held.push(chunk.slice(start));
      this.#heldBytes += rest;
      return false;
    }
    // The line has reached maxLine before its newline: it is handed out now.
    if (this.#skip) {
      this.#skipping = true;
      if (this.#heldBytes === 0) return this.#give(chunk.subarray(start, start + room));
      this.#held.push(chunk.subarray(start, start + room));
    } else {
      this.#cut = true;
      if (this.#heldBytes === 0) return this.#give(chunk.subarray(start));
      this.#held.push(chunk.subarray(start));
    }
    return this.#give(this.#take());
  }

  /** The held pieces as one line, and nothing held any more. */
  #take(): Uint8Array {
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    if (held.length === 1) return held[0];
    let n = 0;
    for (const p of held) n += p.length;
    const line = new Uint8Array(n);
    let at = 0;
    for (const p of held) {
      line.set(p, at);
      at += p.length;
    }
    return line;
  }

  #strip(line: Uint8Array): Uint8Array {
    return this.#stripCR && line.length > 0 && line[line.length - 1] === CR
      ? line.subarray(0, line.length - 1)
      : line;
  }

  #give(line: Uint8Array): boolean {
    if (this.#onLine(line) !== true) return false;
    this.#stopped = true;
    return true;
  }
}
