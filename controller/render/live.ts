/**
 * Live output, each line prefixed by its host (`g5k-3: line`), stdout to
 * stdout and stderr to stderr. Lines are whole: a partial line waits for its
 * newline, and is ended when its host is done; a line longer than 64 KiB
 * goes out in pieces (prefixed_lines.ts).
 *
 * The lines of a burst of events go into one buffer per stream and out in
 * one write, at the end of the burst (`flush`) or once a buffer holds
 * WRITE_BYTES: a write per line, or even per event, would make the
 * terminal, not the network, the controller's bottleneck.
 */
import type { StreamName } from "../../protocol/messages.ts";
import type { RunEvent } from "../mod.ts";
import type { Out } from "./out.ts";
import { OutBuffer, PrefixedLines } from "./prefixed_lines.ts";
import type { RunView } from "./view.ts";

/** A buffer this full is written at once, whatever follows. */
const WRITE_BYTES = 1024 * 1024;

export class LiveView implements RunView {
  readonly #lines = new Map<string, PrefixedLines>();
  readonly #out: Record<StreamName, OutBuffer> = {
    stdout: new OutBuffer(),
    stderr: new OutBuffer(),
  };

  constructor(private readonly out: Out) {}

  event(e: RunEvent): void {
    if (e.type === "output") {
      this.#of(e.host, e.stream).push(e.data);
    } else if (e.type === "missing") {
      this.#of(e.host, e.stream).note(
        `[${e.bytes} bytes of ${e.stream} missing: ${e.error.code} ${e.error.message}]`,
      );
    } else if (e.type === "exit" || e.type === "error") {
      for (const stream of ["stdout", "stderr"] as const) {
        this.#lines.get(key(e.host, stream))?.end();
      }
    }
    if (this.#out.stdout.length >= WRITE_BYTES || this.#out.stderr.length >= WRITE_BYTES) {
      this.flush();
    }
  }

  /** The end of a burst of events: what they printed goes out. */
  flush(): void {
    if (this.#out.stdout.length > 0) this.out.stdout(this.#out.stdout.take());
    if (this.#out.stderr.length > 0) this.out.stderr(this.#out.stderr.take());
  }

  end(): void {
    for (const l of this.#lines.values()) l.end();
    this.flush();
  }

  #of(host: string, stream: StreamName): PrefixedLines {
    const k = key(host, stream);
    let l = this.#lines.get(k);
    if (!l) {
      l = new PrefixedLines(host, this.#out[stream]);
      this.#lines.set(k, l);
    }
    return l;
  }
}

function key(host: string, stream: StreamName): string {
  return `${stream}\0${host}`;
}
