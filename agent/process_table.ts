/**
 * The agent's process table: id → process, idempotent `run`, generated ids,
 * and the expiry of exited entries (by count and by age) with their spool
 * files. Exited entries stay so that a controller that lost its connection
 * can recover every exit status with `ps`.
 */
import { TuttiError } from "../protocol/errors.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { setLongTimeout, UNREF_CLOCK } from "../protocol/runtime/timers.ts";
import type { ProcInfo, PsRequest, RunRequest, StreamName } from "../protocol/messages.ts";
import { ManagedProcess, type OutputListener, type ProcessContext } from "./managed_process.ts";
import type { SpawnSpec } from "./spawn.ts";

export interface TableLimits {
  /** Exited entries kept. */
  keep: number;
  /** Exited entries older than this (ms) are removed. */
  keepForMs: number;
}

export class ProcessTable {
  private readonly procs = new Map<string, ManagedProcess>();
  /** Exited entries in the order they exited: the oldest is first to expire. */
  private readonly exited = new Map<string, ManagedProcess>();
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

  get(id: string): ManagedProcess | undefined {
    return this.procs.get(id);
  }

  /**
   * Starts `req`, or answers the existing process when the id is taken by the
   * same command (a retry). Synchronous up to the spawn, so two copies of one
   * request can never both start.
   */
  run(req: RunRequest): { proc: ManagedProcess; existing: boolean } {
    const spec: SpawnSpec = {
      argv: req.argv ?? ["/bin/sh", "-c", req.shell!],
      cwd: req.cwd,
      env: req.env,
      clearEnv: req.clearEnv,
    };
    const key = commandKey(spec);
    const id = req.id ?? this.newId();
    // Every child learns where it runs, so one command line can act per host (`$TUTTI_HOST`).
    spec.env = { TUTTI_HOST: this.ctx.host, TUTTI_PROC: id, ...spec.env };
    const old = this.procs.get(id);
    if (old) {
      if (old.key === key) return { proc: old, existing: true };
      throw new TuttiError(
        "EEXIST",
        `process id ${id} is already used on ${this.ctx.host} by another command (${
          old.info.argv.join(" ").slice(0, 200)
        })`,
      );
    }
    const proc = new ManagedProcess(id, key, spec, req, this.ctx);
    this.procs.set(id, proc);
    this.runningCount++;
    return { proc, existing: false };
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
    if (!p.running) {
      const t = setTimeout(() => cb(p.info), 0);
      return () => clearTimeout(t);
    }
    return p.onExit((info) => cb(info));
  }

  /** `cb` with every chunk `id` writes from now on. */
  onOutput(id: string, cb: OutputListener): () => void {
    const p = this.known(id);
    return p.running ? p.onOutput(cb) : () => {};
  }

  /** Spooled output of `id` from `offset` (up to what has been written). */
  readOutput(id: string, stream: StreamName, offset: number, limit: number): Promise<Uint8Array> {
    const p = this.known(id);
    return this.ctx.spool.read(id, stream, offset, limit, p.info[stream]);
  }

  private known(id: string): ManagedProcess {
    const p = this.procs.get(id);
    if (!p) throw new TuttiError("ESRCH", `no process ${JSON.stringify(id)} on ${this.ctx.host}`);
    return p;
  }

  /** Processes still running (for a clean stop). */
  runningProcs(): ManagedProcess[] {
    return [...this.procs.values()].filter((p) => p.running);
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
    this.exited.set(p.id, p);
    this.expire();
  }

  /** Drops exited entries beyond `keep` or older than `keepFor`, then arms one timer for the next. */
  private expire(): void {
    const now = Date.now();
    for (const [id, p] of this.exited) {
      const old = (p.info.ended ?? now) + this.limits.keepForMs <= now;
      if (!old && this.exited.size <= this.limits.keep) break;
      this.exited.delete(id);
      this.procs.delete(id);
      this.ctx.spool.remove(id);
    }
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

/** What makes two run requests "the same command" for an idempotent retry. */
function commandKey(spec: SpawnSpec): string {
  const env = spec.env ? Object.entries(spec.env).sort(([a], [b]) => a < b ? -1 : 1) : [];
  return JSON.stringify([spec.argv, spec.cwd ?? null, env, spec.clearEnv ?? false]);
}
