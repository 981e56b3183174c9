/**
 * The destinations of alerts, rate-limited per kind: each alert goes to
 * syslog, `--alert-exec` and `--alert-webhook` as configured. Nothing here
 * is awaited by the sender: every destination runs on its own, bounded by
 * its timeout, and a failure is logged, never thrown.
 */
import type { Alert, AlertLog } from "./alert.ts";
import { type AlertOptions, alertsWanted } from "./alert_options.ts";
import { execAlert } from "./exec_sink.ts";
import { AlertRateLimit } from "./rate_limit.ts";
import { SyslogSink, type SyslogStyle } from "./syslog_sink.ts";
import { postAlert } from "./webhook_sink.ts";

export class AlertSinks {
  private readonly limit: AlertRateLimit;
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    private readonly opts: AlertOptions,
    private readonly syslog: SyslogSink | null,
    private readonly log: AlertLog,
  ) {
    this.limit = new AlertRateLimit(opts.perMinute);
  }

  /**
   * Null when no destination is set; throws (ENOENT, EINVAL) when the
   * syslog socket is missing. `style`: the syslog tag and each kind's severity.
   */
  static open(opts: AlertOptions, style: SyslogStyle, log: AlertLog): AlertSinks | null {
    if (!alertsWanted(opts)) return null;
    const syslog = opts.syslog === null ? null : SyslogSink.open(opts.syslog, style);
    return new AlertSinks(opts, syslog, log);
  }

  /**
   * Sends `alert` (its `suppressed` filled in) unless the rate limit holds
   * it back; answers whether it went.
   */
  send(alert: Omit<Alert, "suppressed">): boolean {
    const suppressed = this.limit.admit(alert.kind);
    if (suppressed === null) return false;
    const a: Alert = { ...alert, suppressed };
    if (this.syslog !== null) {
      const err = this.syslog.send(a);
      if (err !== null) this.log(`alert: --alert-syslog: ${err}`);
    }
    if (this.opts.exec !== null) {
      this.track(execAlert(this.opts.exec, a, this.opts.timeoutMs, this.log));
    }
    if (this.opts.webhook !== null) {
      this.track(postAlert(this.opts.webhook, a, this.opts.timeoutMs, this.log));
    }
    return true;
  }

  /** Waits for the alerts in flight (bounded by their timeouts), for a clean stop. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.syslog?.close();
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch((e) => this.log(`alert: ${(e as Error).message}`)).finally(() =>
      this.pending.delete(q)
    );
    this.pending.add(q);
  }
}
