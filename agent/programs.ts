/**
 * The supervisor of programs (agent/supervisor/) wired into the agent:
 *
 * - opened before the agent connects, so programs start at boot even while
 *   the broker is unreachable; a bad `--config` stops the agent from
 *   starting, with the file, line and key of every problem;
 * - every event is appended to the event log (by the supervisor) and
 *   published on `P.log.<host>` as `{v, host, ...event}` with `Tutti-Type`
 *   the event's type; events from before the connection are kept (the
 *   last `EARLY_EVENTS_MAX`) and published once it is up;
 * - SIGHUP re-reads the configuration (a bad file keeps the running one;
 *   the refusal is an event), SIGUSR2 reopens the output files;
 * - output is published live on `P.prog.<host>.<program>.<n>.<stream>` only
 *   for processes someone follows (a lease, renewed by the follower), so
 *   supervised programs cost nothing on the network while nobody looks.
 */
import type { Alerter } from "./alerts/alerter.ts";
import type { Launcher } from "./supervisor/run_handle.ts";
import { H } from "../protocol/headers.ts";
import type { StreamName } from "../protocol/messages.ts";
import type {
  ProgramEvent,
  ProgramStateEvent,
  ProgramStatus,
} from "../protocol/program_messages.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { LiveBudget } from "./live_output.ts";
import { log } from "./log.ts";
import type { Outbox } from "./outbox.ts";
import { Supervisor } from "./supervisor/supervisor.ts";
import type { ProgramSource } from "./watch/program_source.ts";
import type { ManagedPid } from "./telemetry/sampler.ts";

/** Events kept while the agent is not yet connected. */
const EARLY_EVENTS_MAX = 1000;

export interface ProgramsOptions {
  host: string;
  stateDir: string;
  eventLog: string;
  /** `--config`: loaded before `open` returns. */
  config: string | null;
  /** Who starts the supervised runs (the agent's keeper). */
  launcher?: Launcher;
  /** Sends the alerts of unexpected deaths and FATAL programs (`--alert-*`). */
  alerter?: Alerter | null;
}

/** A clean stop waits this long for the alerts in flight. */
const ALERT_DRAIN_MS = 3000;

interface Link {
  outbox: Outbox;
  subjects: Subjects;
  budget: LiveBudget;
}

export class Programs implements ProgramSource {
  private link: Link | null = null;
  private early: ProgramEvent[] = [];
  private earlyDropped = 0;
  /** Process name → end of its follow lease (ms since the epoch). */
  private readonly leases = new Map<string, number>();
  /** The end of the longest lease: past it, nothing is followed at all. */
  private latest = 0;
  private stopOutput: (() => void) | null = null;
  private readonly signals: [Deno.Signal, () => void][] = [];
  private shutDown = false;

  private constructor(
    readonly host: string,
    readonly sup: Supervisor,
    private readonly alerter: Alerter | null,
  ) {}

  /** Opens the supervisor on the state dir and loads `--config`; throws on a bad file. */
  static async open(opts: ProgramsOptions): Promise<Programs> {
    let p: Programs | null = null;
    // Events of `open` itself (processes left by a killed agent) come before `p` exists.
    const first: ProgramEvent[] = [];
    const sup = await Supervisor.open({
      stateDir: opts.stateDir,
      eventLog: opts.eventLog,
      launcher: opts.launcher,
      // The engine's events are the wire's: a change on either side fails to compile here.
      onEvent: (e: ProgramEvent) => {
        opts.alerter?.event(e);
        if (p === null) first.push(e);
        else p.publish(e);
      },
    });
    p = new Programs(opts.host, sup, opts.alerter ?? null);
    for (const e of first) p.publish(e);
    if (opts.config !== null) {
      try {
        await sup.load({ path: opts.config });
      } catch (e) {
        await sup.shutdown();
        throw e;
      }
    }
    p.listen("SIGHUP", () => {
      sup.reload().catch((e) => log(`reload: ${(e as Error).message}`));
    });
    p.listen("SIGUSR2", () => sup.reopenLogs());
    return p;
  }

  /** The connection is up: events from now on are published, the early ones first. */
  connected(outbox: Outbox, subjects: Subjects, budget: LiveBudget): void {
    this.link = { outbox, subjects, budget };
    const early = this.early;
    this.early = [];
    if (this.earlyDropped > 0) {
      this.publish({
        type: "notice",
        time: Date.now(),
        message:
          `${this.earlyDropped} earlier event(s) were not published (they are in the event log)`,
      });
      this.earlyDropped = 0;
    }
    for (const e of early) this.publish(e);
  }

  /** Processes with a live run (pid), for the shutdown reply. */
  get running(): number {
    return this.sup.statusReport().rows.filter((r) => r.pid !== null).length;
  }

  /**
   * Publishes `name`'s output live until `seconds` from now (or a later
   * end another follower asked for). Returns the lease's end.
   */
  follow(name: string, seconds: number): number {
    const until = Math.max(this.leases.get(name) ?? 0, Date.now() + Math.round(seconds * 1000));
    this.leases.set(name, until);
    this.latest = Math.max(this.latest, until);
    this.stopOutput ??= this.sup.onOutput((process, stream, offset, chunk) =>
      this.output(process, stream, offset, chunk)
    );
    return until;
  }

  /** The supervised processes with a pid, for telemetry. */
  runningProcs(): ManagedPid[] {
    const out: ManagedPid[] = [];
    for (const r of this.sup.statusReport().rows) {
      if (r.pid !== null) out.push({ id: r.name, pid: r.pid, program: r.program, state: r.state });
    }
    return out;
  }

  // ---- what watches on programs read (ProgramSource)

  processes(): ProgramStatus[] {
    return this.sup.statusReport().rows;
  }

  onState(cb: (e: ProgramStateEvent) => void): () => void {
    return this.sup.subscribe((e) => {
      if (e.type === "state") cb(e);
    });
  }

  onOutput(
    cb: (process: string, stream: StreamName, offset: number, data: Uint8Array) => void,
  ): () => void {
    return this.sup.onOutput(cb);
  }

  tail(process: string, stream: StreamName): { data: Uint8Array; offset: number } {
    return this.sup.tail(process, stream);
  }

  /** Stops every program (stop signal, SIGKILL after each one's stoptime); releases the state dir. */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    for (const [signal, fn] of this.signals) Deno.removeSignalListener(signal, fn);
    this.stopOutput?.();
    this.stopOutput = null;
    await this.sup.shutdown();
    await this.drainAlerts();
  }

  /**
   * Lets go of every program without stopping any (a restart in place): the
   * keeper keeps their runs, and the next agent's supervisor adopts them.
   */
  async detach(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    for (const [signal, fn] of this.signals) Deno.removeSignalListener(signal, fn);
    this.stopOutput?.();
    this.stopOutput = null;
    await this.sup.detach();
    await this.drainAlerts();
  }

  private async drainAlerts(): Promise<void> {
    if (this.alerter === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, ALERT_DRAIN_MS));
    await Promise.race([this.alerter.drain(), late]);
    clearTimeout(timer);
  }

  /** A second stop signal: no more waiting for stoptime. */
  killAll(): void {
    this.sup.signal(["all"], "SIGKILL").catch(() => {});
  }

  private listen(signal: Deno.Signal, fn: () => void): void {
    Deno.addSignalListener(signal, fn);
    this.signals.push([signal, fn]);
  }

  private publish(e: ProgramEvent): void {
    const event = e;
    if (this.link === null) {
      this.early.push(event);
      if (this.early.length > EARLY_EVENTS_MAX) {
        this.early.shift();
        this.earlyDropped++;
      }
      return;
    }
    const body: Record<string, unknown> = { host: this.host };
    // CBOR has `undefined`, most decoders do not: absent fields are left out.
    for (const [k, v] of Object.entries(event)) if (v !== undefined) body[k] = v;
    const { outbox, subjects } = this.link;
    outbox.cbor(subjects.log(this.host), event.type, body);
  }

  private output(process: string, stream: StreamName, offset: number, chunk: Uint8Array): void {
    const now = Date.now();
    if (now > this.latest) {
      // Nobody follows anything any more: stop copying every chunk of every program.
      this.leases.clear();
      this.stopOutput?.();
      this.stopOutput = null;
      return;
    }
    const until = this.leases.get(process);
    if (until === undefined) return;
    if (now > until) {
      this.leases.delete(process);
      return;
    }
    const link = this.link;
    // Best effort, as live output of `run`: what cannot go now is skipped (a
    // follower sees the gap in the offsets), it is in the output file.
    if (link === null || link.budget.blocked() !== null) return;
    link.outbox.conn.publish(
      link.subjects.prog(this.host, process, stream),
      chunk,
      link.outbox.headers(stream, "raw", {
        [H.proc]: process,
        [H.stream]: stream,
        [H.offset]: offset,
      }),
    );
    link.budget.sent(chunk.length);
  }
}
