/**
 * One supervised process (`web:0`) and its state machine. `changeState` is
 * the only place that assigns a state; it checks the transition against
 * states.ts and emits the event, so the event log and `tutti.log.<host>`
 * see every change and nothing else.
 *
 * Semantics are supervisord's (process.py), driven by timers and exits
 * instead of its polling loop:
 * - start: STARTING; still up after `starttime` → RUNNING.
 * - dies before `starttime` (or cannot be spawned) → BACKOFF, retried after
 *   1 s, 2 s, 3 s… (`backoffStepMs` per retry); when `startretries` retries
 *   have failed too → FATAL.
 * - exits after RUNNING → EXITED, `expected` when the exit code is in
 *   `exitcodes` (a death by signal never is); then restarted when
 *   `autorestart` is `always`, or `unexpected` and the exit was not expected.
 * - stop: STOPPING, `stopsignal` to the process group, SIGKILL to the group
 *   after `stoptime`; STOPPED once the group is gone. Stopping a process in
 *   BACKOFF cancels the retry (→ STOPPED).
 *
 * Differences, on purpose:
 * - Crash loops end. A run that ends unexpectedly within
 *   `quickRunMs(starttime)` (10 × starttime, at least 10 s) of its start is
 *   a quick crash; after `startretries` restarts that all crashed quickly
 *   (1 + startretries quick crashes in a row) the process goes
 *   EXITED → FATAL instead of restarting forever (supervisord issue 405).
 *   An expected exit, or a run that lasts longer, resets the count.
 * - A run ends when its whole process group is gone, not only its leader
 *   (run.ts): a restart never overlaps the previous run's children.
 */
import { type ErrorCode, TuttiError, type WireError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import { setLongTimeout } from "../../protocol/runtime/timers.ts";
import type { ExitSignalName, SignalName } from "../../protocol/signals.ts";
import { log } from "../log.ts";
import type { ProgramConfig } from "./config.ts";
import type { StateEvent, SupervisorEvent } from "./events.ts";
import { TailBuffer } from "./output.ts";
import { type Exit, Run, type RunOwner } from "./run.ts";
import type { Launcher, RunHandle } from "./run_handle.ts";
import { canTransition, type ProcessState, RUNNING_STATES, STOPPED_STATES } from "./states.ts";
import { describeProcess, type StatusRow } from "./status.ts";

/** One process of a program, with the files its output goes to. */
export interface ProcessSpec {
  program: ProgramConfig;
  /** `web:0` … `web:N-1`, or `web` when numprocs is 1. */
  name: string;
  index: number;
  /** null: discarded. */
  stdoutPath: string | null;
  stderrPath: string | null;
}

/** What a process needs from its supervisor. */
export interface ProcessHost {
  emit(e: SupervisorEvent): void;
  /** Who starts runs and holds their pipes. */
  readonly launcher: Launcher;
  /** Every chunk of output, after it is written to its file. */
  output(p: SupervisedProcess, stream: StreamName, offset: number, chunk: Uint8Array): void;
  /** A run began or ended: the state file follows. */
  runsChanged(): void;
  /** Delay unit between BACKOFF retries (supervisord: 1 s). */
  readonly backoffStepMs: number;
  /** True once the supervisor shuts down: nothing is started or restarted any more. */
  isClosing(): boolean;
}

/** The result of a start or stop, in supervisorctl's words. */
export interface Outcome {
  ok: boolean;
  /** `started`, `already started`, `stopped`, `not running`, or the error's message. */
  message: string;
  error?: WireError;
}

/** How long an unexpected run may last and still count as a quick crash. */
export function quickRunMs(starttimeS: number): number {
  return Math.max(10_000, 10 * starttimeS * 1000);
}

export class SupervisedProcess implements RunOwner {
  private current: ProcessState = "STOPPED";
  private run: Run | null = null;
  /** Cancels the starttime timer while STARTING, the retry timer while BACKOFF. */
  private cancelTimer: (() => void) | undefined;
  /** BACKOFF entries since the last RUNNING (supervisord's `backoff`). */
  private backoff = 0;
  /** Quick unexpected exits in a row after RUNNING. */
  private quickCrashes = 0;
  private spawnerr: string | null = null;
  private lastError: WireError | null = null;
  private lastStart: number | null = null;
  private lastStop: number | null = null;
  private lastExit: { code: number | null; signal: ExitSignalName | null } | null = null;
  private readonly waiters = new Set<() => void>();
  readonly tails: Record<StreamName, TailBuffer> = {
    stdout: new TailBuffer(),
    stderr: new TailBuffer(),
  };
  /** A start the launcher has not answered yet: start, stop and autostart wait for it. */
  private spawning: Promise<void> | null = null;

  constructor(
    readonly spec: ProcessSpec,
    private readonly host: ProcessHost,
    /** The definition's identity (diff.ts specKey), which its runs carry. */
    private readonly key: string,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get state(): ProcessState {
    return this.current;
  }

  get pid(): number | null {
    return this.run?.pid ?? null;
  }

  /** The current run, for the state file. */
  get runRecord(): { pid: number; startTicks: number | null; started: number } | null {
    const r = this.run;
    return r === null ? null : { pid: r.pid, startTicks: r.startTicks, started: r.started };
  }

  /** The one place a state is assigned. A transition states.ts does not allow is a bug: logged, refused. */
  private changeState(
    to: ProcessState,
    detail: Omit<StateEvent, "type" | "time" | "program" | "process" | "from" | "to">,
  ): void {
    const from = this.current;
    if (!canTransition(from, to)) {
      log(`BUG: ${this.name}: transition ${from} -> ${to} refused (${detail.message})`);
      return;
    }
    this.current = to;
    this.host.emit({
      type: "state",
      time: Date.now(),
      program: this.spec.program.name,
      process: this.name,
      from,
      to,
      ...detail,
    });
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves once `ok(state)` holds. */
  private waitFor(ok: (s: ProcessState) => boolean): Promise<void> {
    if (ok(this.current)) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        if (!ok(this.current)) return;
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  /**
   * Starts the process and resolves like `supervisorctl start`: once it is
   * RUNNING (`started`), or with the error if it fails first.
   */
  async start(): Promise<Outcome> {
    await this.spawning;
    if (RUNNING_STATES.includes(this.current)) return { ok: true, message: "already started" };
    if (this.current === "STOPPING") await this.waitFor((s) => s !== "STOPPING");
    if (this.host.isClosing()) {
      return failure("ESRCH", `${this.name}: the supervisor is shutting down`);
    }
    if (!STOPPED_STATES.includes(this.current)) return { ok: true, message: "already started" };
    this.backoff = 0;
    this.quickCrashes = 0;
    this.spawn();
    await this.spawning;
    await this.waitFor((s) => s !== "STARTING");
    if (this.current === "RUNNING") return { ok: true, message: "started" };
    const error = this.lastError ??
      { code: "ESPAWN", message: `${this.name}: abnormal termination` };
    return { ok: false, message: error.message, error };
  }

  /** Starts it if `autostart` says so (a load, a reload, an agent start). */
  autostart(force = false): void {
    if ((force || this.spec.program.autostart) && this.current === "STOPPED") this.spawn();
  }

  /**
   * Takes over a run an earlier agent started (the keeper kept it): as if it
   * had been started now, with its real start time, so `starttime` counts
   * from when it really began and an end it met while no agent ran is
   * judged as any other (autorestart, backoff, FATAL).
   */
  adopt(handle: RunHandle): void {
    const cfg = this.spec.program;
    this.lastStart = handle.started;
    const run = new Run(handle, this, cfg.stopsignal, cfg.stoptime * 1000);
    this.run = run;
    this.host.runsChanged();
    this.changeState("STARTING", {
      pid: run.pid,
      message: `adopted: '${this.name}' with pid ${run.pid}, running since ${
        new Date(run.started).toISOString()
      }`,
    });
    const left = cfg.starttime * 1000 - (Date.now() - run.started);
    this.cancelTimer = setLongTimeout(() => this.startTimeElapsed(run), Math.max(0, left));
    run.ended.then((exit) => this.finish(run, exit));
  }

  /** Stops the process and its whole group; resolves once it is stopped. */
  async stop(): Promise<Outcome> {
    await this.spawning;
    switch (this.current) {
      case "BACKOFF":
        this.cancelTimer?.();
        this.cancelTimer = undefined;
        this.changeState("STOPPED", { message: `stopped: ${this.name} (while in BACKOFF)` });
        return { ok: true, message: "stopped" };
      case "STARTING":
      case "RUNNING": {
        const run = this.run!;
        this.cancelTimer?.();
        this.cancelTimer = undefined;
        const cfg = this.spec.program;
        this.changeState("STOPPING", {
          pid: run.pid,
          message: `stopping: ${this.name} (${cfg.stopsignal} to process group ${run.pid})`,
        });
        run.stop();
        break;
      }
      case "STOPPING":
        break;
      default:
        return { ok: true, message: "not running" };
    }
    await this.waitFor((s) => s !== "STOPPING");
    return { ok: true, message: "stopped" };
  }

  /** Sends `signal` to the process group without changing the state. */
  signal(signal: SignalName): Outcome {
    if (this.run === null) return failure("ESRCH", `${this.name}: not running`);
    this.run.signal(signal);
    return { ok: true, message: `signalled ${signal}` };
  }

  /** Writes to the program's stdin. */
  write(data: Uint8Array): Promise<void> {
    if (this.run === null) throw new TuttiError("ESRCH", `${this.name}: not running`);
    return this.run.write(data);
  }

  /** Closes the program's stdin (end of input). */
  closeInput(): void {
    if (this.run === null) throw new TuttiError("ESRCH", `${this.name}: not running`);
    this.run.closeInput();
  }

  /** Lets go of the run without stopping it (its timers end; its launcher keeps it). */
  detach(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.run = null;
  }

  /** After the last stop: no more output goes to the files. */
  dispose(): void {
    this.host.launcher.dispose(this.name);
  }

  status(): StatusRow {
    const run = this.run;
    const uptime = run === null ? null : (Date.now() - run.started) / 1000;
    return {
      name: this.name,
      program: this.spec.program.name,
      state: this.current,
      pid: run?.pid ?? null,
      uptime,
      description: describeProcess(
        this.name,
        this.current,
        run?.pid ?? null,
        uptime,
        this.spawnerr,
        this.lastStart,
        this.lastStop,
      ),
      started: this.lastStart,
      stopped: this.lastStop,
      exitCode: this.lastExit?.code ?? null,
      exitSignal: this.lastExit?.signal ?? null,
      spawnerr: this.current === "BACKOFF" || this.current === "FATAL" ? this.spawnerr : null,
      ...(this.spec.program.tty && { tty: true }),
    };
  }

  notice(message: string, pid?: number): void {
    this.host.emit({
      type: "notice",
      time: Date.now(),
      program: this.spec.program.name,
      process: this.name,
      pid,
      message,
    });
  }

  /** Each chunk a run reads, once it is in its file: the tail and the listeners. */
  output(stream: StreamName, view: Uint8Array): void {
    const offset = this.tails[stream].end;
    this.tails[stream].push(view);
    this.host.output(this, stream, offset, view);
  }

  // ---- the machine

  private spawn(): void {
    const cfg = this.spec.program;
    this.spawnerr = null;
    this.lastError = null;
    this.lastStart = Date.now();
    const started = this.host.launcher.start({
      process: this.name,
      key: this.key,
      launch: {
        argv: cfg.argv,
        cwd: cfg.workingdir,
        env: {
          TUTTI_PROGRAM: cfg.name,
          TUTTI_PROCESS: this.name,
          TUTTI_PROCESS_NUM: String(this.spec.index),
          ...cfg.env,
        },
        umask: cfg.umask,
        user: cfg.user,
        discardStdout: this.spec.stdoutPath === null,
        discardStderr: this.spec.stderrPath === null,
        ...(cfg.tty && { tty: true }),
      },
      stdout: this.spec.stdoutPath,
      stderr: this.spec.stderrPath,
    });
    this.spawning = started.then(
      (handle) => this.begin(handle),
      (e) => {
        const error = e instanceof TuttiError
          ? e.toWire()
          : { code: "ESPAWN" as ErrorCode, message: String(e) };
        this.spawnerr = error.message;
        this.lastError = {
          code: error.code,
          message: `${this.name}: spawn error: ${error.message}`,
        };
        this.changeState("STARTING", { message: `spawnerr: ${this.name}: ${error.message}` });
        this.enterBackoff({ message: `spawnerr: ${this.name}: ${error.message}` });
      },
    ).finally(() => this.spawning = null);
  }

  private begin(handle: RunHandle): void {
    const cfg = this.spec.program;
    const run = new Run(handle, this, cfg.stopsignal, cfg.stoptime * 1000);
    this.run = run;
    this.host.runsChanged();
    this.changeState("STARTING", {
      pid: run.pid,
      message: `spawned: '${this.name}' with pid ${run.pid}`,
    });
    this.cancelTimer = setLongTimeout(() => this.startTimeElapsed(run), cfg.starttime * 1000);
    run.ended.then((exit) => this.finish(run, exit));
  }

  private startTimeElapsed(run: Run): void {
    // A leader already gone is judged by its exit time, in `finish`.
    if (this.run !== run || this.current !== "STARTING" || run.leaderExited) return;
    this.cancelTimer = undefined;
    this.enterRunning(run);
  }

  private enterRunning(run: Run): void {
    this.backoff = 0;
    this.changeState("RUNNING", {
      pid: run.pid,
      message:
        `success: ${this.name} entered RUNNING state, process has stayed up for > than ${this.spec.program.starttime} seconds (starttime)`,
    });
  }

  private enterBackoff(
    detail: Omit<StateEvent, "type" | "time" | "program" | "process" | "from" | "to">,
  ): void {
    const cfg = this.spec.program;
    this.backoff++;
    this.changeState("BACKOFF", detail);
    if (this.backoff > cfg.startretries) {
      this.backoff = 0;
      this.changeState("FATAL", {
        message: `gave up: ${this.name} entered FATAL state, too many start retries too quickly`,
      });
      return;
    }
    if (this.host.isClosing()) return;
    this.cancelTimer = setLongTimeout(() => {
      this.cancelTimer = undefined;
      if (this.current === "BACKOFF" && !this.host.isClosing()) this.spawn();
    }, this.backoff * this.host.backoffStepMs);
  }

  private finish(run: Run, exit: Exit): void {
    if (this.run !== run) return;
    const cfg = this.spec.program;
    this.run = null;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.host.runsChanged();
    this.lastStop = Date.now();
    this.lastExit = { code: exit.code, signal: exit.signal };
    const how = exit.code !== null ? `exit status ${exit.code}` : `terminated by ${exit.signal}`;
    const expected = exit.code !== null && cfg.exitcodes.includes(exit.code);
    const ranMs = exit.at - run.t0;
    const detail = { pid: run.pid, code: exit.code, signal: exit.signal };

    if (this.current === "STOPPING") {
      this.changeState("STOPPED", { ...detail, message: `stopped: ${this.name} (${how})` });
      return;
    }
    if (this.current === "STARTING" && ranMs < cfg.starttime * 1000) {
      this.spawnerr = "Exited too quickly (process log may have details)";
      this.lastError = { code: "ESPAWN", message: `${this.name}: exited too quickly (${how})` };
      this.enterBackoff({ ...detail, message: `exited: ${this.name} (${how}; not expected)` });
      return;
    }
    // The starttime timer had not fired yet although the run lasted long enough.
    if (this.current === "STARTING") this.enterRunning(run);

    this.changeState("EXITED", {
      ...detail,
      expected,
      message: `exited: ${this.name} (${how}; ${expected ? "expected" : "not expected"})`,
    });
    const quick = !expected && ranMs < quickRunMs(cfg.starttime);
    this.quickCrashes = quick ? this.quickCrashes + 1 : 0;
    const restart = cfg.autorestart === "always" ||
      (cfg.autorestart === "unexpected" && !expected);
    if (!restart || this.host.isClosing()) return;
    if (this.quickCrashes > cfg.startretries) {
      const n = this.quickCrashes;
      this.quickCrashes = 0;
      const within = quickRunMs(cfg.starttime) / 1000;
      this.spawnerr =
        `Exited unexpectedly ${n} times in a row, each within ${within} s of its start`;
      this.changeState("FATAL", {
        message:
          `gave up: ${this.name} entered FATAL state, exited unexpectedly ${n} times in a row, each within ${within} s of its start`,
      });
      return;
    }
    this.spawn();
  }
}

function failure(code: ErrorCode, message: string): Outcome {
  return { ok: false, message, error: { code, message } };
}
