/**
 * The controller's alerts: a selected host lost (its agent stopped
 * answering, or said bye) and back again, and a failed plan step. They go
 * to the same destinations as an agent's (`--alert-exec`, `--alert-webhook`,
 * syslog; protocol/alerts/), rate-limited per kind, never awaited by the
 * caller; a destination that fails is logged.
 */
import type { Alert, AlertLog } from "../../protocol/alerts/alert.ts";
import type { AlertOptions } from "../../protocol/alerts/alert_options.ts";
import { AlertSinks } from "../../protocol/alerts/alert_sinks.ts";
import type { SyslogStyle } from "../../protocol/alerts/syslog_sink.ts";
import type { WireError } from "../../protocol/errors.ts";
import type { DownReason } from "../telemetry.ts";

/** A host lost: it did not answer at the start, said bye, or went silent. */
export interface HostLostAlert extends Alert {
  kind: "lost";
  reason: DownReason;
  /** When it was last heard of (ISO 8601), when known. */
  lastSeen: string | null;
}

/** A host heard from again after it was lost. */
export interface HostBackAlert extends Alert {
  kind: "back";
  /** How long it was lost, ms (null when it was lost from the start). */
  downFor: number | null;
}

/** A step of a plan that failed on a host. */
export interface StepFailedAlert extends Alert {
  kind: "failed";
  plan: string;
  component: string;
  step: string;
  error: WireError;
}

export type ControllerAlert = HostLostAlert | HostBackAlert | StepFailedAlert;

/** `tutti-controller[pid]`: a lost host and a failed step are errors, a return a notice. */
const CONTROLLER_SYSLOG: SyslogStyle = {
  tag: "tutti-controller",
  severity: { lost: 3, failed: 3, back: 5 },
};

const REASONS: Record<DownReason, string> = {
  noresponse: "did not answer",
  bye: "its agent stopped (bye)",
  lost: "its agent went silent (no heartbeat for three periods)",
};

const encoder = new TextEncoder();

function stderrLog(message: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`controller: ${message}\n`));
  } catch {
    // stderr closed: nowhere left to say it.
  }
}

export class Alerter {
  private constructor(private readonly sinks: AlertSinks) {}

  /**
   * Null when no destination is set; throws ENOENT or EINVAL when the
   * syslog socket is missing. `log`: where the destinations' failures go
   * (default stderr).
   */
  static open(opts: AlertOptions, log: AlertLog = stderrLog): Alerter | null {
    const sinks = AlertSinks.open(opts, CONTROLLER_SYSLOG, log);
    return sinks === null ? null : new Alerter(sinks);
  }

  /** Alerts that `host` is lost; answers whether it went (false: rate-limited). */
  hostLost(host: string, reason: DownReason, lastSeen?: number, now = Date.now()): boolean {
    const a: Omit<HostLostAlert, "suppressed"> = {
      kind: "lost",
      host,
      time: new Date(now).toISOString(),
      message: `${host} lost: ${REASONS[reason]}`,
      reason,
      lastSeen: lastSeen === undefined ? null : new Date(lastSeen).toISOString(),
    };
    return this.sinks.send(a);
  }

  /** Alerts that `host` is back; `downFor` ms since it was lost. */
  hostBack(host: string, downFor: number | null, now = Date.now()): boolean {
    const a: Omit<HostBackAlert, "suppressed"> = {
      kind: "back",
      host,
      time: new Date(now).toISOString(),
      message: downFor === null
        ? `${host} is back`
        : `${host} is back after ${(downFor / 1000).toFixed(1)} s`,
      downFor,
    };
    return this.sinks.send(a);
  }

  /** Alerts that a plan's step failed on `host`. */
  stepFailed(
    f: { plan: string; component: string; step: string; host: string; error: WireError },
    now = Date.now(),
  ): boolean {
    const a: Omit<StepFailedAlert, "suppressed"> = {
      kind: "failed",
      host: f.host,
      time: new Date(now).toISOString(),
      message: `plan ${f.plan}: ${f.component} step ${f.step} failed on ${f.host}: ` +
        `${f.error.code} ${f.error.message}`,
      plan: f.plan,
      component: f.component,
      step: f.step,
      error: f.error,
    };
    return this.sinks.send(a);
  }

  /** Waits for the alerts in flight (bounded by their timeouts), for a clean stop. */
  drain(): Promise<void> {
    return this.sinks.drain();
  }
}
