/**
 * Live output, each line prefixed by its host (`g5k-3: line`), stdout to
 * stdout and stderr to stderr. Lines are whole: a partial line waits for its
 * newline, and is ended when its host is done.
 *
 * The lines of one event (a message of up to 256 KiB holds thousands) go
 * out in one write per stream: a write per line would make the terminal,
 * not the network, the controller's bottleneck.
 */
import type { StreamName } from "../../protocol/messages.ts";
import type { RunEvent } from "../mod.ts";
import { LineBuffer } from "./line_buffer.ts";
import { concat, type Out } from "./out.ts";
import type { RunView } from "./view.ts";

export class LiveView implements RunView {
  readonly #buffers = new Map<string, LineBuffer>();
  readonly #encoder = new TextEncoder();
  readonly #pending: Record<StreamName, Uint8Array[]> = { stdout: [], stderr: [] };

  constructor(private readonly out: Out) {}

  event(e: RunEvent): void {
    this.#take(e);
    this.#write();
  }

  #take(e: RunEvent): void {
    if (e.type === "output") {
      this.#buffer(e.host, e.stream).push(e.data);
    } else if (e.type === "missing") {
      const b = this.#buffer(e.host, e.stream);
      b.flush();
      b.push(this.#encoder.encode(
        `[${e.bytes} bytes of ${e.stream} missing: ${e.error.code} ${e.error.message}]\n`,
      ));
    } else if (e.type === "exit" || e.type === "error") {
      for (const stream of ["stdout", "stderr"] as const) {
        this.#buffers.get(key(e.host, stream))?.flush();
      }
    }
  }

  end(): void {
    for (const b of this.#buffers.values()) b.flush();
    this.#write();
  }

  #write(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const lines = this.#pending[stream];
      if (lines.length === 0) continue;
      this.#pending[stream] = [];
      const data = lines.length === 1 ? lines[0] : concat(lines);
      if (stream === "stdout") this.out.stdout(data);
      else this.out.stderr(data);
    }
  }

  #buffer(host: string, stream: StreamName): LineBuffer {
    const k = key(host, stream);
    let b = this.#buffers.get(k);
    if (!b) {
      const pending = this.#pending;
      // Pieces, not whole lines: the one copy is #write's, once per event.
      b = new LineBuffer(this.#encoder.encode(`${host}: `), {
        piece: (p) => pending[stream].push(p),
      });
      this.#buffers.set(k, b);
    }
    return b;
  }
}

function key(host: string, stream: StreamName): string {
  return `${stream}\0${host}`;
}
