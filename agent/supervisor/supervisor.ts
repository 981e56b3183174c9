/**
 * The supervisor of an agent's programs: the configuration in force, its
 * processes, reloads applied as a diff, the control verbs (start, stop,
 * restart, signal, status, tail, input), the event stream and log, and the
 * state file that lets a restarted agent clean up after a killed one.
 *
 * Wiring into the agent:
 *
 * ```ts
 * const sup = await Supervisor.open({
 *   stateDir: opts.stateDir,
 *   eventLog: opts.eventLog,                       // --event-log FILE, optional
 *   onEvent: (e) => publish(`tutti.log.${host}`, e), // every event, from the very first
 * });
 * if (opts.config) await sup.load({ path: opts.config });  // --config FILE
 * Deno.addSignalListener("SIGHUP", () => sup.reload().catch(log));  // error already in the event log
 * Deno.addSignalListener("SIGUSR2", () => sup.reopenLogs());
 * // verbs: sup.status(names), sup.start(names), sup.stop(names), sup.restart(names),
 * //        sup.reload(), sup.load({text, name}) for a pushed file, sup.tail(), sup.write()
 * // clean stop: await sup.shutdown();
 * ```
 *
 * Names given to start/stop/restart/signal/status: a process (`web:0`, or
 * `nginx` for a program with numprocs 1), a program (`web`, all of its
 * processes), `web:*` (the same), or `all`.
 */
import { TuttiError, type WireError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import type { SignalName } from "../../protocol/signals.ts";
import { type ConfigContext, ConfigError, fileContext, parseConfig } from "./config.ts";
import { diffProcesses, expandProcesses, type ProcessDiff, specKey } from "./diff.ts";
import { EventHub, type EventListener, type SupervisorEvent } from "./events.ts";
import { EventLog } from "./event_log.ts";
import { TAIL_BYTES } from "./output.ts";
import { RUNNING_STATES } from "./states.ts";
import { stopGroup } from "./process_group.ts";
import { withTimeout } from "../../protocol/runtime/timers.ts";
import { type RunRecord, StateFile, stopLeftovers } from "./state_file.ts";
import type { StatusRow } from "./status.ts";
import { DirectLauncher } from "./direct_launcher.ts";
import type { Adoptable, Launcher } from "./run_handle.ts";
import {
  type Outcome,
  type ProcessHost,
  type ProcessSpec,
  SupervisedProcess,
} from "./supervised_process.ts";
import { resizeTerminal } from "./terminal.ts";
import { readPasswd } from "./users.ts";

/** How long a kept run that is no longer configured gets after SIGTERM. */
const UNADOPTED_STOP_MS = 10_000;

export interface SupervisorOptions {
  /** Holds the state file, its lock, and the default output files (`programs/`). */
  stateDir: string;
  /** The event log file; none when absent. */
  eventLog?: string;
  /** Hears every event, including those of `open` (processes left by a killed agent). */
  onEvent?: EventListener;
  /** Delay unit between BACKOFF retries: 1 s, 2 s, 3 s… by default, as supervisord. */
  backoffStepMs?: number;
  /**
   * Who starts the runs: the agent's keeper (they outlive the agent, and the
   * next supervisor adopts them), or by default this process itself.
   */
  launcher?: Launcher;
}

/** A configuration file, or text pushed by a controller (`name` is used in messages). */
export type ConfigSource =
  | { path: string }
  | { text: string; name: string; baseDir?: string };

/** What a load or reload did, by process name. */
export interface ReloadResult {
  source: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

/** One line of a start/stop/restart/signal answer; `message` as supervisorctl prints it. */
export interface ActionResult {
  name: string;
  ok: boolean;
  message: string;
  error?: WireError;
}

export type OutputListener = (
  process: string,
  stream: StreamName,
  offset: number,
  chunk: Uint8Array,
) => void;

export class Supervisor {
  private processes = new Map<string, SupervisedProcess>();
  private source: ConfigSource | null = null;
  private sourceName = "";
  /** Processes left running by a killed agent: started again by the first load if unchanged. */
  private resume: Map<string, string> | null;
  /** Runs the launcher kept from an earlier agent: adopted by the first load if unchanged. */
  private adoptable: Map<string, Adoptable> | null = null;
  private readonly launcher: Launcher;
  private readonly hub = new EventHub();
  private readonly outputListeners = new Set<OutputListener>();
  /** load, reload and shutdown run one at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private closing = false;
  /** After shutdown: the state dir belongs to the next agent. */
  private released = false;
  private readonly host: ProcessHost;

  private constructor(
    private readonly opts: SupervisorOptions,
    private readonly stateFile: StateFile,
    private readonly eventLog: EventLog | null,
    resume: Map<string, string>,
  ) {
    this.resume = resume;
    this.launcher = opts.launcher ??
      new DirectLauncher((process, message) =>
        this.emit({ type: "notice", time: Date.now(), process, message })
      );
    this.host = {
      launcher: this.launcher,
      emit: (e) => this.emit(e),
      output: (p, stream, offset, view) => {
        if (this.outputListeners.size === 0) return;
        // The pump reads into the same buffer again: listeners get a copy they may keep.
        const chunk = view.slice();
        for (const fn of this.outputListeners) {
          try {
            fn(p.name, stream, offset, chunk);
          } catch (err) {
            this.notice(`output listener failed: ${(err as Error).message}`);
          }
        }
      },
      runsChanged: () => this.saveRuns(),
      backoffStepMs: opts.backoffStepMs ?? 1000,
      isClosing: () => this.closing,
    };
  }

  /**
   * Takes the state dir (one supervisor per state dir), stops what a killed
   * predecessor left running (see state_file.ts), and answers a supervisor
   * with no programs yet: `load` gives it some.
   */
  static async open(opts: SupervisorOptions): Promise<Supervisor> {
    const stateFile = StateFile.acquire(opts.stateDir);
    Deno.mkdirSync(`${opts.stateDir}/programs`, { recursive: true });
    const eventLog = opts.eventLog ? new EventLog(opts.eventLog) : null;
    const sup = new Supervisor(opts, stateFile, eventLog, new Map());
    if (opts.onEvent) sup.subscribe(opts.onEvent);
    const kept = sup.launcher.adoptable();
    sup.adoptable = new Map(kept.map((a) => [a.process, a]));
    // What the launcher still holds is adopted, not stopped: only runs nobody holds any more are.
    const held = new Set(kept.map((a) => a.handle.pid));
    const records = stateFile.read().filter((r) => !held.has(r.pid));
    for (const { record, outcome } of await stopLeftovers(records)) {
      const what = `'${record.process}' (pid ${record.pid}) left by an earlier agent`;
      const said = {
        "gone": `${what} is gone`,
        "pid reused": `${what} is gone (its pid now belongs to another process)`,
        "stopped": `${what}: stopped with ${record.stopsignal}`,
        "killed": `${what}: killed with SIGKILL after ${record.stoptime} s`,
        "stuck": `${what}: survives SIGKILL, not waiting for it any more`,
        "not permitted": `${what}: the agent may not signal it`,
      }[outcome];
      sup.emit({
        type: "notice",
        time: Date.now(),
        program: record.program,
        process: record.process,
        pid: record.pid,
        message: said,
      });
      sup.resume!.set(record.process, record.spec);
    }
    stateFile.write([]);
    return sup;
  }

  // ---- configuration

  /**
   * Applies a configuration: the first one starts its autostart programs; a
   * later one is a reload (see `reload`). A bad configuration changes
   * nothing and throws a `ConfigError` naming the file, line and key of
   * every problem (also written to the event log).
   */
  load(source: ConfigSource): Promise<ReloadResult> {
    return this.serially(() => this.apply(source));
  }

  /**
   * Re-reads the current source and applies the difference: new processes
   * are added (started if autostart), removed ones stopped, changed ones
   * restarted (started again if autostart, or if they were running),
   * unchanged ones keep running with the same pids.
   */
  reload(): Promise<ReloadResult> {
    return this.serially(() => {
      if (this.source === null) {
        throw new TuttiError("EINVAL", "no configuration loaded: nothing to reload");
      }
      return this.apply(this.source);
    });
  }

  /** The configuration's name (file path or pushed name), "" before the first load. */
  get configSource(): string {
    return this.sourceName;
  }

  private async apply(source: ConfigSource): Promise<ReloadResult> {
    this.checkOpen();
    let name = "path" in source ? source.path : source.name;
    let specs: ProcessSpec[];
    try {
      let text: string;
      let ctx: ConfigContext;
      if ("path" in source) {
        ctx = fileContext(source.path);
        try {
          text = await Deno.readTextFile(source.path);
        } catch (e) {
          throw new TuttiError("EINVAL", `${source.path}: ${(e as Error).message}`);
        }
      } else {
        text = source.text;
        ctx = {
          source: source.name,
          baseDir: source.baseDir ?? Deno.cwd(),
          uid: Deno.uid() ?? 0,
          passwd: readPasswd(),
        };
      }
      name = ctx.source;
      specs = expandProcesses(parseConfig(text, ctx), this.opts.stateDir);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.emit({
        type: "reload",
        time: Date.now(),
        source: name,
        ok: false,
        added: [],
        changed: [],
        removed: [],
        message: `${
          this.source ? "reload" : "load"
        } of ${name} refused, nothing changed:\n${message}`,
      });
      throw e instanceof TuttiError ? e : new TuttiError("EINVAL", message);
    }
    const first = this.source === null;
    const current = new Map([...this.processes].map(([n, p]) => [n, p.spec]));
    const diff = diffProcesses(current, specs);
    this.emit({
      type: "reload",
      time: Date.now(),
      source: name,
      ok: true,
      added: diff.added.map((s) => s.name),
      changed: diff.changed.map((s) => s.name),
      removed: diff.removed,
      message: describeDiff(first ? "loaded" : "reloaded", name, diff),
    });
    this.source = source;
    this.sourceName = name;
    await this.applyDiff(diff, specs);
    return {
      source: name,
      added: diff.added.map((s) => s.name),
      changed: diff.changed.map((s) => s.name),
      removed: diff.removed,
      unchanged: diff.unchanged,
    };
  }

  private async applyDiff(diff: ProcessDiff, specs: ProcessSpec[]): Promise<void> {
    const wasRunning = new Set<string>();
    const leaving = [...diff.removed, ...diff.changed.map((s) => s.name)];
    await Promise.all(leaving.map(async (name) => {
      const p = this.processes.get(name)!;
      if (RUNNING_STATES.includes(p.state)) wasRunning.add(name);
      await p.stop();
      p.dispose();
    }));
    const next = new Map<string, SupervisedProcess>();
    const fresh: SupervisedProcess[] = [];
    for (const spec of specs) {
      let p = this.processes.get(spec.name);
      if (p === undefined || leaving.includes(spec.name)) {
        p = new SupervisedProcess(spec, this.host, specKey(spec));
        fresh.push(p);
      }
      next.set(spec.name, p);
    }
    this.processes = next;
    const resume = this.resume;
    this.resume = null;
    const adoptable = this.adoptable;
    this.adoptable = null;
    for (const p of fresh) {
      const kept = adoptable?.get(p.name);
      if (kept !== undefined && kept.key === specKey(p.spec)) {
        adoptable!.delete(p.name);
        p.adopt(kept.handle);
        continue;
      }
      const resumed = resume?.get(p.name) === specKey(p.spec);
      if (resumed && !p.spec.program.autostart) {
        this.notice(`starting '${p.name}' again: it was running when the earlier agent died`);
      }
      p.autostart(resumed || wasRunning.has(p.name));
    }
    // Kept runs of processes removed or changed while no agent ran: stopped, as a reload would.
    await Promise.all([...adoptable?.values() ?? []].map((a) => this.stopUnadopted(a)));
  }

  private async stopUnadopted(a: Adoptable): Promise<void> {
    const pid = a.handle.pid;
    this.emit({
      type: "notice",
      time: Date.now(),
      process: a.process,
      pid,
      message:
        `'${a.process}' (pid ${pid}) left by an earlier agent is no longer in the configuration as it was: stopping it`,
    });
    const outcome = await stopGroup(pid, "SIGTERM", UNADOPTED_STOP_MS).catch(() => "not permitted");
    if (outcome === "killed") {
      this.notice(
        `'${a.process}' (pid ${pid}): killed with SIGKILL after ${UNADOPTED_STOP_MS / 1000} s`,
      );
    }
    await withTimeout(a.handle.drained, 1000, () => {});
    a.handle.release();
  }

  // ---- control

  /** Starts each named process; each answer comes once it is RUNNING or has failed. */
  start(names: string[]): Promise<ActionResult[]> {
    return this.act(names, (p) => p.start());
  }

  /** Stops each named process (stop signal to its group, SIGKILL after stoptime). */
  stop(names: string[]): Promise<ActionResult[]> {
    return this.act(names, (p) => p.stop());
  }

  /** Stop, then start, each named process. */
  restart(names: string[]): Promise<ActionResult[]> {
    return this.act(names, async (p) => {
      await p.stop();
      return p.start();
    });
  }

  /** Sends a signal to the group of each named running process; the state does not change. */
  signal(names: string[], signal: SignalName): Promise<ActionResult[]> {
    return this.act(names, (p) => Promise.resolve(p.signal(signal)));
  }

  /** One row per process (all, or the named ones) in configuration order. Unknown names: ESRCH. */
  status(names: string[] = []): StatusRow[] {
    const { procs, unknown } = this.resolve(names.length === 0 ? ["all"] : names);
    if (unknown.length > 0) {
      throw new TuttiError("ESRCH", `no such process: ${unknown.join(", ")}`);
    }
    return procs.map((p) => p.status());
  }

  /** Rows of the processes `names` match (all without names), and the names that match none. */
  statusReport(names: string[] = []): { rows: StatusRow[]; unknown: string[] } {
    const { procs, unknown } = this.resolve(names.length === 0 ? ["all"] : names);
    return { rows: procs.map((p) => p.status()), unknown };
  }

  /** Whether `name` is a process of the configuration in force. */
  has(name: string): boolean {
    return this.processes.has(name);
  }

  /**
   * The last `bytes` (at most 64 KiB) of a process's stream, and the stream
   * offset of their first byte: live chunks from `onOutput` continue from
   * `offset + data.length`. A discarded stream has nothing.
   */
  tail(name: string, stream: StreamName, bytes = TAIL_BYTES): { data: Uint8Array; offset: number } {
    const tail = this.one(name).tails[stream];
    const data = tail.read(bytes);
    return { data, offset: tail.end - data.length };
  }

  /** Writes to a running process's stdin (for `attach`). */
  write(name: string, data: Uint8Array): Promise<void> {
    return this.one(name).write(data);
  }

  /** Whether a process runs under a pseudo-terminal (its program has `tty: true`). */
  isTerminal(name: string): boolean {
    return this.one(name).spec.program.tty;
  }

  /** Sets the window size of a process's pseudo-terminal (the program gets SIGWINCH). */
  resize(name: string, rows: number, cols: number): Promise<void> {
    const p = this.one(name);
    if (!p.spec.program.tty) {
      throw new TuttiError(
        "ENOTTY",
        `${name}: not under a pseudo-terminal (its program has no tty: true)`,
      );
    }
    if (p.pid === null) throw new TuttiError("ESRCH", `${name}: not running`);
    return resizeTerminal(p.pid, rows, cols);
  }

  /** Closes a running process's stdin. */
  closeInput(name: string): void {
    this.one(name).closeInput();
  }

  /** Process names in configuration order, then `program:*` for multi-process programs. */
  names(): string[] {
    const groups = new Set<string>();
    for (const p of this.processes.values()) {
      if (p.spec.program.numprocs > 1) groups.add(`${p.spec.program.name}:*`);
    }
    return [...this.processes.keys(), ...groups];
  }

  // ---- events, output, logs

  /** `fn` hears every later event; returns its removal. */
  subscribe(fn: EventListener): () => void {
    return this.hub.subscribe(fn);
  }

  /** Every later event as an async iterator, until `signal` aborts. */
  events(signal?: AbortSignal): AsyncGenerator<SupervisorEvent> {
    return this.hub.iterate(signal);
  }

  /** `fn` gets every later chunk of every process's output; returns its removal. */
  onOutput(fn: OutputListener): () => void {
    this.outputListeners.add(fn);
    return () => this.outputListeners.delete(fn);
  }

  /** After a rotation (SIGUSR2, `programs reopen-logs`): output files and the event log are reopened. */
  reopenLogs(): void {
    this.launcher.reopen();
    this.eventLog?.reopen();
  }

  /**
   * Stops every process (stop signal, SIGKILL after each one's stoptime),
   * then releases the state dir. Nothing starts afterwards.
   */
  shutdown(): Promise<void> {
    return this.serially(async () => {
      if (this.closing) return;
      this.closing = true;
      await Promise.all([...this.processes.values()].map((p) => p.stop()));
      for (const p of this.processes.values()) p.dispose();
      this.stateFile.write([]);
      this.released = true;
      this.stateFile.release();
      this.eventLog?.close();
    });
  }

  /**
   * Lets go of every process without stopping it: nothing is started,
   * restarted or stopped any more, the state dir is released. For a restart
   * in place, where the launcher (the keeper) keeps the runs for the next
   * supervisor to adopt.
   */
  detach(): Promise<void> {
    return this.serially(() => {
      if (this.closing) return Promise.resolve();
      this.closing = true;
      for (const p of this.processes.values()) p.detach();
      this.released = true;
      this.stateFile.release();
      this.eventLog?.close();
      return Promise.resolve();
    });
  }

  // ---- inside

  private emit(e: SupervisorEvent): void {
    this.eventLog?.append(e);
    this.hub.emit(e);
  }

  private notice(message: string): void {
    this.emit({ type: "notice", time: Date.now(), message });
  }

  private saveRuns(): void {
    if (this.released) return;
    const runs: RunRecord[] = [];
    for (const p of this.processes.values()) {
      const run = p.runRecord;
      if (run === null) continue;
      const cfg = p.spec.program;
      runs.push({
        process: p.name,
        program: cfg.name,
        ...run,
        stopsignal: cfg.stopsignal,
        stoptime: cfg.stoptime,
        spec: specKey(p.spec),
      });
    }
    try {
      this.stateFile.write(runs);
    } catch (e) {
      this.notice(`state file ${this.stateFile.path}: ${(e as Error).message}`);
    }
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => {});
    return run;
  }

  private checkOpen(): void {
    if (this.closing) throw new TuttiError("EINVAL", "the supervisor has shut down");
  }

  private async act(
    names: string[],
    fn: (p: SupervisedProcess) => Promise<Outcome>,
  ): Promise<ActionResult[]> {
    const { procs, unknown } = this.resolve(names);
    const results = await Promise.all(procs.map(async (p) => {
      try {
        return { name: p.name, ...await fn(p) };
      } catch (e) {
        const error = e instanceof TuttiError
          ? e.toWire()
          : { code: "EINTERNAL" as const, message: String(e) };
        return { name: p.name, ok: false, message: error.message, error };
      }
    }));
    for (const name of unknown) {
      const error = { code: "ESRCH" as const, message: `${name}: no such process` };
      results.push({ name, ok: false, message: "no such process", error });
    }
    return results;
  }

  private one(name: string): SupervisedProcess {
    const p = this.processes.get(name);
    if (p === undefined) throw new TuttiError("ESRCH", `${name}: no such process`);
    return p;
  }

  /** Processes named by `names` (each once, in configuration order) and the names that match none. */
  private resolve(names: string[]): { procs: SupervisedProcess[]; unknown: string[] } {
    const chosen = new Set<SupervisedProcess>();
    const unknown: string[] = [];
    const all = [...this.processes.values()];
    for (const name of names) {
      let found: SupervisedProcess[];
      if (name === "all") {
        found = all;
      } else if (this.processes.has(name)) {
        found = [this.processes.get(name)!];
      } else {
        const group = name.endsWith(":*") ? name.slice(0, -2) : name;
        found = all.filter((p) => p.spec.program.name === group);
      }
      if (found.length === 0 && name !== "all") unknown.push(name);
      for (const p of found) chosen.add(p);
    }
    return { procs: all.filter((p) => chosen.has(p)), unknown };
  }
}

function describeDiff(verb: string, source: string, diff: ProcessDiff): string {
  const parts: string[] = [];
  const list = (what: string, names: string[]) => {
    if (names.length > 0) parts.push(`${what} ${names.join(", ")}`);
  };
  list("added", diff.added.map((s) => s.name));
  list("changed", diff.changed.map((s) => s.name));
  list("removed", diff.removed);
  return `${verb} ${source}: ${parts.length > 0 ? parts.join("; ") : "no change"}`;
}

export { ConfigError };
