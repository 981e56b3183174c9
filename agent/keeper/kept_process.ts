/**
 * One process the keeper started: it owns the child (so it alone can learn
 * how it ended), reads both pipes whatever happens to the agent, puts what
 * it reads into its sink (the spool for a `run` process, the program's own
 * files for a supervised one), and tells whoever listens how far each has
 * grown. A supervised process, and a run started with `stdin`, also has its
 * stdin here.
 *
 * Pipes are read continuously: a child never blocks because nobody reads
 * its output, and a sink that fails (disk full) never stops the reading.
 * The process counts as ended once its leader is reaped *and* both pipes
 * are closed, so the final sizes are final; a supervised process's leader
 * is reported as soon as it is reaped (`reaped`), since its supervisor
 * deals with what the leader left in its group.
 */
import { startTicks } from "../supervisor/process_group.ts";
import { launch } from "../supervisor/launch.ts";
import { type ChildExit, childExit } from "../child_exit.ts";
import { spawnGroup } from "../spawn.ts";
import { StdinPipe } from "../stdin_pipe.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { preciseNow, toMicros } from "../../protocol/runtime/precise_clock.ts";
import type { Zygote } from "./zygote.ts";
import type { KeptInfo, SpawnMsg } from "./messages.ts";
import { ProgramFileSink, type Sink, SpoolSink } from "./output_sink.ts";

type Stream = "stdout" | "stderr";

export interface KeptEvents {
  grew(p: KeptProcess, stream: Stream): void;
  reaped(p: KeptProcess, exit: ChildExit, ended: number): void;
  ended(p: KeptProcess): void;
  trouble(p: KeptProcess, message: string): void;
  log(message: string): void;
}

/** The agent never changes directory: a process without `cwd` runs in the keeper's, which is the agent's. */
const KEEPER_CWD = Deno.cwd();
/** Bytes read from a pipe at once: a pipe holds 64 KiB, a fast writer is read in a few reads. */
const READ_BUFFER = 16 * 1024;
/**
 * A pipe whose reads fill the buffer gets one of a pipe's whole capacity: a
 * process that writes fast costs four times fewer reads (and `grew` notes to
 * the agent), an idle or chatty one keeps the small buffer.
 */
const READ_BUFFER_BUSY = 64 * 1024;

export class KeptProcess {
  readonly info: KeptInfo;
  readonly sinks: Partial<Record<Stream, Sink>> = {};
  private readonly stdin: StdinPipe | null = null;

  /** Spawns synchronously (a spawn error throws before anything exists), then pumps. */
  constructor(
    msg: SpawnMsg,
    spoolPath: (id: string, stream: Stream) => string,
    private readonly events: KeptEvents,
    zygote: Zygote | null,
  ) {
    const { id, key, spec, live, timeoutAt, graceMs, program } = msg;
    // A zygote's stdin is /dev/null by the time it execs: a run with input is spawned directly.
    const input = !program && msg.stdin === true;
    // Read as it starts, for a start at an instant (the program runs its exec's time later).
    const startedMs = preciseNow();
    const child = program
      ? launch(program.launch)
      : input
      ? spawnGroup(spec, "piped")
      : (zygote?.take(spec) ?? spawnGroup(spec));
    const pid = child.pid;
    this.info = {
      id,
      key,
      pid,
      startTicks: startTicks(pid),
      argv: spec.argv,
      cwd: spec.cwd ?? KEEPER_CWD,
      started: Math.floor(startedMs),
      startedUs: toMicros(startedMs),
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
      ...(program && {
        program: program.name,
        paths: { stdout: program.stdout, stderr: program.stderr },
      }),
      ...(input && { input: { written: 0, closed: false } }),
    };
    for (const stream of ["stdout", "stderr"] as const) {
      if (program) {
        const path = program[stream];
        if (path !== null) {
          this.sinks[stream] = new ProgramFileSink(path, (m) => events.trouble(this, m));
        }
      } else {
        this.sinks[stream] = new SpoolSink(spoolPath(id, stream), (m) => events.log(`${id}: ${m}`));
      }
    }
    if (program) this.stdin = new StdinPipe(child.stdin, program.name);
    else if (input) this.stdin = new StdinPipe(child.stdin, id);
    this.supervise(child);
  }

  /** Where a supervised process's output files stand (for an agent that attaches). */
  fileStates(): KeptInfo["files"] {
    if (this.info.program === undefined) return undefined;
    const out: NonNullable<KeptInfo["files"]> = {};
    for (const stream of ["stdout", "stderr"] as const) {
      const s = this.sinks[stream]?.state();
      if (s) out[stream] = { size: s.size, gen: s.gen ?? 0, start: s.start ?? 0 };
    }
    return out;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.stdin === null) throw new TuttiError("ESRCH", `${this.info.id}: input is closed`);
    const written = this.stdin.write(data);
    // Counted once handed to the pipe, in order: an agent that attaches while these bytes wait
    // for the process must carry on after them, not send them again.
    if (this.info.input) this.info.input.written += data.length;
    await written;
  }

  closeInput(): void {
    this.stdin?.close();
    if (this.info.input) this.info.input.closed = true;
  }

  private async supervise(child: Deno.ChildProcess): Promise<void> {
    const status = childExit(child).then((s) => {
      const ended = Date.now();
      this.closeInput();
      this.events.reaped(this, s, ended);
      return { s, ended };
    });
    const [{ s, ended }] = await Promise.all([
      status,
      this.sinks.stdout ? this.pump("stdout", child.stdout) : null,
      this.sinks.stderr ? this.pump("stderr", child.stderr) : null,
    ]);
    this.info.ended = ended;
    this.info.code = s.code;
    this.info.signal = s.signal;
    if (s.unreadable) this.events.log(`process ${this.info.id}: ${s.unreadable}`);
    for (const sink of Object.values(this.sinks)) sink.close();
    this.events.ended(this);
  }

  /**
   * Copies one pipe into its sink. One buffer per pipe for the process's
   * life (a BYOB reader hands it back on every read), 16 KiB until a read
   * fills it, then 64 KiB: the default reader allocates 64 KiB per read,
   * which is 128 KiB held per idle process and malloc'd memory that is not
   * given back under heavy output.
   */
  private async pump(stream: Stream, pipe: ReadableStream<Uint8Array>): Promise<void> {
    const sink = this.sinks[stream]!;
    const reader = pipe.getReader({ mode: "byob" });
    let buf = new Uint8Array(READ_BUFFER);
    try {
      for (;;) {
        const { done, value } = await reader.read(buf);
        if (done || value === undefined || value.length === 0) break;
        const offset = this.info[stream];
        sink.write(value, offset);
        this.info[stream] = offset + value.length;
        const failure = sink.state().failure;
        if (failure) (this.info.spoolFailure ??= {})[stream] = failure;
        this.events.grew(this, stream);
        // The read detached `buf`; `value` is over the same memory, its whole length when full.
        buf = value.length === value.buffer.byteLength && value.length < READ_BUFFER_BUSY
          ? new Uint8Array(READ_BUFFER_BUSY)
          : new Uint8Array(value.buffer);
      }
    } catch (e) {
      this.events.log(`process ${this.info.id}: reading ${stream}: ${(e as Error).message}`);
    }
  }
}
