/**
 * One run of a supervised process, from its spawn until its whole process
 * group is gone: the output pumps, stdin, and the stop (stop signal to the
 * group, SIGKILL after stoptime). The state machine is the owner's
 * (supervised_process.ts); a run only reports how it ended.
 *
 * A run ends when the leader has been reaped AND its group is empty:
 * members a leader left behind get the stop signal, then SIGKILL after
 * stoptime, so a restart never overlaps the previous run's children. Then
 * the output still in the pipes is read, so that it lands before the exit
 * is reported.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import { setLongTimeout, withTimeout } from "../../protocol/runtime/timers.ts";
import type { ExitSignalName, SignalName } from "../../protocol/signals.ts";
import { childExit } from "../child_exit.ts";
import { signalGroup } from "../spawn.ts";
import { groupAlive, startTicks, waitGroupGone } from "./process_group.ts";

/** What a run needs from the process it belongs to. */
export interface RunOwner {
  readonly name: string;
  notice(message: string, pid?: number): void;
  /**
   * One chunk of output. `view` is read into again once the returned
   * promise settles: copy what must be kept.
   */
  output(stream: StreamName, view: Uint8Array): Promise<void>;
}

export interface Exit {
  /** null when killed by a signal. */
  code: number | null;
  signal: ExitSignalName | null;
  /** performance.now() when the leader was reaped. */
  at: number;
}

/** Bytes read from an output pipe at a time. */
const PIPE_CHUNK = 64 * 1024;
/** Input waiting for a program that does not read it; more is refused. */
const STDIN_MAX = 1024 * 1024;
/** After SIGKILL, how long a group may take to disappear before we stop waiting. */
const KILL_WAIT_MS = 2000;
/** Once the group is gone, how long its output pipes may take to reach EOF. */
const DRAIN_MS = 1000;

export class Run {
  readonly pid: number;
  /** ms since the epoch. */
  readonly started = Date.now();
  readonly t0 = performance.now();
  /** Start time in /proc, recorded in the state file against pid reuse. */
  readonly startTicks: number | null;
  /** Resolves once the leader is reaped, its group is gone and its pipes are drained. */
  readonly ended: Promise<Exit>;
  private stdin: WritableStreamDefaultWriter<Uint8Array> | null;
  private stdinPending = 0;
  private cancelKill = () => {};
  /** performance.now() when SIGKILL is due; Infinity before any stop. */
  private killAt = Infinity;
  /** The leader is reaped; the run may still wait for its group and pipes. */
  leaderExited = false;

  constructor(
    child: Deno.ChildProcess,
    private readonly owner: RunOwner,
    private readonly stopsignal: SignalName,
    private readonly stoptimeMs: number,
    piped: { stdout: boolean; stderr: boolean },
  ) {
    this.pid = child.pid;
    this.startTicks = startTicks(child.pid);
    this.stdin = child.stdin.getWriter();
    const pumps: Promise<void>[] = [];
    if (piped.stdout) pumps.push(this.pump("stdout", child.stdout));
    if (piped.stderr) pumps.push(this.pump("stderr", child.stderr));
    this.ended = this.watch(child, Promise.all(pumps));
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

  async write(data: Uint8Array): Promise<void> {
    if (this.stdin === null) throw new TuttiError("ESRCH", `${this.owner.name}: input is closed`);
    if (this.stdinPending + data.length > STDIN_MAX) {
      throw new TuttiError(
        "EIO",
        `${this.owner.name}: more than ${STDIN_MAX} bytes of input wait (the program does not read it)`,
      );
    }
    this.stdinPending += data.length;
    try {
      await this.stdin.write(data);
    } catch (e) {
      throw new TuttiError("EIO", `${this.owner.name}: input: ${(e as Error).message}`);
    } finally {
      this.stdinPending -= data.length;
    }
  }

  closeInput(): void {
    this.stdin?.close().catch(() => {});
    this.stdin = null;
  }

  private async watch(child: Deno.ChildProcess, pumps: Promise<unknown>): Promise<Exit> {
    const s = await childExit(child);
    this.leaderExited = true;
    const exit: Exit = { code: s.code, signal: s.signal, at: performance.now() };
    if (s.unreadable) {
      this.owner.notice(`'${this.owner.name}' (${this.pid}): ${s.unreadable}`, this.pid);
    }
    this.closeInput();
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
    await withTimeout(pumps, DRAIN_MS, () => {});
    return exit;
  }

  /**
   * Copies one pipe to the owner until EOF (it may outlive the run). One
   * buffer is read into again and again, so a program that writes without
   * pause costs no allocation per chunk.
   */
  private async pump(stream: StreamName, pipe: ReadableStream<Uint8Array>): Promise<void> {
    const reader = pipe.getReader({ mode: "byob" });
    let buffer = new ArrayBuffer(PIPE_CHUNK);
    try {
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done || value === undefined) break;
        await this.owner.output(stream, value);
        buffer = value.buffer as ArrayBuffer;
      }
    } catch (e) {
      this.owner.notice(`reading ${stream}: ${(e as Error).message}`, this.pid);
    }
  }
}
