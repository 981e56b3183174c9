/**
 * Output chunks to whole prefixed lines, at the byte level (no decoding, so
 * any encoding passes through unchanged). A partial line waits for its
 * newline; `flush` ends it (adding the newline) when its host is done. A
 * line longer than `maxLine` is cut, so one endless line cannot hold memory;
 * no byte is dropped (the shared splitter's `"cut"`).
 */
import { LineSplitter, MAX_LINE_BYTES } from "../../protocol/text/line_splitter.ts";
import { concat } from "./out.ts";

const NEWLINE = new Uint8Array([0x0a]);
export const MAX_LINE = MAX_LINE_BYTES;

/**
 * Where the lines go: a function gets each line whole (prefix, bytes,
 * newline: one copy per line); a `piece` writer gets the prefix, a view of
 * the bytes and the newline in turn, with nothing copied (the views may be
 * part of the chunk pushed: use them before that buffer is reused).
 */
export type LineWriter = ((line: Uint8Array) => void) | { piece(data: Uint8Array): void };

export class LineBuffer {
  readonly #lines: LineSplitter;

  constructor(prefix: Uint8Array, write: LineWriter, maxLine = MAX_LINE) {
    const onLine = typeof write === "function"
      ? (line: Uint8Array) => write(concat([prefix, line, NEWLINE]))
      : (line: Uint8Array) => {
        write.piece(prefix);
        write.piece(line);
        write.piece(NEWLINE);
      };
    this.#lines = new LineSplitter(onLine, { maxLine, onLongLine: "cut" });
  }

  push(data: Uint8Array): void {
    this.#lines.push(data);
  }

  /** Ends a pending partial line with a newline. */
  flush(): void {
    this.#lines.flush();
  }
}
