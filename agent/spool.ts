/**
 * Spool files: every byte a process writes on stdout/stderr is appended by
 * the keeper to `<state-dir>/spool/<id>.stdout|.stderr`, whatever happens to
 * the live stream or to the agent, and `logs` reads ranges back from them.
 * They leave with their process's entry (the keeper removes them).
 */
import { LOGS_CHUNK_MAX, type StreamName } from "../protocol/messages.ts";
import { keeperPaths } from "./keeper/paths.ts";

export class SpoolDir {
  private readonly file: (id: string, stream: StreamName) => string;

  constructor(stateDir: string) {
    this.file = keeperPaths(stateDir).spoolFile;
  }

  path(id: string, stream: StreamName): string {
    return this.file(id, stream);
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
      return await readAt(file, offset, end - offset);
    } finally {
      file.close();
    }
  }
}

/** Up to `length` bytes of `file` from `offset`: fewer only where the file ends. */
export async function readAt(file: Deno.FsFile, offset: number, length: number) {
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(Math.max(0, length));
  let got = 0;
  while (got < buf.length) {
    const n = await file.read(buf.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got === buf.length ? buf : buf.subarray(0, got);
}
