/**
 * One process as the agent sees it: the keeper (agent/keeper/) owns the
 * child and its pipes; the agent holds its `ProcInfo`, reads what the keeper
 * spools (FileTail) into the live stream and the output watches, enforces
 * its timeout, signals its group, and publishes its `started` / `output` /
 * `dropped` / `exit` events.
 *
 * Live output is held back, not skipped, while the link is congested or down
 * (live_output.ts): the tails stop reading and go on when the budget drains,
 * and the `exit` event waits for them, so that a follower gets every byte
 * live before the exit. It waits EXIT_WAIT_MS at most: past that, what is
 * still held is announced as `dropped` (it is in the spool) and the exit
 * goes out. `ps` shows the exit at once.
 *
 * A process is either started by this agent or adopted from the keeper
 * after the agent restarted. An adopted one carries on from the keeper's
 * notes: event numbers continue, a pending timeout is re-armed, and live
 * output goes on from where the last agent had read the spool (noted with
 * the event numbers), so what was written while no agent ran is replayed.
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
/** How long an exit waits for held-back live output before announcing the rest as dropped. */
export const EXIT_WAIT_MS = 10_000;

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
  private readonly offDrain: () => void;
  /** The keeper's final word, while the exit waits for held-back output. */
  private final: KeptInfo | null = null;
  private exitTimer: ReturnType<typeof setTimeout> | undefined;

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
    // An adopted process's live output goes on from where the last agent had read it (what it
    // noted; it may replay a few bytes the consumer already has, which it drops by offset).
    const from = (stream: StreamName) =>
      adopted && kept.live && kept.sent ? Math.min(kept.sent[stream], kept[stream]) : kept[stream];
    const tail = (stream: StreamName) =>
      new FileTail(ctx.spool.path(kept.id, stream), from(stream), {
        deliver: (offset, data) => this.output(stream, offset, data),
        // A pooled chunk is used again once published: only when no listener (an output
        // watch) is there to keep what it is given.
        buffer: (want) =>
          this.outputListeners.size === 0 ? this.live?.[stream].readBuffer(want) : undefined,
        problem: (why) => log(`process ${kept.id}: spool ${why}`),
        // Output nobody takes (no live stream and no watch) is not read at all: `logs` reads it
        // when asked. Live output the link cannot take now waits in the spool.
        unwanted: () => this.outputListeners.size === 0 && this.live === null,
        held: () => this.live !== null && this.live[stream].held(),
      });
    this.tails = { stdout: tail("stdout"), stderr: tail("stderr") };
    this.offDrain = this.live === null ? () => {} : ctx.budget.onDrain(() => this.resume());
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
      // An agent too old to note how far it read: what the spool held is announced instead.
      for (const stream of ["stdout", "stderr"] as const) {
        if (kept.live && !kept.sent && kept[stream] > 0) {
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

  /**
   * The keeper saw it end (leader reaped, pipes closed): `ps` shows it
   * exited at once; the rest of the output goes out, then `exit`.
   */
  exited(final: KeptInfo): void {
    if (!this.running) return;
    for (const stream of ["stdout", "stderr"] as const) {
      const failure = final.spoolFailure?.[stream];
      this.grew({ t: "grew", id: final.id, stream, size: final[stream], failure });
    }
    this.cancelTimeout();
    const info = this.info;
    info.state = "exited";
    info.ended = final.ended;
    info.code = final.code;
    info.signal = final.signal;
    if (final.lost) log(`process ${this.id}: ${final.lost}`);
    this.final = final;
    if (this.caughtUp()) return this.publishExit();
    this.exitTimer = setTimeout(() => this.publishExit(), EXIT_WAIT_MS);
  }

  /** Held-back output may flow again: read on, and send the exit once all of it is out. */
  private resume(): void {
    for (const stream of ["stdout", "stderr"] as const) this.tails[stream].resume();
    if (this.final && this.caughtUp()) this.publishExit();
  }

  private caughtUp(): boolean {
    return this.tails.stdout.pending === 0 && this.tails.stderr.pending === 0;
  }

  /** The last of the output (what is still held, announced as dropped), then `exit`. */
  private publishExit(): void {
    const final = this.final;
    if (!final) return;
    this.final = null;
    clearTimeout(this.exitTimer);
    this.offDrain();
    for (const stream of ["stdout", "stderr"] as const) {
      const tail = this.tails[stream];
      const left = tail.pending;
      if (left > 0) this.live?.[stream].skip(tail.skipPending(), left);
      tail.close();
      this.live?.[stream].finish();
      const failure = final.spoolFailure?.[stream];
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
    // The input's last word comes before `exit`: the controller judges the host on both.
    this.input?.processExited();
    const info = this.info;
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
      sent: { stdout: this.tails.stdout.position, stderr: this.tails.stderr.position },
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
    ...(kept.startedUs !== undefined && { startedUs: kept.startedUs }),
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
