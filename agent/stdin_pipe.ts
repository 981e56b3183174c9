/**
 * A program's stdin, written on request (`input`, `attach`): bytes go in
 * order, at most STDIN_MAX may wait for a program that does not read, and
 * after `close` (end of input, or the program gone) every write is ESRCH.
 * Whoever holds the child's pipes has one: the keeper, or the supervisor's
 * own process when it runs without one.
 */
import { TuttiError } from "../protocol/errors.ts";

/** Input waiting for a program that does not read it; more is refused. */
export const STDIN_MAX = 1024 * 1024;

export class StdinPipe {
  private writer: WritableStreamDefaultWriter<Uint8Array> | null;
  private pending = 0;

  /** `name`: what errors call the program (`web:0`). */
  constructor(stdin: WritableStream<Uint8Array>, private readonly name: string) {
    this.writer = stdin.getWriter();
  }

  async write(data: Uint8Array): Promise<void> {
    const name = this.name;
    if (this.writer === null) throw new TuttiError("ESRCH", `${name}: input is closed`);
    if (this.pending + data.length > STDIN_MAX) {
      throw new TuttiError(
        "EIO",
        `${name}: more than ${STDIN_MAX} bytes of input wait (the program does not read it)`,
      );
    }
    this.pending += data.length;
    try {
      await this.writer.write(data);
    } catch (e) {
      throw new TuttiError("EIO", `${name}: input: ${(e as Error).message}`);
    } finally {
      this.pending -= data.length;
    }
  }

  close(): void {
    this.writer?.close().catch(() => {});
    this.writer = null;
  }
}
