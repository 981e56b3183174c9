/**
 * Turns supervision events into alerts and hands them to the destinations
 * the agent was given (protocol/alerts/: rate-limited, never awaited by the
 * supervisor, failures logged).
 */
import { AlertSinks } from "../../protocol/alerts/alert_sinks.ts";
import type { AlertOptions } from "../../protocol/alerts/alert_options.ts";
import type { ProgramEvent } from "../../protocol/program_messages.ts";
import { log } from "../log.ts";
import { AGENT_SYSLOG, alertOf } from "./alert.ts";

export type { AlertOptions };

export class Alerter {
  private constructor(readonly host: string, private readonly sinks: AlertSinks) {}

  /** Null when no destination is set; throws when the syslog socket is missing. */
  static open(host: string, opts: AlertOptions): Alerter | null {
    const sinks = AlertSinks.open(opts, AGENT_SYSLOG, log);
    return sinks === null ? null : new Alerter(host, sinks);
  }

  /** A supervision event; alerts only for unexpected deaths and FATAL. */
  event(e: ProgramEvent): void {
    const a = alertOf(this.host, e);
    if (a !== null) this.sinks.send(a);
  }

  /** Waits for the alerts in flight (bounded by their timeouts), for a clean stop. */
  drain(): Promise<void> {
    return this.sinks.drain();
  }
}
