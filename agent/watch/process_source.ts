/**
 * What `exit` and `output` watches need from the agent's process table. The
 * table satisfies it with a few lines; the watches never see the table.
 */
import type { StreamName } from "../../protocol/messages.ts";

export interface ProcessExit {
  /** Exit code, null when killed by a signal. */
  code: number | null;
  /** `SIGKILL` etc., null when it exited by itself. */
  signal: string | null;
}

export interface ProcessSource {
  /** Is `proc` in the table (running or exited)? Checked when the watch is requested. */
  has(proc: string): boolean;
  /**
   * Calls `cb` once when `proc` has exited (on a later tick if it already has),
   * after the last `onOutput` callback of that process. Returns a function that
   * removes the callback. Throws ESRCH for an unknown id.
   */
  onExit(proc: string, cb: (exit: ProcessExit) => void): () => void;
  /**
   * Calls `cb` with every chunk `proc` writes from now on, in order, with the
   * chunk's byte offset in its stream. Returns a function that removes the
   * callback. Throws ESRCH for an unknown id.
   */
  onOutput(
    proc: string,
    cb: (stream: StreamName, offset: number, data: Uint8Array) => void,
  ): () => void;
  /**
   * Up to `limit` bytes of `stream` from `offset`, from what was written so far
   * (the spool); empty at the end. Lets an `output` watch see lines printed
   * before it started.
   */
  readOutput(proc: string, stream: StreamName, offset: number, limit: number): Promise<Uint8Array>;
}
