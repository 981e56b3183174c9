/**
 * `exit`, `output` and `state` conditions on supervised programs, fed by
 * the supervisor's own events (`ProgramSource`): nothing is polled. A target
 * may name several processes (`web:*`): the first one to meet the condition
 * meets the watch. Unlike a `run` process, a supervised process comes back
 * (autorestart, `programs restart`), so its watches follow it from run to
 * run: the output of a new run is tested as the old one was, and a state
 * reached after a restart counts.
 */
import type { StreamName } from "../../protocol/messages.ts";
import type {
  ProgramState,
  ProgramStateEvent,
  ProgramStatus,
} from "../../protocol/program_messages.ts";
import { LineSplitter } from "../../protocol/text/line_splitter.ts";
import type {
  ExitCondition,
  OutputCondition,
  StateCondition,
} from "../../protocol/watch_messages.ts";
import { type ProgramSource, resolveTarget } from "./program_source.ts";
import { WATCHED_LINES } from "./process_watch.ts";
import { BaseWatch, seconds } from "./watch.ts";

type ProgramCondition = ExitCondition | OutputCondition | StateCondition;

/** How a run ended, from a state event or a status row: `exited with code 0`, `was killed by SIGKILL`. */
function ending(code: number | null | undefined, signal: string | null | undefined): string {
  if (signal) return `was killed by ${signal}`;
  return code === null || code === undefined ? "ended" : `exited with code ${code}`;
}

/**
 * The shared part: the processes the target names, resolved when the watch
 * is requested (ESRCH when none), and the state changes that concern them.
 */
abstract class ProgramWatch extends BaseWatch {
  protected readonly names: Set<string>;

  constructor(c: ProgramCondition, timeoutMs: number, protected readonly source: ProgramSource) {
    super(c, timeoutMs);
    this.names = new Set(resolveTarget(source.processes(), c.proc));
  }

  /** The watched processes as the supervisor sees them now. */
  protected rows(): ProgramStatus[] {
    return this.source.processes().filter((r) => this.names.has(r.name));
  }

  /** Hears the state changes of the watched processes until the watch ends. */
  protected followStates(fn: (e: ProgramStateEvent) => void): void {
    this.hold(this.source.onState((e) => {
      if (!this.done && this.names.has(e.process)) fn(e);
    }));
  }

  /** Every watched process is FATAL: it will not run again unless someone starts it. */
  protected allFatal(): boolean {
    const rows = this.rows();
    return rows.length > 0 && rows.every((r) => r.state === "FATAL");
  }

  /** `web`, or `web:0, web:1` */
  protected what(): string {
    return [...this.names].join(", ");
  }
}

/**
 * A run of a watched process ends (EXITED, BACKOFF after a quick exit,
 * STOPPED after a stop): `met` with how. At once when one of them has no
 * run now (STOPPED, EXITED, BACKOFF, FATAL).
 */
export class ProgramExitWatch extends ProgramWatch {
  constructor(readonly exit: ExitCondition, timeoutMs: number, source: ProgramSource) {
    super(exit, timeoutMs, source);
  }

  protected run(): void {
    this.followStates((e) => {
      if (e.code === undefined) return;
      this.finish("met", `process ${e.process} ${ending(e.code, e.signal)} (${e.to})`);
    });
    const idle = this.rows().find((r) => r.pid === null);
    if (idle) {
      const last = idle.exitCode !== null || idle.exitSignal !== null
        ? `; its last run ${ending(idle.exitCode, idle.exitSignal)}`
        : "";
      this.finish("met", `process ${idle.name} is not running (${idle.state}${last})`);
    }
  }

  protected timeoutDetail(): string {
    return `process ${this.what()} was still running after ${seconds(this.timeoutMs)}`;
  }
}

/**
 * A watched process reaches `state`: `met` at once when one already is in
 * it, else on the state change. `failed` when every watched process is
 * FATAL (and FATAL is not what is waited for): nothing will change unless
 * someone starts it again.
 */
export class ProgramStateWatch extends ProgramWatch {
  constructor(readonly state: StateCondition, timeoutMs: number, source: ProgramSource) {
    super(state, timeoutMs, source);
  }

  protected run(): void {
    const want: ProgramState = this.state.state;
    this.followStates((e) => {
      if (e.to === want) {
        this.finish("met", `process ${e.process} entered ${want} (from ${e.from})`);
      } else if (e.to === "FATAL" && this.allFatal()) {
        this.finish("failed", `${e.message} before it reached ${want}`);
      }
    });
    const there = this.rows().find((r) => r.state === want);
    if (there) return this.finish("met", `process ${there.name} is ${want}`);
    if (want !== "FATAL" && this.allFatal()) {
      this.finish(
        "failed",
        `process ${this.what()} is FATAL: it will not reach ${want} unless started again`,
      );
    }
  }

  protected timeoutDetail(): string {
    const now = this.rows().map((r) => `${r.name} ${r.state}`).join(", ");
    return `process ${this.what()} did not reach ${this.state.state} within ${
      seconds(this.timeoutMs)
    } (now ${now || "gone"})`;
  }
}

/**
 * A line of a watched process's output matches. With `from: "start"` (the
 * default) the last bytes the agent keeps of each stream (64 KiB: what
 * `tail` shows, earlier runs included) are tested first; they are read in
 * the same step as the live listener is added, so no chunk falls between.
 * A run's unterminated last line is tested when the run ends. `failed` when
 * every watched process is FATAL.
 */
export class ProgramOutputWatch extends ProgramWatch {
  private readonly regex: RegExp;
  private readonly decoder = new TextDecoder();
  private readonly streams: StreamName[];
  /** By `process` then stream. */
  private readonly splitters = new Map<string, Map<StreamName, LineSplitter>>();
  private lines = 0;

  constructor(readonly output: OutputCondition, timeoutMs: number, source: ProgramSource) {
    super(output, timeoutMs, source);
    this.regex = new RegExp(output.pattern, output.flags);
    this.streams = output.stream ? [output.stream] : ["stdout", "stderr"];
    for (const name of this.names) {
      const byStream = new Map<StreamName, LineSplitter>();
      for (const s of this.streams) {
        byStream.set(s, new LineSplitter((line) => this.test(name, s, line), WATCHED_LINES));
      }
      this.splitters.set(name, byStream);
    }
  }

  protected run(): void {
    this.hold(this.source.onOutput((process, stream, _offset, data) => {
      if (!this.done) this.splitters.get(process)?.get(stream)?.push(data);
    }));
    this.followStates((e) => {
      // The run is over: its last line, without a newline, is a line all the same.
      if (e.code !== undefined) {
        for (const s of this.splitters.get(e.process)!.values()) if (s.flush()) return;
      }
      if (e.to === "FATAL" && this.allFatal()) {
        this.finish("failed", `${e.message} before a line matched /${this.output.pattern}/`);
      }
    });
    if (this.output.from !== "now") {
      for (const [name, byStream] of this.splitters) {
        for (const [stream, splitter] of byStream) {
          if (splitter.push(this.source.tail(name, stream).data) || this.done) return;
        }
      }
    }
    if (this.allFatal()) {
      this.finish(
        "failed",
        `process ${this.what()} is FATAL: no line matched /${this.output.pattern}/`,
      );
    }
  }

  protected timeoutDetail(): string {
    return `no line of process ${this.what()} matched /${this.output.pattern}/ within ${
      seconds(this.timeoutMs)
    } (${this.lines} lines tested)`;
  }

  private test(process: string, stream: StreamName, line: Uint8Array): boolean {
    if (this.done) return true;
    this.lines++;
    const text = this.decoder.decode(line);
    if (!this.regex.test(text)) return false;
    this.finish("met", `process ${process} printed a matching line on ${stream}`, text);
    return true;
  }
}
