/**
 * Spool files: every byte a process writes on stdout/stderr is appended to
 * `<state-dir>/spool/<id>.stdout|.stderr`, whatever happens to the live
 * stream, and `logs` reads ranges back from them.
 */
import { LOGS_CHUNK_MAX, type StreamName } from "../protocol/messages.ts";

export class SpoolDir {
  constructor(readonly dir: string) {}

  /**
   * Creates the directory and empties it: the process table lives in memory,
   * so files left by an earlier run of the agent can never be asked for, and
   * a new process with the same id must not find old output in its file.
   */
  async prepare(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isFile) await Deno.remove(`${this.dir}/${e.name}`).catch(() => {});
    }
  }

  path(id: string, stream: StreamName): string {
    return `${this.dir}/${id}.${stream}`;
  }

  writer(id: string, stream: StreamName): SpoolWriter {
    return new SpoolWriter(this.path(id, stream));
  }

  /**
   * Synchronous on purpose: an unlink still pending when a new process with
   * the same id creates its file would delete the new file.
   */
  remove(id: string): void {
    for (const stream of ["stdout", "stderr"] as const) {
      try {
        Deno.removeSync(this.path(id, stream));
      } catch {
        // never written (no output), or already gone
      }
    }
  }

  /**
   * Reads `[offset, min(offset + limit, size))` where `size` is how much the
   * writer has completed; a file never created (no output yet) reads empty.
   */
  async read(
    id: string,
    stream: StreamName,
    offset: number,
    limit: number,
    size: number,
  ): Promise<Uint8Array> {
    const end = Math.min(size, offset + Math.min(limit, LOGS_CHUNK_MAX));
    if (end <= offset) return new Uint8Array(0);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path(id, stream), { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
      throw e;
    }
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(end - offset);
      let got = 0;
      while (got < buf.length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    } finally {
      file.close();
    }
  }
}

/**
 * Appends to one spool file. The file is created on the first chunk, so a
 * process that prints nothing costs no file at all.
 */
export class SpoolWriter {
  private file: Deno.FsFile | null = null;

  constructor(readonly path: string) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.file ??= await Deno.open(this.path, {
      write: true,
      create: true,
      truncate: true,
    });
    let done = 0;
    while (done < chunk.length) done += await this.file.write(chunk.subarray(done));
  }

  close(): void {
    try {
      this.file?.close();
    } catch {
      // already closed
    }
    this.file = null;
  }
}
