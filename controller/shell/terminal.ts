/**
 * The only part of the shell that touches the process's stdin: one reader
 * that feeds an `InputQueue`, raw mode on and off, the terminal's width.
 * A SIGTERM or SIGHUP while in raw mode puts the terminal back before the
 * process ends, so the user's shell is not left without echo.
 */
import { InputQueue } from "./input_queue.ts";
import type { Terminal } from "./interactive.ts";

let stdin: InputQueue | null = null;

/** Stdin as a queue; reading starts at the first call (a shell that never needs stdin never reads it). */
export function stdinQueue(): InputQueue {
  if (stdin) return stdin;
  const queue = new InputQueue();
  stdin = queue;
  (async () => {
    for await (const chunk of Deno.stdin.readable) queue.push(chunk.slice());
  })().catch(() => {}).finally(() => queue.end());
  return queue;
}

const encoder = new TextEncoder();

const RESTORE_ON: [Deno.Signal, number][] = [["SIGTERM", 143], ["SIGHUP", 129]];

export class DenoTerminal implements Terminal {
  readonly input = stdinQueue();
  readonly #restorers: [Deno.Signal, () => void][] = [];

  write(data: string | Uint8Array): void {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  }

  columns(): number {
    try {
      return Deno.consoleSize().columns || 80;
    } catch {
      return 80;
    }
  }

  size(): { rows: number; columns: number } | null {
    try {
      const { rows, columns } = Deno.consoleSize();
      return rows > 0 && columns > 0 ? { rows, columns } : null;
    } catch {
      return null;
    }
  }

  onResize(fn: () => void): () => void {
    Deno.addSignalListener("SIGWINCH", fn);
    return () => Deno.removeSignalListener("SIGWINCH", fn);
  }

  setRaw(on: boolean): void {
    Deno.stdin.setRaw(on);
    if (on && this.#restorers.length === 0) {
      for (const [signal, code] of RESTORE_ON) {
        const restore = () => {
          Deno.stdin.setRaw(false);
          Deno.exit(code);
        };
        Deno.addSignalListener(signal, restore);
        this.#restorers.push([signal, restore]);
      }
    } else if (!on) {
      for (const [signal, fn] of this.#restorers.splice(0)) Deno.removeSignalListener(signal, fn);
    }
  }
}
