/**
 * How a child process ended, read from `Deno.ChildProcess.status` even where
 * Deno cannot say it.
 *
 * Deno names the signals 1-31 of Linux (SIGSTKFLT included). A child killed
 * by a real-time signal (SIGRTMIN..SIGRTMAX, 32-64: `kill -34 PID`) makes
 * `status` reject with `TypeError: Invalid signal: 34`, although the child
 * has been reaped: the wait succeeded, only naming the signal failed. Taken
 * as it is, that rejection would leave the process "running" for ever, with
 * no exit event. The number is in the message; it becomes `SIGRT34` (see
 * `rtSignalName`).
 */
import { type ExitSignalName, isExitSignal, rtSignalName } from "../protocol/signals.ts";

export interface ChildExit {
  /** The exit code, null when killed by a signal or when the status could not be read. */
  code: number | null;
  signal: ExitSignalName | null;
  /** Set when the status could not be read at all (then code and signal are null). */
  unreadable?: string;
}

const INVALID_SIGNAL = /^Invalid signal: (\d+)$/;

/** Resolves once the child has been reaped; never rejects. */
export async function childExit(child: Deno.ChildProcess): Promise<ChildExit> {
  try {
    const s = await child.status;
    if (s.signal === null) return { code: s.code, signal: null };
    if (isExitSignal(s.signal)) return { code: null, signal: s.signal };
    return { code: null, signal: null, unreadable: `killed by ${s.signal}` };
  } catch (e) {
    return fromRejection(e);
  }
}

/** What a rejected `status` means (exported for tests). */
export function fromRejection(e: unknown): ChildExit {
  const message = e instanceof Error ? e.message : String(e);
  const m = INVALID_SIGNAL.exec(message);
  const signal = m ? rtSignalName(Number(m[1])) : null;
  if (signal !== null) return { code: null, signal };
  return { code: null, signal: null, unreadable: `exit status not readable: ${message}` };
}
