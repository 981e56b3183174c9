/**
 * The agent's one NATS connection. It reconnects forever (natsOptions) and
 * tells the rest of the agent when it goes down and comes back, so that live
 * output stops while nobody can receive it and `hello` is said again.
 */
import {
  connect,
  type MsgHdrs,
  type NatsConnection,
  PermissionViolationError,
} from "@nats-io/transport-node";
import {
  type ConnectFlags,
  explainAuthError,
  natsOptions,
} from "../protocol/connection/connect_flags.ts";
import { withTimeout } from "../protocol/runtime/timers.ts";
import { log, RateLimitedLog } from "./log.ts";

export type LinkEvent = "disconnect" | "reconnect";

export class Connection {
  /** False between a disconnect and the following reconnect. */
  connected = true;
  private readonly listeners: ((e: LinkEvent) => void)[] = [];
  private readonly publishErrors = new RateLimitedLog();
  private readonly denied = new RateLimitedLog();

  private constructor(readonly nc: NatsConnection) {
    this.watch();
  }

  static async open(flags: ConnectFlags, name: string): Promise<Connection> {
    const options = await natsOptions(flags, `tutti-agent ${name}`);
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
