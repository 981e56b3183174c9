/**
 * Where the CLI's views write: stdout, stderr, and a status line (the live
 * progress) kept at the bottom of a terminal. Every write to a terminal
 * first clears the status line and redraws it afterwards, so output and
 * progress never mix. `MemoryOut` collects text for tests.
 */

/** Bytes given to `stdout` and `stderr` are theirs only during the call: views reuse buffers. */
export interface Out {
  stdout(data: Uint8Array | string): void;
  stderr(data: Uint8Array | string): void;
  /**
   * Shows (or with null, removes) the status line; a no-op where there is
   * no terminal. Several lines (joined by newlines) make a status area, kept
   * at the bottom the same way (cut to the terminal's height).
   */
  status(line: string | null): void;
}

import { concatBytes } from "../../protocol/runtime/bytes.ts";

const encoder = new TextEncoder();

function bytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

function writeAll(w: { writeSync(p: Uint8Array): number }, data: Uint8Array): void {
  let at = 0;
  try {
    while (at < data.length) at += w.writeSync(data.subarray(at));
  } catch (e) {
    // A reader that went away (`controller run ... | head`) is not the run's failure.
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

/** Redraws of the status line are at most this often. */
const STATUS_EVERY_MS = 100;

export class ProcessOut implements Out {
  readonly #tty: boolean;
  #shown = "";
  /** Lines of the status area on the screen now. */
  #shownLines = 0;
  #wanted: string | null = null;
  #lastDraw = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(statusOnTerminal = true) {
    this.#tty = statusOnTerminal && Deno.stderr.isTerminal();
  }

  stdout(data: Uint8Array | string): void {
    this.#around(() => writeAll(Deno.stdout, bytes(data)));
  }

  stderr(data: Uint8Array | string): void {
    this.#around(() => writeAll(Deno.stderr, bytes(data)));
  }

  status(line: string | null): void {
    if (!this.#tty) return;
    this.#wanted = line;
    if (line === null) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#clear();
      return;
    }
    const wait = this.#lastDraw + STATUS_EVERY_MS - Date.now();
    if (wait <= 0) this.#draw();
    else {this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#draw();
      }, wait);}
  }

  #around(write: () => void): void {
    if (!this.#shown) return write();
    this.#clear();
    write();
    this.#draw();
  }

  #clear(): void {
    if (!this.#shown) return;
    // Up to the area's first line, then clear to the end of the screen.
    const up = this.#shownLines > 1 ? `\x1b[${this.#shownLines - 1}A` : "";
    writeAll(Deno.stderr, encoder.encode(`\r${up}\x1b[J`));
    this.#shown = "";
    this.#shownLines = 0;
  }

  #draw(): void {
    const wanted = this.#wanted;
    if (wanted === null) return;
    const size = Deno.consoleSize?.() ?? { columns: 80, rows: 24 };
    const cut = (l: string) =>
      l.length >= size.columns ? l.slice(0, Math.max(0, size.columns - 1)) : l;
    // A line always stays for the output above the area.
    const lines = wanted.split("\n").slice(0, Math.max(1, size.rows - 1)).map(cut);
    const up = this.#shownLines > 1 ? `\x1b[${this.#shownLines - 1}A` : "";
    const text = lines.join("\n");
    writeAll(Deno.stderr, encoder.encode(`\r${up}\x1b[J${text}`));
    this.#shown = text;
    this.#shownLines = lines.length;
    this.#lastDraw = Date.now();
  }
}

/** Collects what views write, as text, for tests. */
export class MemoryOut implements Out {
  #out: Uint8Array[] = [];
  #err: Uint8Array[] = [];
  readonly statuses: (string | null)[] = [];

  stdout(data: Uint8Array | string): void {
    this.#out.push(bytes(data).slice());
  }
  stderr(data: Uint8Array | string): void {
    this.#err.push(bytes(data).slice());
  }
  status(line: string | null): void {
    this.statuses.push(line);
  }
  get out(): string {
    return new TextDecoder().decode(concatBytes(this.#out));
  }
  get err(): string {
    return new TextDecoder().decode(concatBytes(this.#err));
  }
}

export { concatBytes as concat } from "../../protocol/runtime/bytes.ts";
