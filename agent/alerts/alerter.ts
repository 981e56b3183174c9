/**
 * Turns supervision events into alerts and hands each one, rate-limited, to
 * the destinations the agent was given. Nothing here is awaited by the
 * supervisor: every destination runs on its own, bounded by its timeout,
 * and a failure is logged, never thrown.
 */
import type { ProgramEvent } from "../../protocol/program_messages.ts";
import { log } from "../log.ts";
import { type Alert, alertOf } from "./alert.ts";
import { execAlert } from "./exec_sink.ts";
import { AlertRateLimit } from "./rate_limit.ts";
import { SyslogSink } from "./syslog_sink.ts";
import { postAlert } from "./webhook_sink.ts";

export interface AlertOptions {
  exec: string | null;
  webhook: string | null;
  /** The syslog socket (`/dev/log`), or null for no syslog. */
  syslog: string | null;
  /** Per kind, in any 60 s. */
  perMinute: number;
  /** Each exec and each webhook attempt (ms). */
  timeoutMs: number;
}

export class Alerter {
  private readonly limit: AlertRateLimit;
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    readonly host: string,
    private readonly opts: AlertOptions,
    private readonly syslog: SyslogSink | null,
  ) {
    this.limit = new AlertRateLimit(opts.perMinute);
  }

  /** Null when no destination is set; throws when the syslog socket is missing. */
  static open(host: string, opts: AlertOptions): Alerter | null {
    if (opts.exec === null && opts.webhook === null && opts.syslog === null) return null;
    const syslog = opts.syslog === null ? null : SyslogSink.open(opts.syslog);
    return new Alerter(host, opts, syslog);
  }

  /** A supervision event; alerts only for unexpected deaths and FATAL. */
  event(e: ProgramEvent): void {
    const a = alertOf(this.host, e);
    if (a === null) return;
    const suppressed = this.limit.admit(a.kind);
    if (suppressed === null) return;
    this.send({ ...a, suppressed });
  }

  /** Waits for the alerts in flight (bounded by their timeouts), for a clean stop. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.syslog?.close();
  }

  private send(alert: Alert): void {
    if (this.syslog !== null) {
      const err = this.syslog.send(alert);
      if (err !== null) log(`alert: --alert-syslog: ${err}`);
    }
    if (this.opts.exec !== null) this.track(execAlert(this.opts.exec, alert, this.opts.timeoutMs));
    if (this.opts.webhook !== null) {
      this.track(postAlert(this.opts.webhook, alert, this.opts.timeoutMs));
    }
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((e) => log(`alert: ${(e as Error).message}`)).finally(() =>
      this.pending.delete(q)
    );
    this.pending.add(q);
  }
}
