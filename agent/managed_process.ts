/**
 * One process the agent started, from spawn to exit: its `ProcInfo`, the
 * pumps that copy its output to the spool and the live stream, its timeout,
 * signal escalation, and its `started` / `exit` events.
 *
 * The pipes are read continuously, so a child never blocks because nobody
 * reads its output; the spool write is the only backpressure. The process
 * counts as exited once its leader has exited *and* its output pipes are
 * closed, so `exit` comes after the last output event and `logs` can promise
 * completeness. (A background descendant that keeps the pipes open keeps the
 * process running: signal the group to end it.)
 */
import type { ProcInfo, RunRequest, StreamName } from "../protocol/messages.ts";
import { setLongTimeout } from "../protocol/runtime/timers.ts";
import type { SignalName } from "../protocol/signals.ts";
import type { Subjects } from "../protocol/subjects.ts";
import { childExit } from "./child_exit.ts";
import { type LiveBudget, LiveStream } from "./live_output.ts";
import { log } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { ProcEvents } from "./proc_events.ts";
import { signalGroup, spawnGroup, type SpawnSpec } from "./spawn.ts";
import type { SpoolDir } from "./spool.ts";

/** What every process needs from the agent. */
export interface ProcessContext {
  host: string;
  outbox: Outbox;
  subjects: Subjects;
  spool: SpoolDir;
  budget: LiveBudget;
  /** Called once, after the `exit` event. */
  onExit(p: ManagedProcess): void;
}

/** Sees every chunk after it is in the spool (watches on a process's output). */
export type OutputListener = (stream: StreamName, offset: number, data: Uint8Array) => void;

const DEFAULT_GRACE_S = 5;
/** The agent never changes directory: what a process without `cwd` runs in. */
const AGENT_CWD = Deno.cwd();

export class ManagedProcess {
  readonly info: ProcInfo;
  /** Resolves after the `exit` event was published. */
  readonly done: Promise<void>;
  private readonly child: Deno.ChildProcess;
  private readonly events: ProcEvents;
  /** Where and why a spool file stopped being written (disk full...): bytes from there are lost. */
  readonly spoolFailure: Partial<Record<StreamName, { at: number; why: string }>> = {};
  /** Cancels the `timeout` of the request, if any. */
  private cancelTimeout = () => {};
  private leaderExited = false;
  private readonly outputListeners = new Set<OutputListener>();
  private readonly exitListeners = new Set<(info: ProcInfo) => void>();

  /** Spawns (synchronously: a spawn error throws before anything is recorded) and starts pumping. */
  constructor(
    readonly id: string,
    /** Identity of the command, for idempotent retries. */
    readonly key: string,
    spec: SpawnSpec,
    req: RunRequest,
    private readonly ctx: ProcessContext,
  ) {
    this.child = spawnGroup(spec);
    this.info = {
      id,
      host: ctx.host,
      pid: this.child.pid,
      argv: spec.argv,
      cwd: spec.cwd ?? AGENT_CWD,
      state: "running",
      started: Date.now(),
      ended: null,
      code: null,
      signal: null,
      timedOut: false,
      stdout: 0,
      stderr: 0,
    };
    this.events = new ProcEvents(ctx.outbox, ctx.subjects, id);
    this.events.started(this.info);
    const live = req.live ?? true;
    const out = live ? new LiveStream(ctx.budget, this.events, "stdout") : null;
    const err = live ? new LiveStream(ctx.budget, this.events, "stderr") : null;
    if (req.timeout !== undefined) {
      const graceMs = (req.grace ?? DEFAULT_GRACE_S) * 1000;
      this.cancelTimeout = setLongTimeout(() => {
        this.info.timedOut = true;
        this.signal("SIGTERM", graceMs);
      }, req.timeout * 1000);
    }
    this.done = this.supervise(out, err);
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
    signalGroup(this.pgid, signal, !this.leaderExited);
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

  private async supervise(out: LiveStream | null, err: LiveStream | null): Promise<void> {
    let ended = 0;
    const status = childExit(this.child).then((s) => {
      ended = Date.now();
      this.leaderExited = true;
      return s;
    });
    const [s] = await Promise.all([
      status,
      this.pump("stdout", this.child.stdout, out),
      this.pump("stderr", this.child.stderr, err),
    ]);
    this.cancelTimeout();
    out?.finish();
    err?.finish();
    const info = this.info;
    info.state = "exited";
    info.ended = ended;
    info.signal = s.signal;
    info.code = s.code;
    if (s.unreadable) log(`process ${this.id}: ${s.unreadable}`);
    this.events.exit(info);
    this.ctx.onExit(this);
    for (const fn of this.exitListeners) tell(() => fn(info));
    this.exitListeners.clear();
    this.outputListeners.clear();
  }

  private async pump(
    stream: StreamName,
    pipe: ReadableStream<Uint8Array>,
    live: LiveStream | null,
  ): Promise<void> {
    const spool = this.ctx.spool.writer(this.id, stream);
    const reader = pipe.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const offset = this.info[stream];
        if (!this.spoolFailure[stream]) {
          try {
            await spool.write(value);
          } catch (e) {
            // Keep reading: a full disk must not block the child. `logs` reports the loss.
            const why = `spool ${spool.path}: ${(e as Error).message}`;
            this.spoolFailure[stream] = { at: offset, why };
            log(`process ${this.id}: ${why}`);
          }
        }
        this.info[stream] = offset + value.length;
        live?.chunk(offset, value);
        for (const fn of this.outputListeners) tell(() => fn(stream, offset, value));
      }
    } catch (e) {
      log(`process ${this.id}: reading ${stream}: ${(e as Error).message}`);
    } finally {
      spool.close();
    }
  }
}

/** A listener's bug must not stop a pump or an exit. */
function tell(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    log(`process listener failed: ${(e as Error).stack ?? e}`);
  }
}
