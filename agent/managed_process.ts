/**
 * One process as the agent sees it: the keeper (agent/keeper/) owns the
 * child and its pipes; the agent holds its `ProcInfo`, reads what the keeper
 * spools (FileTail) into the live stream and the output watches, enforces
 * its timeout, signals its group, and publishes its `started` / `output` /
 * `dropped` / `exit` events.
 *
 * A process is either started by this agent or adopted from the keeper
 * after the agent restarted. An adopted one carries on from the keeper's
 * notes: event numbers continue, a pending timeout is re-armed, and the
 * output written while no agent ran is announced as a `dropped` range
 * (reason `restart`: it is in the spool) before live output resumes.
 */
import type { ProcInfo, StreamName } from "../protocol/messages.ts";
import { setLongTimeout } from "../protocol/runtime/timers.ts";
import type { SignalName } from "../protocol/signals.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { KeeperLink } from "./keeper_link.ts";
import type { GrewMsg, KeptInfo } from "./keeper/messages.ts";
import { type LiveBudget, LiveStream } from "./live_output.ts";
import { log } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { ProcEvents } from "./proc_events.ts";
import { signalGroup } from "./spawn.ts";
import { FileTail } from "./file_tail.ts";
import { RunInput } from "./run_input.ts";
import type { SpoolDir } from "./spool.ts";

/** What every process needs from the agent. */
export interface ProcessContext {
  host: string;
  outbox: Outbox;
  subjects: Subjects;
  spool: SpoolDir;
  budget: LiveBudget;
  keeper: KeeperLink;
  /** Called once, after the `exit` event. */
  onExit(p: ManagedProcess): void;
}

/** Sees every chunk after it is in the spool (watches on a process's output). */
export type OutputListener = (stream: StreamName, offset: number, data: Uint8Array) => void;

export const DEFAULT_GRACE_S = 5;
/**
 * After an agent was killed, its last events may have gone out before their
 * numbers reached the keeper: the next agent numbers from this far above the
 * last one noted, so that no number is ever used twice (the gap says what a
 * gap always says: events may be missing; `logs` has the bytes).
 */
const SEQ_MARGIN = 1024;

export class ManagedProcess {
  readonly info: ProcInfo;
  /** Resolves after the `exit` event was published. */
  readonly done: Promise<void>;
  private readonly ended = Promise.withResolvers<void>();
  private readonly events: ProcEvents;
  /** Where and why a spool file stopped being written (disk full...): bytes from there are lost. */
  readonly spoolFailure: Partial<Record<StreamName, { at: number; why: string }>> = {};
  private readonly tails: Record<StreamName, FileTail>;
  private readonly live: Record<StreamName, LiveStream> | null;
  private cancelTimeout = () => {};
  private readonly outputListeners = new Set<OutputListener>();
  /** The input of a run started with `stdin`, while its stdin is open. */
  readonly input: RunInput | null = null;
  private readonly exitListeners = new Set<(info: ProcInfo) => void>();

  constructor(
    private readonly kept: KeptInfo,
    private readonly ctx: ProcessContext,
    adopted: boolean,
  ) {
    this.info = {
      ...procInfo(kept, ctx.host),
      state: "running",
      ended: null,
      code: null,
      signal: null,
    };
    this.events = new ProcEvents(
      ctx.outbox,
      ctx.subjects,
      kept.id,
      adopted ? kept.seq + 1 + (ctx.keeper.welcome.clean ? 0 : SEQ_MARGIN) : 0,
      () => this.note(),
    );
    this.live = kept.live
      ? {
        stdout: new LiveStream(ctx.budget, this.events, "stdout"),
        stderr: new LiveStream(ctx.budget, this.events, "stderr"),
      }
      : null;
    const tail = (stream: StreamName) =>
      new FileTail(ctx.spool.path(kept.id, stream), kept[stream], {
        deliver: (offset, data) => this.output(stream, offset, data),
        problem: (why) => log(`process ${kept.id}: spool ${why}`),
        // Output nobody takes now (no live stream, or one that is blocked, and no watch) is not
        // read at all: the live stream only counts it, and `logs` reads it when asked.
        unwanted: (offset, bytes) =>
          this.outputListeners.size === 0 &&
          (this.live === null || this.live[stream].skipIfBlocked(offset, bytes)),
      });
    this.tails = { stdout: tail("stdout"), stderr: tail("stderr") };
    if (kept.input && !kept.input.closed && kept.ended === null) {
      // Subscribed before `started` goes out: whoever sees it may send the input.
      this.input = new RunInput(kept.id, {
        conn: ctx.outbox.conn,
        subjects: ctx.subjects,
        keeper: ctx.keeper,
        progress: (p) => this.events.input(p),
      }, kept.input.written);
    }
    if (!adopted) this.events.started(this.info);
    else {
      for (const stream of ["stdout", "stderr"] as const) {
        if (kept.live && kept[stream] > 0) {
          this.events.dropped({ stream, offset: 0, bytes: kept[stream], reason: "restart" });
        }
      }
    }
    for (const stream of ["stdout", "stderr"] as const) {
      const f = kept.spoolFailure?.[stream];
      if (f) this.spoolFailed(stream, f);
    }
    // Where the input starts: 0, or where an earlier agent left it (the rest is sent again).
    this.input?.announce();
    this.armTimeout();
    this.done = this.ended.promise;
  }

  get id(): string {
    return this.info.id;
  }

  /** Identity of the command, for idempotent retries. */
  get key(): string {
    return this.kept.key;
  }

  get pgid(): number {
    return this.info.pid;
  }

  get running(): boolean {
    return this.info.state === "running";
  }

  /**
   * Signals the whole group; with `graceMs`, SIGKILL follows unless the
   * process has exited by then. An exited process is left alone.
   */
  signal(signal: SignalName, graceMs?: number): void {
    if (!this.running) return;
    // The keeper has not reaped the leader while it says the process runs: its pid is its own.
    signalGroup(this.pgid, signal, true);
    if (graceMs !== undefined && signal !== "SIGKILL") {
      // Not cancelled by the exit: a descendant that ignored the signal and
      // no longer holds the pipes is still in the group and must go too.
      setLongTimeout(() => {
        try {
          signalGroup(this.pgid, "SIGKILL");
        } catch (e) {
          log(`process ${this.id}: SIGKILL after grace: ${(e as Error).message}`);
        }
      }, graceMs);
    }
  }

  /** `fn` gets every later chunk; returns its removal. */
  onOutput(fn: OutputListener): () => void {
    this.outputListeners.add(fn);
    return () => this.outputListeners.delete(fn);
  }

  /** `fn` gets the final info once, after the last output chunk; returns its removal. */
  onExit(fn: (info: ProcInfo) => void): () => void {
    this.exitListeners.add(fn);
    return () => this.exitListeners.delete(fn);
  }

  /** The keeper spooled more. */
  grew(msg: GrewMsg): void {
    if (msg.failure) this.spoolFailed(msg.stream, msg.failure);
    this.info[msg.stream] = msg.size;
    const failed = this.spoolFailure[msg.stream];
    this.tails[msg.stream].grew(failed ? Math.min(failed.at, msg.size) : msg.size);
  }

  /** The keeper saw it end (leader reaped, pipes closed): the rest of the output, then `exit`. */
  exited(final: KeptInfo): void {
    if (!this.running) return;
    for (const stream of ["stdout", "stderr"] as const) {
      const failure = final.spoolFailure?.[stream];
      this.grew({ t: "grew", id: final.id, stream, size: final[stream], failure });
      this.tails[stream].close();
      this.live?.[stream].finish();
      if (failure && final[stream] > failure.at) {
        const bytes = final[stream] - failure.at;
        this.events.dropped({
          stream,
          offset: failure.at,
          bytes,
          reason: "spool",
          why: failure.why,
        });
      }
    }
    this.cancelTimeout();
    // The input's last word comes before `exit`: the controller judges the host on both.
    this.input?.processExited();
    const info = this.info;
    info.state = "exited";
    info.ended = final.ended;
    info.code = final.code;
    info.signal = final.signal;
    if (final.lost) log(`process ${this.id}: ${final.lost}`);
    this.events.exit(info);
    this.ctx.onExit(this);
    for (const fn of this.exitListeners) tell(() => fn(info));
    this.exitListeners.clear();
    this.outputListeners.clear();
    this.ended.resolve();
  }

  private output(stream: StreamName, offset: number, data: Uint8Array): void {
    this.live?.[stream].chunk(offset, data);
    for (const fn of this.outputListeners) tell(() => fn(stream, offset, data));
  }

  /** Bytes past `failure.at` never reached the spool: announced at exit, once the size is final. */
  private spoolFailed(stream: StreamName, failure: { at: number; why: string }) {
    if (this.spoolFailure[stream]) return;
    this.spoolFailure[stream] = failure;
    log(`process ${this.id}: ${failure.why}`);
  }

  private armTimeout(): void {
    const { timeoutAt, graceMs } = this.kept;
    if (timeoutAt === null || this.kept.timedOut) return;
    this.cancelTimeout = setLongTimeout(() => {
      this.info.timedOut = true;
      this.note();
      this.signal("SIGTERM", graceMs ?? DEFAULT_GRACE_S * 1000);
    }, Math.max(0, timeoutAt - Date.now()));
  }

  /** Tells the keeper how far this agent got, for the next agent to carry on. */
  private note(): void {
    this.ctx.keeper.note({
      id: this.id,
      seq: this.events.lastSeq,
      reported: !this.running,
      timedOut: this.info.timedOut,
    });
  }
}

/** The wire's view of a process the keeper holds. */
export function procInfo(kept: KeptInfo, host: string): ProcInfo {
  return {
    id: kept.id,
    host,
    pid: kept.pid,
    argv: kept.argv,
    cwd: kept.cwd,
    state: kept.ended === null ? "running" : "exited",
    started: kept.started,
    ended: kept.ended,
    code: kept.code,
    signal: kept.signal,
    timedOut: kept.timedOut,
    stdout: kept.stdout,
    stderr: kept.stderr,
  };
}

/** A listener's bug must not stop a pump or an exit. */
function tell(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log(`process listener failed: ${(e as Error).stack ?? e}`);
  }
}
