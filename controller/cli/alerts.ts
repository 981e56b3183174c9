/**
 * `controller alerts --hosts SEL --alert-webhook URL ...`: follows the
 * selected hosts until interrupted and alerts when one is lost (its agent
 * does not answer, says bye, or goes silent for three heartbeats) and when
 * it comes back. One line per event on stdout (JSON with --json).
 */
import { flag } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import {
  ALERT_OPTIONS,
  Alerter,
  alertsWanted,
  followHostAlerts,
  type HostAlertEvent,
  parseAlertOptions,
} from "../mod.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const alertsVerb: Verb = {
  name: "alerts",
  summary: "alert (exec, webhook, syslog) when a selected host is lost, and when it is back",
  options: { ...SELECTION_OPTIONS, ...ALERT_OPTIONS, json: { type: "boolean" } },
  usage: `usage: controller alerts [--hosts SEL] --alert-exec CMD|--alert-webhook URL|--alert-syslog
Follows the selected hosts (default: every host) until Ctrl-C and sends an alert when one is
lost: it did not answer at the start, its agent said bye, or nothing came from it for three of
its heartbeat periods (kind lost); and when it is heard from again (kind back). The alert is a
JSON object {kind, host, time, message, reason, lastSeen | downFor, suppressed}. Each event is
also printed, with whether its alert went or the rate limit held it back.

${SELECTION_USAGE}
  --alert-exec CMD     run sh -c CMD with the alert as JSON on its stdin (TUTTI_ALERT_KIND and
                       TUTTI_ALERT_HOST in its environment)
  --alert-webhook URL  POST the alert as JSON to URL (tried 3 times)
  --alert-syslog       send a line to the local syslog (/dev/log)
  --alert-syslog-socket PATH  the syslog socket (implies --alert-syslog)
  --alert-rate N       at most N alerts of each kind per minute; the next one counts those
                       left out (default 10)
  --alert-timeout D    each --alert-exec run and webhook attempt (default 10s)
  --json               one JSON object per event on stdout`,

  async main(p, ctx) {
    const spec = selection(p.values, false);
    const alertOpts = parseAlertOptions(p.values);
    if (!alertsWanted(alertOpts)) {
      throw new UsageError("no destination: give --alert-exec, --alert-webhook or --alert-syslog");
    }
    // A missing syslog socket is refused before connecting.
    const alerter = Alerter.open(alertOpts, (m) => ctx.out.stderr(`controller alerts: ${m}\n`))!;
    const json = flag(p.values, "json");
    const c = await ctx.connect();
    const follow = c.telemetry(spec);
    const onSignal = () => follow.close();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      await followHostAlerts(follow, alerter, (e) => {
        ctx.out.stdout(json ? JSON.stringify(e) + "\n" : eventLine(e));
      });
      await follow.done;
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      await alerter.drain();
    }
  },
};

function eventLine(e: HostAlertEvent): string {
  const t = new Date(e.at).toISOString();
  if (e.type === "ready") return `${t} following: ${e.up} up, ${e.down} lost\n`;
  const went = e.sent ? "alert sent" : "alert held back (rate limit)";
  if (e.type === "lost") return `${t} lost ${e.host} (${e.reason}): ${went}\n`;
  const after = e.downFor === null ? "" : ` after ${(e.downFor / 1000).toFixed(1)} s`;
  return `${t} back ${e.host}${after}: ${went}\n`;
}
