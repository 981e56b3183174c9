/**
 * One process the keeper started: it owns the child (so it alone can learn
 * how it ended), reads both pipes whatever happens to the agent, appends
 * what it reads to the spool files, and tells whoever listens how far each
 * file has grown.
 *
 * Pipes are read continuously: a child never blocks because nobody reads
 * its output. A spool write that fails (disk full) is remembered with the
 * offset it failed at; the pipe is still read, so the child goes on, and
 * the bytes from there on are reported lost rather than silently missing.
 * The process counts as ended once its leader is reaped *and* both pipes
 * are closed, so the final sizes are final.
 */
import { startTicks } from "../supervisor/process_group.ts";
import { childExit } from "../child_exit.ts";
import { spawnGroup } from "../spawn.ts";
import type { KeptInfo, SpawnMsg } from "./messages.ts";

type Stream = "stdout" | "stderr";

export interface KeptEvents {
  grew(p: KeptProcess, stream: Stream, size: number): void;
  ended(p: KeptProcess): void;
  log(message: string): void;
}

/** The agent never changes directory: a process without `cwd` runs in the keeper's, which is the agent's. */
const KEEPER_CWD = Deno.cwd();

export class KeptProcess {
  readonly info: KeptInfo;
  private readonly child: Deno.ChildProcess;

  /** Spawns synchronously (a spawn error throws before anything exists), then pumps. */
  constructor(
    { id, key, spec, live, timeoutAt, graceMs }: SpawnMsg,
    private readonly spoolPath: (id: string, stream: Stream) => string,
    private readonly events: KeptEvents,
  ) {
    this.child = spawnGroup(spec);
    const pid = this.child.pid;
    this.info = {
      id,
      key,
      pid,
      startTicks: startTicks(pid),
      argv: spec.argv,
      cwd: spec.cwd ?? KEEPER_CWD,
      started: Date.now(),
      ended: null,
      code: null,
      signal: null,
      stdout: 0,
      stderr: 0,
      live,
      timeoutAt,
      graceMs,
      seq: 0,
      reported: false,
      timedOut: false,
    };
    this.supervise();
  }

  private async supervise(): Promise<void> {
    let ended = 0;
    const status = childExit(this.child).then((s) => {
      ended = Date.now();
      return s;
    });
    const [s] = await Promise.all([
      status,
      this.pump("stdout", this.child.stdout),
      this.pump("stderr", this.child.stderr),
    ]);
    this.info.ended = ended;
    this.info.code = s.code;
    this.info.signal = s.signal;
    if (s.unreadable) this.events.log(`process ${this.info.id}: ${s.unreadable}`);
    this.events.ended(this);
  }

  /**
   * Copies one pipe into its spool file. One 16 KiB buffer per pipe for the
   * process's life (a BYOB reader hands it back on every read): the default
   * reader allocates 64 KiB per read, which is 128 KiB held per idle process
   * and malloc'd memory that is not given back under heavy output.
   */
  private async pump(stream: Stream, pipe: ReadableStream<Uint8Array>): Promise<void> {
    const path = this.spoolPath(this.info.id, stream);
    let file: Deno.FsFile | null = null;
    const reader = pipe.getReader({ mode: "byob" });
    let buf = new Uint8Array(READ_BUFFER);
    try {
      for (;;) {
        const { done, value } = await reader.read(buf);
        if (done || value === undefined || value.length === 0) break;
        const offset = this.info[stream];
        if (!this.info.spoolFailure?.[stream]) {
          let written = 0;
          try {
            // Synchronous: a page-cache write is microseconds, and the keeper has nothing else to do.
            file ??= Deno.openSync(path, { write: true, create: true, truncate: true });
            while (written < value.length) written += file.writeSync(value.subarray(written));
          } catch (e) {
            const why = `spool ${path}: ${spoolError(e)}`;
            (this.info.spoolFailure ??= {})[stream] = { at: offset + written, why };
            this.events.log(`process ${this.info.id}: ${why}`);
          }
        }
        this.info[stream] = offset + value.length;
        this.events.grew(this, stream, this.info[stream]);
        buf = new Uint8Array(value.buffer);
      }
    } catch (e) {
      this.events.log(`process ${this.info.id}: reading ${stream}: ${(e as Error).message}`);
    } finally {
      try {
        file?.close();
      } catch {
        // already closed
      }
    }
  }
}

/** Bytes read from a pipe at once: a pipe holds 64 KiB, a fast writer is read in a few reads. */
const READ_BUFFER = 16 * 1024;

/** "No space left on device (os error 28)" reads better with the code users grep for. */
function spoolError(e: unknown): string {
  const code = (e as { code?: string }).code;
  const message = (e as Error).message ?? String(e);
  return code ? `${code}: ${message}` : message;
}
