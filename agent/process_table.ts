/**
 * The agent's process table: id → process, idempotent `run`, generated ids,
 * and the expiry of exited entries (by count and by age) with their records
 * and spool files. Exited entries stay so that a controller that lost its
 * connection can recover every exit status with `ps`; an exited entry is
 * its `ProcInfo` and nothing more.
 *
 * The keeper holds the processes themselves. A restarted agent fills its
 * table from the keeper's (`adopt`): running processes carry on, those that
 * ended while no agent ran have their `exit` published now.
 */
import { TuttiError } from "../protocol/errors.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { setLongTimeout, UNREF_CLOCK } from "../protocol/runtime/timers.ts";
import type { ProcInfo, PsRequest, RunRequest, StreamName } from "../protocol/messages.ts";
import {
  DEFAULT_GRACE_S,
  ManagedProcess,
  type OutputListener,
  type ProcessContext,
  procInfo,
} from "./managed_process.ts";
import { readPasswd, resolveUser, type UserSpec } from "./supervisor/users.ts";
import type { ExitedMsg, GrewMsg, KeptInfo, SpawnSpec } from "./keeper/messages.ts";
import type { ScheduledSpawn } from "./keeper_link.ts";
import { ANCHOR_AGE_MS, atInstant } from "./instant.ts";
import { checkProgram } from "./spawn.ts";
import { preciseNow } from "../protocol/runtime/precise_clock.ts";

export interface TableLimits {
  /** Exited entries kept. */
  keep: number;
  /** Exited entries older than this (ms) are removed. */
  keepForMs: number;
}

/** An exited process: what `ps` shows, what `logs` needs, nothing else. */
export interface ExitedProcess {
  readonly id: string;
  readonly key: string;
  readonly info: ProcInfo;
  readonly spoolFailure: ManagedProcess["spoolFailure"];
  readonly running: false;
}

type Entry = ManagedProcess | ExitedProcess;

/** A run to start at an instant (the request's `startUs` entry for this host). */
export interface StartAt {
  /** µs since the epoch, on this host's clock. */
  us: number;
  /** Told once the start is ready and waits for the instant (the early answer goes out). */
  scheduled(): void;
}

/** A start later than a year ahead is almost certainly a unit mistake. */
const MAX_AHEAD_MS = 365 * 86400 * 1000;

export class ProcessTable {
  private readonly procs = new Map<string, Entry>();
  /** Exited entries in the order they exited: the oldest is first to expire. */
  private readonly exited = new Map<string, ExitedProcess>();
  /** Runs waiting for the keeper's answer, by id: a retry of one joins it. */
  private readonly startingRuns = new Map<
    string,
    { key: string; started: Promise<ManagedProcess> }
  >();
  /**
   * Runs held until their instant, by id: not in the table yet (`ps` does
   * not list them), and a signal cancels them.
   */
  private readonly scheduledRuns = new Map<
    string,
    { key: string; started: Promise<ManagedProcess>; cancel(): void }
  >();
  private runningCount = 0;
  private cancelExpiry = () => {};
  private expiryAt = Infinity;
  private readonly ctx: ProcessContext;

  constructor(
    ctx: Omit<ProcessContext, "onExit">,
    private readonly limits: TableLimits,
  ) {
    this.ctx = { ...ctx, onExit: (p) => this.exitedNow(p) };
  }

  get running(): number {
    return this.runningCount;
  }

  get(id: string): Entry | undefined {
    return this.procs.get(id);
  }

  /**
   * `id`'s entry, once a run of it that is still being started has been
   * answered: a request that follows a `run` (a signal sent right after it)
   * must find the process, as it did when spawning was synchronous.
   */
  async lookup(id: string): Promise<Entry | undefined> {
    const pending = this.startingRuns.get(id);
    if (pending) await pending.started.catch(() => {});
    return this.procs.get(id);
  }

  /** Whether a run is waiting for the keeper's answer. */
  get starting(): boolean {
    return this.startingRuns.size > 0;
  }

  /** Resolves once every run being started has been answered (for `ps`). */
  async settled(): Promise<void> {
    if (!this.starting) return;
    await Promise.all([...this.startingRuns.values()].map((s) => s.started.catch(() => {})));
  }

  /**
   * Starts `req`, or answers the existing process when the id is taken by the
   * same command (a retry). The id is taken before the keeper is asked, so
   * two copies of one request can never both start.
   */
  async run(req: RunRequest, at?: StartAt): Promise<{ proc: Entry; existing: boolean }> {
    const spec: SpawnSpec = {
      argv: req.argv ?? ["/bin/sh", "-c", req.shell!],
      cwd: req.cwd,
      env: req.env,
      clearEnv: req.clearEnv,
    };
    if (req.user !== undefined) spec.user = this.runAs(req.user);
    const key = commandKey(spec, req.stdin === true);
    const id = req.id ?? this.newId();
    // Every child learns where it runs, so one command line can act per host (`$TUTTI_HOST`).
    spec.env = { TUTTI_HOST: this.ctx.host, TUTTI_PROC: id, ...spec.env };
    const old = this.procs.get(id);
    if (old) {
      if (old.key === key) {
        // A retried run with input learns where the input stands (its sender may be a new one).
        if (old instanceof ManagedProcess) old.input?.announce();
        return { proc: old, existing: true };
      }
      throw new TuttiError(
        "EEXIST",
        `process id ${id} is already used on ${this.ctx.host} by another command (${
          old.info.argv.join(" ").slice(0, 200)
        })`,
      );
    }
    const held = this.scheduledRuns.get(id);
    if (held) {
      if (held.key !== key) {
        throw new TuttiError(
          "EEXIST",
          `process id ${id} is held for its start instant on ${this.ctx.host} by another command`,
        );
      }
      at?.scheduled();
      return { proc: await held.started, existing: true };
    }
    const pending = this.startingRuns.get(id);
    if (pending) {
      if (pending.key !== key) {
        throw new TuttiError(
          "EEXIST",
          `process id ${id} is being started on ${this.ctx.host} by another command`,
        );
      }
      return { proc: await pending.started, existing: true };
    }
    if (at) return { proc: await this.startAt(id, key, spec, req, at), existing: false };
    const started = this.start(id, key, spec, req);
    this.startingRuns.set(id, { key, started });
    try {
      return { proc: await started, existing: false };
    } finally {
      this.startingRuns.delete(id);
    }
  }

  /**
   * The user a `run --user` names, checked as programs' `user:` is
   * (unknown: ENOENT; another user without root: EPERM).
   */
  private runAs(user: string): UserSpec {
    if (!this.ctx.keeper.welcome.users) {
      // A keeper from before users would run it as itself without a word.
      throw new TuttiError(
        "ENOTSUP",
        `run as ${user}: this agent's keeper is older than run --user (a clean stop of the agent, ` +
          "SIGTERM, ends it; the next start starts a new one)",
      );
    }
    return resolveUser(user, readPasswd(), Deno.uid() ?? 0);
  }

  private async start(id: string, key: string, spec: SpawnSpec, req: RunRequest) {
    const kept = await this.ctx.keeper.spawn({
      id,
      key,
      spec,
      live: req.live ?? true,
      timeoutAt: req.timeout === undefined ? null : Date.now() + req.timeout * 1000,
      graceMs: req.timeout === undefined ? null : (req.grace ?? DEFAULT_GRACE_S) * 1000,
      ...(req.stdin && { stdin: true }),
    });
    const proc = new ManagedProcess(kept, this.ctx, false);
    this.procs.set(id, proc);
    this.runningCount++;
    return proc;
  }

  /**
   * A run held until its instant: refused when the instant has passed (it
   * could no longer start with the others), else prepared at once (spawn
   * errors are answered now), then started by the keeper at the instant.
   */
  private async startAt(
    id: string,
    key: string,
    spec: SpawnSpec,
    req: RunRequest,
    at: StartAt,
  ): Promise<ManagedProcess> {
    const atMs = at.us / 1000;
    const now = preciseNow(ANCHOR_AGE_MS);
    if (atMs <= now) {
      throw new TuttiError(
        "ETIMEDOUT",
        `the start instant ${new Date(atMs).toISOString()} had passed by ${
          (now - atMs).toFixed(1)
        } ms when the request reached ${this.ctx.host}: not started`,
      );
    }
    if (atMs - now > MAX_AHEAD_MS) {
      throw new TuttiError("EINVAL", `field "startUs.${this.ctx.host}": more than a year ahead`);
    }
    const msg = {
      id,
      key,
      spec,
      live: req.live ?? true,
      timeoutAt: req.timeout === undefined ? null : Math.round(atMs + req.timeout * 1000),
      graceMs: req.timeout === undefined ? null : (req.grace ?? DEFAULT_GRACE_S) * 1000,
      ...(req.stdin && { stdin: true }),
    };
    const keeper = this.ctx.keeper;
    const spawn = keeper.welcome.scheduling
      ? keeper.schedule({ ...msg, startUs: at.us })
      : waitThenSpawn(id, atMs, () => keeper.spawn(msg), spec);
    const started = spawn.started.then((kept) => {
      const proc = new ManagedProcess(kept, this.ctx, false);
      this.procs.set(id, proc);
      this.runningCount++;
      return proc;
    });
    started.catch(() => {}); // its error is the answer below
    this.scheduledRuns.set(id, { key, started, cancel: spawn.cancel });
    try {
      await spawn.scheduled;
      at.scheduled();
      return await started;
    } finally {
      this.scheduledRuns.delete(id);
    }
  }

  /** Whether `id` is held for its start instant. */
  isScheduled(id: string): boolean {
    return this.scheduledRuns.has(id);
  }

  /**
   * Cancels the start of `id`, held for its instant: null once it will not
   * start, or the process when it had started already.
   */
  async cancelScheduled(id: string): Promise<ManagedProcess | null> {
    const held = this.scheduledRuns.get(id);
    if (!held) return null;
    held.cancel();
    try {
      return await held.started;
    } catch {
      return null;
    }
  }

  /**
   * What the keeper holds when this agent attaches: processes still running
   * carry on, those that ended meanwhile have their `exit` published (once:
   * the keeper notes it), the rest are history for `ps` and `logs`.
   */
  adopt(procs: KeptInfo[]): void {
    for (const kept of procs) {
      // Supervised runs are the supervisor's (agent/keeper_launcher.ts).
      if (kept.program !== undefined || this.procs.has(kept.id)) continue;
      if (kept.ended !== null && kept.reported) {
        // Its exit went out from an earlier agent: history, without a word.
        const info = procInfo(kept, this.ctx.host);
        this.remember({
          id: kept.id,
          key: kept.key,
          info,
          spoolFailure: kept.spoolFailure ?? {},
          running: false,
        });
        continue;
      }
      const proc = new ManagedProcess(kept, this.ctx, true);
      this.procs.set(kept.id, proc);
      this.runningCount++;
      if (kept.ended !== null) proc.exited(kept);
    }
    this.expire();
  }

  grew(msg: GrewMsg): void {
    const p = this.procs.get(msg.id);
    if (p instanceof ManagedProcess) p.grew(msg);
  }

  exitedMsg(msg: ExitedMsg): void {
    const p = this.procs.get(msg.info.id);
    if (p instanceof ManagedProcess) p.exited(msg.info);
  }

  list(req: PsRequest): ProcInfo[] {
    this.expire();
    const out: ProcInfo[] = [];
    if (req.procs) {
      for (const id of req.procs) {
        const p = this.procs.get(id);
        if (p && (!req.running || p.running)) out.push(p.info);
      }
    } else {
      for (const p of this.procs.values()) if (!req.running || p.running) out.push(p.info);
    }
    return out;
  }

  // What watches need (agent/watch/process_source.ts), without seeing the table itself.

  has(id: string): boolean {
    return this.procs.has(id);
  }

  /** `cb` once `id` has exited, after its last output (on a later tick if it already has). */
  onExit(id: string, cb: (exit: { code: number | null; signal: string | null }) => void) {
    const p = this.known(id);
    if (!(p instanceof ManagedProcess) || !p.running) {
      const t = setTimeout(() => cb(p.info), 0);
      return () => clearTimeout(t);
    }
    return p.onExit((info) => cb(info));
  }

  /** `cb` with every chunk `id` writes from now on. */
  onOutput(id: string, cb: OutputListener): () => void {
    const p = this.known(id);
    return p instanceof ManagedProcess && p.running ? p.onOutput(cb) : () => {};
  }

  /** Spooled output of `id` from `offset` (up to what has been written). */
  readOutput(id: string, stream: StreamName, offset: number, limit: number): Promise<Uint8Array> {
    const p = this.known(id);
    return this.ctx.spool.read(id, stream, offset, limit, p.info[stream]);
  }

  private known(id: string): Entry {
    const p = this.procs.get(id);
    if (!p) throw new TuttiError("ESRCH", `no process ${JSON.stringify(id)} on ${this.ctx.host}`);
    return p;
  }

  /** Processes still running (for a clean stop). */
  runningProcs(): ManagedProcess[] {
    return [...this.procs.values()].filter((p): p is ManagedProcess => p.running);
  }

  /** A fresh `p…` id (protocol/runtime/ids.ts), never one the table holds. */
  private newId(): string {
    for (;;) {
      const id = newId("p");
      if (!this.procs.has(id)) return id;
    }
  }

  private exitedNow(p: ManagedProcess): void {
    this.runningCount--;
    // Only the metadata stays: the process object, its tails and listeners go.
    this.remember({
      id: p.id,
      key: p.key,
      info: p.info,
      spoolFailure: p.spoolFailure,
      running: false,
    });
    this.expire();
  }

  private remember(entry: ExitedProcess): void {
    this.procs.set(entry.id, entry);
    this.exited.set(entry.id, entry);
  }

  /** Drops exited entries beyond `keep` or older than `keepFor`, then arms one timer for the next. */
  private expire(): void {
    const now = Date.now();
    const gone: string[] = [];
    for (const [id, p] of this.exited) {
      const old = (p.info.ended ?? now) + this.limits.keepForMs <= now;
      if (!old && this.exited.size <= this.limits.keep) break;
      this.exited.delete(id);
      this.procs.delete(id);
      gone.push(id);
    }
    this.ctx.keeper.forget(gone);
    const first = this.exited.values().next();
    const at = first.done ? Infinity : (first.value.info.ended ?? now) + this.limits.keepForMs;
    if (at === this.expiryAt) return;
    this.cancelExpiry();
    this.cancelExpiry = () => {};
    this.expiryAt = at;
    if (at === Infinity) return;
    // Age expiry needs a clock; one timer for the oldest entry, never a poll (and never
    // keeping the agent alive: unref'd).
    this.cancelExpiry = setLongTimeout(
      () => {
        this.expiryAt = Infinity;
        this.expire();
      },
      Math.max(0, at - now) + 10,
      UNREF_CLOCK,
    );
  }
}

/**
 * A keeper too old to hold a spawn for its instant: the agent waits itself,
 * then asks for the spawn (one hop more after the instant). The program is
 * checked first, so that a spawn error is still answered at once.
 */
function waitThenSpawn(
  id: string,
  atMs: number,
  spawn: () => Promise<KeptInfo>,
  spec: SpawnSpec,
): ScheduledSpawn {
  checkProgram(spec);
  const started = Promise.withResolvers<KeptInfo>();
  const cancel = atInstant(atMs, () => spawn().then(started.resolve, started.reject));
  return {
    scheduled: Promise.resolve(),
    started: started.promise,
    cancel: () => {
      if (!cancel()) return;
      started.reject(
        new TuttiError(
          "ECANCELED",
          `process ${id} was signalled before its start instant: it never started`,
        ),
      );
    },
  };
}

/** What makes two run requests "the same command" for an idempotent retry. */
function commandKey(spec: SpawnSpec, stdin: boolean): string {
  const env = spec.env ? Object.entries(spec.env).sort(([a], [b]) => a < b ? -1 : 1) : [];
  const key: unknown[] = [spec.argv, spec.cwd ?? null, env, spec.clearEnv ?? false];
  // Only when set: the keys of runs without input, or without a user, stay what earlier agents
  // recorded.
  if (stdin) key.push("stdin");
  if (spec.user) key.push({ uid: spec.user.uid });
  return JSON.stringify(key);
}
