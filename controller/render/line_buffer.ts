/**
 * Output chunks to whole prefixed lines, at the byte level (no decoding, so
 * any encoding passes through unchanged). A partial line waits for its
 * newline; `flush` ends it (adding the newline) when its host is done. A
 * line longer than `maxLine` is cut, so one endless line cannot hold memory.
 */
import { concat } from "./out.ts";

const NL = 0x0a;
const NEWLINE = new Uint8Array([NL]);
export const MAX_LINE = 64 * 1024;

export class LineBuffer {
  #partial: Uint8Array[] = [];
  #partialBytes = 0;

  constructor(
    private readonly prefix: Uint8Array,
    private readonly write: (line: Uint8Array) => void,
    private readonly maxLine = MAX_LINE,
  ) {}

  push(data: Uint8Array): void {
    let start = 0;
    for (;;) {
      const nl = data.indexOf(NL, start);
      if (nl < 0) break;
      this.#emit(data.subarray(start, nl + 1));
      start = nl + 1;
    }
    if (start < data.length) {
      // Copy: the caller may reuse its buffer.
      this.#partial.push(data.slice(start));
      this.#partialBytes += data.length - start;
      if (this.#partialBytes >= this.maxLine) this.flush();
    }
  }

  /** Ends a pending partial line with a newline. */
  flush(): void {
    if (this.#partialBytes === 0) return;
    this.#emit(NEWLINE);
  }

  /** Writes prefix + pending partial + `tail` (which ends the line) as one write. */
  #emit(tail: Uint8Array): void {
    const line = concat([this.prefix, ...this.#partial, tail]);
    this.#partial = [];
    this.#partialBytes = 0;
    this.write(line);
  }
}
