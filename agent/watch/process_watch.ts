/**
 * Conditions on managed processes, fed by the process table's callbacks
 * (`ProcessSource`): nothing is polled.
 */
import type { StreamName } from "../../protocol/messages.ts";
import { LineSplitter, type LineSplitterOptions } from "../../protocol/text/line_splitter.ts";
import type { ExitCondition, OutputCondition } from "../../protocol/watch_messages.ts";
import type { ProcessExit, ProcessSource } from "./process_source.ts";
import { BaseWatch, seconds } from "./watch.ts";

export function describeExit(e: ProcessExit): string {
  return e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

/** The process exits: `met` with its status (at once if it has already exited). */
export class ExitWatch extends BaseWatch {
  constructor(
    readonly exit: ExitCondition,
    timeoutMs: number,
    private readonly source: ProcessSource,
  ) {
    super(exit, timeoutMs);
  }

  protected run(): void {
    const off = this.source.onExit(this.exit.proc, (e) => {
      this.finish("met", `process ${this.exit.proc} ${describeExit(e)}`);
    });
    this.hold(off);
  }

  protected timeoutDetail(): string {
    return `process ${this.exit.proc} was still running after ${seconds(this.timeoutMs)}`;
  }
}

/**
 * Output is tested as text lines: a CR before the newline is not part of the
 * line, and a line longer than 64 KiB is tested on its first 64 KiB (the rest
 * is skipped), so the regex's work per line is bounded.
 */
export const WATCHED_LINES: LineSplitterOptions = { onLongLine: "skip", stripCR: true };

/** Replayed from the spool in pieces of this size. */
const REPLAY_CHUNK = 256 * 1024;

interface Chunk {
  stream: StreamName;
  offset: number;
  data: Uint8Array;
}

/**
 * A line of output matches. With `from: "start"` (the default) the output
 * already written is read back from the spool first, so a line printed just
 * before the watch was requested still counts; live chunks that arrive
 * meanwhile wait, and byte offsets make sure no byte is tested twice or
 * skipped. If the process exits without a matching line, the watch fails.
 */
export class OutputWatch extends BaseWatch {
  private readonly regex: RegExp;
  private readonly decoder = new TextDecoder();
  private readonly splitters = new Map<StreamName, LineSplitter>();
  /** Next byte to test in each stream. */
  private readonly scanned: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  /** Live chunks waiting for the replay to end; null once live chunks are tested directly. */
  private pending: Chunk[] | null = [];
  private exited: ProcessExit | null = null;
  private lines = 0;

  constructor(
    readonly output: OutputCondition,
    timeoutMs: number,
    private readonly source: ProcessSource,
  ) {
    super(output, timeoutMs);
    this.regex = new RegExp(output.pattern, output.flags);
    const streams: StreamName[] = output.stream ? [output.stream] : ["stdout", "stderr"];
    for (const s of streams) {
      this.splitters.set(s, new LineSplitter((line) => this.test(s, line), WATCHED_LINES));
    }
  }

  protected async run(): Promise<void> {
    const proc = this.output.proc;
    this.hold(this.source.onOutput(proc, (stream, offset, data) => {
      if (this.pending) this.pending.push({ stream, offset, data });
      else this.feed(stream, offset, data);
    }));
    this.hold(this.source.onExit(proc, (e) => {
      this.exited = e;
      if (this.pending === null) this.ended();
    }));
    if (this.output.from !== "now") {
      for (const stream of this.splitters.keys()) {
        for (;;) {
          const data = await this.source.readOutput(
            proc,
            stream,
            this.scanned[stream],
            REPLAY_CHUNK,
          );
          if (this.done || data.length === 0) break;
          this.feed(stream, this.scanned[stream], data);
          if (this.done) return;
        }
      }
    } else {
      // Only what comes from now on: start each stream where its first live chunk starts.
      this.scanned.stdout = this.scanned.stderr = -1;
    }
    const waiting = this.pending ?? [];
    this.pending = null;
    for (const c of waiting) {
      if (this.done) return;
      this.feed(c.stream, c.offset, c.data);
    }
    if (this.exited && !this.done) this.ended();
  }

  protected timeoutDetail(): string {
    return `no line of process ${this.output.proc} matched /${this.output.pattern}/ within ${
      seconds(this.timeoutMs)
    } (${this.lines} lines tested)`;
  }

  private feed(stream: StreamName, offset: number, data: Uint8Array): void {
    const splitter = this.splitters.get(stream);
    if (!splitter || this.done) return;
    let at = this.scanned[stream];
    if (at < 0) at = offset;
    if (offset + data.length <= at) return; // already tested (replayed from the spool)
    if (offset < at) data = data.subarray(at - offset);
    // offset > at cannot happen with a process table that reports every chunk: if it does,
    // bytes are missing and the line they belong to is tested as it is.
    this.scanned[stream] = Math.max(at, offset) + data.length;
    splitter.push(data);
  }

  private test(stream: StreamName, line: Uint8Array): boolean {
    this.lines++;
    const text = this.decoder.decode(line);
    if (!this.regex.test(text)) return false;
    this.finish("met", `process ${this.output.proc} printed a matching line on ${stream}`, text);
    return true;
  }

  /** The process exited: test the unterminated last lines, then give up. */
  private ended(): void {
    for (const s of this.splitters.values()) if (s.flush()) return;
    this.finish(
      "failed",
      `process ${this.output.proc} ${
        describeExit(this.exited!)
      } before a line matched /${this.output.pattern}/`,
    );
  }
}
