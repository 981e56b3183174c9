/**
 * The agent's one NATS connection. It reconnects forever (natsOptions) and
 * tells the rest of the agent when it goes down and comes back, so that live
 * output stops while nobody can receive it and `hello` is said again.
 */
import {
  type MsgHdrs,
  type NatsConnection,
  PermissionViolationError,
} from "@nats-io/transport-node";
import { connect } from "../protocol/connection/nats_connect.ts";
import {
  type ConnectFlags,
  DEFAULT_PING_INTERVAL_MS,
  explainAuthError,
  MAX_PINGS_OUT,
  natsOptions,
} from "../protocol/connection/connect_flags.ts";
import { withTimeout } from "../protocol/runtime/timers.ts";
import { log, RateLimitedLog } from "./log.ts";

export type LinkEvent = "disconnect" | "reconnect";

/** The shortest PING interval, whatever the heartbeat: a PONG a little late is not a dead link. */
export const MIN_PING_INTERVAL_MS = 1000;

/**
 * The agent PINGs the server once per heartbeat period (at least every
 * MIN_PING_INTERVAL_MS), so that a link that stops carrying packets without
 * closing (a half-open TCP connection: a partition, a NAT or firewall that
 * forgot the connection) is dropped and reconnected within MAX_PINGS_OUT + 1
 * heartbeats, the bound within which controllers count the agent lost. With
 * nats.js's own 2 minutes (or the 20 s used before) the agent stayed deaf for
 * up to a minute after controllers had given up on it. The cost is one PING
 * and PONG per heartbeat; the condition is that a PONG comes back within two
 * heartbeats, behind whatever output is in flight (at most --live-window).
 * With beats off (0), the default interval.
 */
export function pingIntervalMs(heartbeatMs: number): number {
  return heartbeatMs > 0 ? Math.max(heartbeatMs, MIN_PING_INTERVAL_MS) : DEFAULT_PING_INTERVAL_MS;
}

/** How long a half-open link may go unnoticed by an agent with this heartbeat. */
export function halfOpenBoundMs(heartbeatMs: number): number {
  return (MAX_PINGS_OUT + 1) * pingIntervalMs(heartbeatMs);
}

export class Connection {
  /** False between a disconnect and the following reconnect. */
  connected = true;
  private readonly listeners: ((e: LinkEvent) => void)[] = [];
  private readonly publishErrors = new RateLimitedLog();
  private readonly denied = new RateLimitedLog();
  private readonly deniedListeners = new Set<(operation: string, subject: string) => void>();

  private constructor(readonly nc: NatsConnection) {
    this.watch();
  }

  /**
   * `inboxPrefix`: where the client's own requests (JetStream's, for the
   * work queue) are answered; an agent's user may only read `P.in.<host>.>`.
   */
  static async open(
    flags: ConnectFlags,
    name: string,
    heartbeatMs: number,
    inboxPrefix?: string,
  ): Promise<Connection> {
    const options = await natsOptions(flags, `tutti-agent ${name}`, pingIntervalMs(heartbeatMs));
    if (inboxPrefix !== undefined) options.inboxPrefix = inboxPrefix;
    log(`connecting to ${[options.servers].flat().join(", ")} (retrying until it answers)`);
    const nc = await connect(options).catch((e) => {
      throw new Error(explainAuthError((e as Error).message));
    });
    log(`connected to ${nc.getServer()}`);
    return new Connection(nc);
  }

  onLink(fn: (e: LinkEvent) => void): void {
    this.listeners.push(fn);
  }

  /** `fn` for each publish or subscription the server refuses; returns the removal. */
  onDenied(fn: (operation: string, subject: string) => void): () => void {
    this.deniedListeners.add(fn);
    return () => this.deniedListeners.delete(fn);
  }

  /** The server's payload limit (headers included), or 1 MiB before the first INFO. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /**
   * Publishes and never throws: a closed connection or an oversize message is
   * logged (rate-limited) and reported as false, because a publish failure
   * must never take down a process's bookkeeping.
   */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): boolean {
    try {
      this.nc.publish(subject, data, { headers });
      return true;
    } catch (e) {
      this.publishErrors.report(`publish ${subject}: ${(e as Error).message}`);
      return false;
    }
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) {
        // The server's configuration does not fit this agent's name or prefix: say so, as
        // nothing else will (a refused subscription leaves the agent deaf, a publish silent).
        const what = s.error.operation === "publish" ? "publish to" : "subscribe to";
        this.denied.report(
          `the NATS server refused to let this agent ${what} "${s.error.subject}" ` +
            `(permissions violation): check its user's permissions (controller nats-config)`,
        );
        for (const fn of [...this.deniedListeners]) fn(s.error.operation, s.error.subject);
        continue;
      }
      if (s.type === "staleConnection") {
        log(`the server has not answered ${MAX_PINGS_OUT} PINGs: dropping the connection`);
        continue;
      }
      if (s.type !== "disconnect" && s.type !== "reconnect") continue;
      this.connected = s.type === "reconnect";
      log(s.type === "reconnect" ? `reconnected to ${s.server}` : `disconnected from ${s.server}`);
      for (const fn of this.listeners) {
        try {
          fn(s.type);
        } catch (e) {
          log(`${s.type} listener failed: ${(e as Error).stack ?? e}`);
        }
      }
    }
  }

  /** Sends what is buffered (bounded by `ms`), then closes. */
  async close(ms = 2000): Promise<void> {
    if (this.nc.isClosed()) return;
    await withTimeout(this.nc.flush().catch(() => {}), ms, () => {});
    await this.nc.close().catch(() => {});
  }
}
