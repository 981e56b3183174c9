/**
 * One run of a supervised process, from its spawn until its whole process
 * group is gone: the stop (stop signal to the group, SIGKILL after
 * stoptime), stdin, and how it ended. Whoever started it (run_handle.ts:
 * the keeper, or the supervisor's own process) holds the pipes and writes
 * the output files. The state machine is the owner's
 * (supervised_process.ts); a run only reports how it ended.
 *
 * A run ends when the leader has been reaped AND its group is empty:
 * members a leader left behind get the stop signal, then SIGKILL after
 * stoptime, so a restart never overlaps the previous run's children. Then
 * the output still in the pipes is read, so that it lands before the exit
 * is reported.
 */
import type { StreamName } from "../../protocol/messages.ts";
import { setLongTimeout, withTimeout } from "../../protocol/runtime/timers.ts";
import type { ExitSignalName, SignalName } from "../../protocol/signals.ts";
import { signalGroup } from "../spawn.ts";
import { groupAlive, waitGroupGone } from "./process_group.ts";
import type { RunHandle } from "./run_handle.ts";

/** What a run needs from the process it belongs to. */
export interface RunOwner {
  readonly name: string;
  notice(message: string, pid?: number): void;
  /**
   * One chunk of output. `view` is read into again once the returned
   * promise settles: copy what must be kept.
   */
  output(stream: StreamName, view: Uint8Array): Promise<void> | void;
}

export interface Exit {
  /** null when killed by a signal. */
  code: number | null;
  signal: ExitSignalName | null;
  /** performance.now() when the leader was reaped. */
  at: number;
}

/** After SIGKILL, how long a group may take to disappear before we stop waiting. */
const KILL_WAIT_MS = 2000;
/** Once the group is gone, how long its output pipes may take to reach EOF. */
const DRAIN_MS = 1000;

/** performance.now() of an epoch-ms instant (a run adopted from an earlier agent began before this one). */
function monotonic(epochMs: number): number {
  return performance.now() - (Date.now() - epochMs);
}

export class Run {
  readonly pid: number;
  /** ms since the epoch. */
  readonly started: number;
  readonly t0: number;
  /** Start time in /proc, against pid reuse. */
  readonly startTicks: number | null;
  /** Resolves once the leader is reaped, its group is gone and its pipes are drained. */
  readonly ended: Promise<Exit>;
  private cancelKill = () => {};
  /** performance.now() when SIGKILL is due; Infinity before any stop. */
  private killAt = Infinity;
  /** The leader is reaped; the run may still wait for its group and pipes. */
  leaderExited = false;

  constructor(
    private readonly handle: RunHandle,
    private readonly owner: RunOwner,
    private readonly stopsignal: SignalName,
    private readonly stoptimeMs: number,
  ) {
    this.pid = handle.pid;
    this.started = handle.started;
    this.t0 = monotonic(handle.started);
    this.startTicks = handle.startTicks;
    handle.onOutput((stream, view) => owner.output(stream, view));
    handle.onNotice((message) => owner.notice(message, this.pid));
    this.ended = this.watch();
  }

  /** The stop signal to the group now, SIGKILL after stoptime. Only the first call counts. */
  stop(): void {
    if (this.killAt !== Infinity) return;
    this.killAt = performance.now() + this.stoptimeMs;
    this.signal(this.stopsignal);
    this.cancelKill = setLongTimeout(() => {
      this.owner.notice(
        `killing '${this.owner.name}' (${this.pid}) with SIGKILL: still running ${
          this.stoptimeMs / 1000
        } s after ${this.stopsignal}`,
        this.pid,
      );
      this.signal("SIGKILL");
    }, this.stoptimeMs);
  }

  /** A signal to the whole group. */
  signal(signal: SignalName): void {
    try {
      signalGroup(this.pid, signal);
    } catch (e) {
      this.owner.notice(
        `signal ${signal} to ${this.owner.name}: ${(e as Error).message}`,
        this.pid,
      );
    }
  }

  write(data: Uint8Array): Promise<void> {
    return this.handle.write(data);
  }

  closeInput(): void {
    this.handle.closeInput();
  }

  private async watch(): Promise<Exit> {
    const s = await this.handle.reaped;
    this.leaderExited = true;
    const exit: Exit = { code: s.code, signal: s.signal, at: monotonic(s.ended) };
    if (s.unreadable) {
      this.owner.notice(`'${this.owner.name}' (${this.pid}): ${s.unreadable}`, this.pid);
    }
    if (groupAlive(this.pid)) {
      if (this.killAt === Infinity) {
        this.owner.notice(
          `'${this.owner.name}' (${this.pid}) exited but its process group still has members: sending ${this.stopsignal}`,
          this.pid,
        );
        this.stop();
      }
      const gone = await waitGroupGone(this.pid, this.killAt) ||
        await waitGroupGone(this.pid, this.killAt + KILL_WAIT_MS);
      if (!gone) {
        this.owner.notice(
          `process group ${this.pid} of '${this.owner.name}' survives SIGKILL (uninterruptible sleep?): no longer waiting for it`,
          this.pid,
        );
      }
    }
    this.cancelKill();
    // The group is gone, so the pipes are at EOF, unless a descendant took
    // them into a session of its own: that one is not waited for long.
    await withTimeout(this.handle.drained, DRAIN_MS, () => {});
    this.handle.release();
    return exit;
  }
}
