/**
 * Where the keeper puts what it reads from a pipe.
 *
 * - `SpoolSink` (`run` processes): `spool/<id>.<stream>`, created on the
 *   first byte. A write that fails (disk full) stops the spool for good at
 *   that offset: the bytes after it are lost, and said to be.
 * - `ProgramFileSink` (supervised processes): the program's own output file,
 *   appended to. It can be reopened after logrotate moved it (each opening
 *   is a new generation, written from the length the file had). A failed
 *   write drops that chunk, is reported once per distinct error, and the
 *   file is tried again 10 s later, as supervisord users expect of a log.
 *
 * Writes are synchronous: a page-cache write is microseconds, and the keeper
 * has nothing else to do meanwhile.
 */

/** After a failed open, how long before a program file is tried again. */
const RETRY_OPEN_MS = 10_000;

export interface SinkState {
  /** Bytes in the file: what the agent may read up to. */
  size: number;
  gen?: number;
  start?: number;
  /** A spool that stopped taking bytes, at which offset and why. */
  failure?: { at: number; why: string };
}

export interface Sink {
  /** Appends `chunk` (the stream's bytes from `offset`); never throws. */
  write(chunk: Uint8Array, offset: number): void;
  state(): SinkState;
  reopen(): void;
  close(): void;
}

export class SpoolSink implements Sink {
  private file: Deno.FsFile | null = null;
  private size = 0;
  private failure: { at: number; why: string } | undefined;

  constructor(
    private readonly path: string,
    private readonly log: (message: string) => void,
    /** A failure carried over from the record of an earlier keeper. */
    failed?: { at: number; why: string },
  ) {
    this.failure = failed;
  }

  write(chunk: Uint8Array, offset: number): void {
    if (this.failure) return;
    let written = 0;
    try {
      this.file ??= Deno.openSync(this.path, { write: true, create: true, truncate: true });
      while (written < chunk.length) written += this.file.writeSync(chunk.subarray(written));
      this.size = offset + chunk.length;
    } catch (e) {
      this.failure = { at: offset + written, why: `spool ${this.path}: ${systemError(e)}` };
      this.log(this.failure.why);
    }
  }

  state(): SinkState {
    return { size: this.size, ...(this.failure && { failure: this.failure }) };
  }

  reopen(): void {}

  close(): void {
    closeQuietly(this.file);
    this.file = null;
  }
}

export class ProgramFileSink implements Sink {
  private file: Deno.FsFile | null = null;
  private gen = 0;
  private start = 0;
  private size = 0;
  private failedAt = -Infinity;
  private lastError = "";

  constructor(
    private readonly path: string,
    private readonly trouble: (message: string) => void,
  ) {}

  write(chunk: Uint8Array): void {
    try {
      if (this.file === null) {
        if (performance.now() - this.failedAt < RETRY_OPEN_MS) return;
        this.file = Deno.openSync(this.path, { append: true, create: true });
        this.gen++;
        this.start = this.size = this.file.statSync().size;
        this.lastError = "";
      }
      let written = 0;
      while (written < chunk.length) written += this.file.writeSync(chunk.subarray(written));
      this.size += chunk.length;
    } catch (e) {
      this.failedAt = performance.now();
      this.close();
      const why = `output file ${this.path}: ${systemError(e)}`;
      if (why !== this.lastError) {
        this.lastError = why;
        this.trouble(why);
      }
    }
  }

  state(): SinkState {
    return { size: this.size, gen: this.gen, start: this.start };
  }

  /** The next write opens the path again (a new file, if logrotate moved the old one). */
  reopen(): void {
    this.failedAt = -Infinity;
    this.close();
  }

  close(): void {
    closeQuietly(this.file);
    this.file = null;
  }
}

/** "No space left on device (os error 28)" reads better with the code users grep for. */
function systemError(e: unknown): string {
  const code = (e as { code?: string }).code;
  const message = (e as Error).message ?? String(e);
  return code ? `${code}: ${message}` : message;
}

function closeQuietly(file: Deno.FsFile | null): void {
  try {
    file?.close();
  } catch {
    // already closed
  }
}
