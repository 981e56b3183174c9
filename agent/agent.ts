/**
 * The agent assembled: supervised programs (opened first: they run whether
 * or not the broker is reachable), connection, presence, process table,
 * watches, telemetry, dispatcher, and the clean stop (cancel the watches,
 * bye, stop the processes it started and its programs, flush, close).
 */
import { resolveConnectFlags } from "../protocol/connection/connect_flags.ts";
import { withTimeout } from "../protocol/runtime/timers.ts";
import { Subjects } from "../protocol/subjects.ts";
import { Connection } from "./connection.ts";
import { Dispatcher } from "./dispatch.ts";
import { verbHandlers } from "./handlers.ts";
import { transferHandlers } from "./transfer/transfer_handlers.ts";
import { TransferLink } from "./transfer/transfer_link.ts";
import { Queues } from "./queue/queue_handlers.ts";
import { Identity } from "./identity.ts";
import { KeeperLink } from "./keeper_link.ts";
import { KeeperLauncher } from "./keeper_launcher.ts";
import type { ExitedMsg, GrewMsg } from "./keeper/messages.ts";
import { LiveBudget } from "./live_output.ts";
import { log, RateLimitedLog } from "./log.ts";
import { programHandlers } from "./program_handlers.ts";
import { Alerter } from "./alerts/alerter.ts";
import { Programs } from "./programs.ts";
import type { AgentOptions } from "./options.ts";
import { Outbox } from "./outbox.ts";
import { Presence } from "./presence.ts";
import { ProcessTable } from "./process_table.ts";
import { SpoolDir } from "./spool.ts";
import { requireLinux } from "./telemetry/proc_file.ts";
import { TelemetryLoop } from "./telemetry/telemetry_loop.ts";
import { WatchTable } from "./watch/watch_table.ts";

/** A clean stop sends SIGTERM to every group, then SIGKILL to those still there after this. */
const STOP_GRACE_MS = 5000;
/** After SIGKILL, how long to wait for pipes to close (a descendant may have left the group). */
const STOP_DRAIN_MS = 2000;
/** Cancelling a watch releases an inotify watch, a timer or a probe killed with SIGKILL: quick. */
const WATCH_CLOSE_MS = 2000;

/** How `main` and the agent talk about stopping. */
export interface Lifecycle {
  /** Resolves on the first stop signal. */
  stopRequested: Promise<void>;
  /** `fn` is what a second stop signal does (no more waiting). */
  onKill(fn: () => void): void;
  /** The `shutdown` verb: a stop requested by a controller. */
  requestStop(): void;
  /** The `upgrade` verb: re-execute in place, every process kept. */
  requestRestart(): void;
}

export class Agent {
  private constructor(
    private readonly keeper: KeeperLink,
    private readonly conn: Connection,
    private readonly presence: Presence,
    private readonly table: ProcessTable,
    private readonly dispatcher: Dispatcher,
    private readonly watches: WatchTable,
    private readonly telemetry: TelemetryLoop | null,
    private readonly programs: Programs,
    private readonly queues: Queues,
    private readonly transfers: TransferLink,
  ) {}

  /**
   * Starts everything; null when a stop was requested before the broker
   * answered (the programs are stopped by then).
   */
  static async start(opts: AgentOptions, life: Lifecycle): Promise<Agent | null> {
    const subjects = new Subjects(opts.prefix);
    const identity = new Identity(opts.name, opts.labels, opts.heartbeatMs, opts.telemetryMs);
    // Refused before connecting: an agent asked for telemetry it cannot give should not start.
    if (opts.telemetryMs > 0) requireLinux("--telemetry");
    // Refused before anything starts (the keeper included): an agent asked for syslog alerts it cannot send.
    const alerter = Alerter.open(opts.name, opts.alerts);
    const spool = new SpoolDir(opts.stateDir);
    const flags = await resolveConnectFlags(opts.connect);
    // Before anything else touches the state directory: a second agent on it is refused here.
    const keeper = await KeeperLink.open(opts.stateDir, log, opts.keeper === "embedded");
    // The keeper's messages flow from now on: supervised runs are the launcher's at once; those
    // of `run` processes wait (the latest of each) for the table, which needs the connection.
    const launcher = new KeeperLauncher(keeper, keeper.welcome.procs);
    const early = { grew: new Map<string, GrewMsg>(), exited: [] as ExitedMsg[] };
    let table: ProcessTable | null = null;
    keeper.listen({
      grew: (m) => {
        if (launcher.owns(m.id)) launcher.grew(m);
        else if (table) table.grew(m);
        else early.grew.set(`${m.id}.${m.stream}`, m);
      },
      exited: (m) => {
        if (launcher.owns(m.info.id)) launcher.exited(m);
        else if (table) table.exitedMsg(m);
        else early.exited.push(m);
      },
      reaped: (m) => launcher.reaped(m),
      trouble: (m) => launcher.trouble(m),
      lost: () => log("the keeper went away: the processes it held are lost"),
    });
    const programs = await Programs.open({
      alerter,
      host: opts.name,
      stateDir: opts.stateDir,
      eventLog: opts.eventLog,
      config: opts.config,
      launcher,
    });
    life.onKill(() => programs.killAll());
    let conn: Connection;
    try {
      const opened = await Promise.race([
        Connection.open(flags, opts.name, opts.heartbeatMs, subjects.inbox(opts.name)),
        life.stopRequested.then(() => null),
      ]);
      if (opened === null) {
        await Promise.all([programs.shutdown(), keeper.close(false)]);
        return null;
      }
      conn = opened;
    } catch (e) {
      await Promise.all([programs.shutdown(), keeper.close(false)]);
      throw e;
    }
    const outbox = new Outbox(conn, opts.name);
    const budget = new LiveBudget(conn, opts.liveWindow);
    table = new ProcessTable(
      { host: opts.name, outbox, subjects, spool, budget, keeper },
      { keep: opts.keep, keepForMs: opts.keepForMs },
    );
    // What the keeper held at attach time, brought up to date by what it said since.
    const held = new Map(keeper.welcome.procs.map((k) => [k.id, k]));
    for (const m of early.exited) held.set(m.info.id, m.info);
    table.adopt([...held.values()]);
    for (const m of early.grew.values()) table.grew(m);
    if (table.running > 0) {
      log(`adopted ${table.running} running process(es) from keeper ${keeper.welcome.keeperPid}`);
    }
    const presence = new Presence(outbox, subjects, identity, () => table.running);
    const host = opts.name;
    const watches = new WatchTable({
      processes: table,
      programs,
      onResult: (id, condition, r) =>
        outbox.cbor(subjects.watch(host, id), r.status, { host, watch: id, condition, ...r }),
    });
    const queues = new Queues(() => ({
      nc: conn.nc,
      subjects,
      host,
      labels: identity.labels,
      table,
    }));
    const transfers = new TransferLink(() =>
      Connection.open(flags, `${opts.name} transfers`, opts.heartbeatMs)
    );
    const dispatcher = new Dispatcher(
      conn,
      outbox,
      subjects,
      identity,
      new Map([
        ...verbHandlers(identity, table, spool, watches, () => conn.maxPayload),
        ...transferHandlers(host, subjects, transfers, () => conn.maxPayload),
        ...queues.handlers(),
        ...programHandlers(programs, {
          running: () => table.running,
          request: () => life.requestStop(),
          restart: () => life.requestRestart(),
        }),
      ]),
      opts.maxPayload,
    );
    programs.connected(outbox, subjects, budget);
    dispatcher.start();
    conn.onLink((e) => {
      if (e !== "reconnect") return presence.pause();
      presence.hello();
      // Queues submitted while this agent was away.
      queues.scan();
    });
    // Subscriptions are sent before the hello, so whoever sees it can address us at once.
    await conn.nc.flush().catch(() => {});
    // The server answers a refused SUB before the flush's PONG: an agent its user does not allow
    // to receive its requests would be deaf, so it does not start (nor say hello).
    if (dispatcher.refused) {
      dispatcher.stop();
      await Promise.all([programs.shutdown(), conn.close()]);
      throw new Error(
        `the NATS server does not let this agent receive its requests (${dispatcher.refused.message}): ` +
          `its user's permissions must allow ${subjects.hostAll(host)} and ${subjects.allAll()} ` +
          `(controller nats-config writes them)`,
      );
    }
    presence.hello();
    // Queues that ran before this agent started and select it: it takes their tasks too.
    queues.scan();
    const telemetry = opts.telemetryMs > 0
      ? startTelemetry(opts.telemetryMs, host, subjects, outbox, table, programs)
      : null;
    const every = opts.telemetryMs > 0 ? `, telemetry every ${opts.telemetryMs} ms` : "";
    log(`${opts.name} ready (prefix ${opts.prefix}, state ${opts.stateDir}${every})`);
    return new Agent(
      keeper,
      conn,
      presence,
      table,
      dispatcher,
      watches,
      telemetry,
      programs,
      queues,
      transfers,
    );
  }

  /** Resolves when the connection is closed for good. */
  get closed(): Promise<void | Error> {
    return this.conn.nc.closed();
  }

  /**
   * Clean stop: no new requests, cancel every watch (their `cancelled`
   * outcomes go out before the bye, and before the processes they may be
   * watching are stopped), stop telemetry, bye, stop every process (TERM,
   * then KILL) and every program (its stop signal, SIGKILL after its
   * stoptime; their events are published), flush, close.
   */
  async stop(): Promise<void> {
    this.dispatcher.stop();
    this.queues.stop();
    if (this.watches.size > 0) log(`cancelling ${this.watches.size} watch(es)`);
    if (!await within(this.watches.close(), WATCH_CLOSE_MS)) log("some watches did not end");
    this.telemetry?.stop();
    this.presence.bye();
    await Promise.all([this.stopProcesses(), this.programs.shutdown()]);
    await this.keeper.close(true);
    await Promise.all([this.conn.close(), this.transfers.close()]);
  }

  /**
   * Leaves every process running with the keeper (a restart or an upgrade
   * in place): no new requests, watches cancelled, bye, detach, close. The
   * next agent on this state directory adopts them.
   */
  async detach(): Promise<void> {
    this.dispatcher.stop();
    this.queues.stop();
    if (!await within(this.watches.close(), WATCH_CLOSE_MS)) log("some watches did not end");
    this.telemetry?.stop();
    this.presence.bye();
    await this.programs.detach();
    await this.keeper.close(false);
    await Promise.all([this.conn.close(), this.transfers.close()]);
  }

  private async stopProcesses(): Promise<void> {
    const procs = this.table.runningProcs();
    if (procs.length > 0) log(`stopping ${procs.length} process(es)`);
    for (const p of procs) {
      try {
        p.signal("SIGTERM");
      } catch (e) {
        log(`process ${p.id}: ${(e as Error).message}`);
      }
    }
    const all = Promise.all(procs.map((p) => p.done));
    if (!await within(all, STOP_GRACE_MS)) {
      for (const p of procs) {
        try {
          p.signal("SIGKILL");
        } catch (e) {
          log(`process ${p.id}: ${(e as Error).message}`);
        }
      }
      if (!await within(all, STOP_DRAIN_MS)) log("some process output pipes are still open");
    }
  }

  /** Second signal during a stop: no more waiting. */
  killAll(): void {
    this.programs.killAll();
    for (const p of this.table.runningProcs()) {
      try {
        p.signal("SIGKILL");
      } catch {
        // nothing more to do on the way out
      }
    }
  }
}

/**
 * Samples every `intervalMs` from the first tick on. While the connection is
 * down samples are taken (so the first rates after a reconnect are right) but
 * not published: the client would only buffer stale figures.
 */
function startTelemetry(
  intervalMs: number,
  host: string,
  subjects: Subjects,
  outbox: Outbox,
  table: ProcessTable,
  programs: Programs,
): TelemetryLoop {
  const errors = new RateLimitedLog(60_000);
  const tel = new TelemetryLoop(intervalMs, {
    procs: () => [
      ...table.runningProcs().map((p) => ({ id: p.id, pid: p.info.pid })),
      ...programs.runningProcs(),
    ],
    machine: (s) => {
      if (outbox.conn.connected) outbox.cbor(subjects.tel(host), "tel", { host, ...s });
    },
    processes: (s) => {
      if (outbox.conn.connected) outbox.cbor(subjects.telProcs(host), "procs", { host, ...s });
    },
    error: (e) => errors.report(`telemetry: ${(e as Error)?.message ?? e}`),
  });
  tel.start();
  return tel;
}

function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(p.then(() => true), ms, () => false);
}
