/**
 * The last lines of every fan-out: the failed hosts' details, grouped by
 * identical detail under one folded node set (`g5k-[17,42]: exit 3`), then
 * one summary line:
 * `100 hosts: 97 ok, 2 failed (g5k-[17,42]), 1 no response (g5k-88)`.
 */
import { fold } from "../../protocol/selector.ts";
import type { HostOutcome, OutcomeStatus, RunSummary } from "../events.ts";
import { describeOutcome } from "./describe.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

const LABELS: [OutcomeStatus, string][] = [
  ["failed", "failed"],
  ["noresponse", "no response"],
  ["lost", "lost"],
];

/** The summary line; `okWord` names the good outcome (`ok`, `started`). */
export function summaryLine(outcomes: HostOutcome[], okWord = "ok"): string {
  const n = outcomes.length;
  const head = `${n} host${n === 1 ? "" : "s"}`;
  if (n === 0) return `${head}: none selected or answering`;
  const by = (s: OutcomeStatus) => outcomes.filter((o) => o.status === s).map((o) => o.host);
  const parts = [`${by("ok").length} ${okWord}`];
  for (const [status, label] of LABELS) {
    const hosts = by(status);
    if (hosts.length > 0) parts.push(`${hosts.length} ${label} (${fold(hosts)})`);
  }
  return `${head}: ${parts.join(", ")}`;
}

/**
 * One line per distinct failure, hosts folded: `g5k-[17,42]: exit 3`. Hosts
 * that did not respond are left to the summary line, which names them.
 */
export function failureLines(outcomes: HostOutcome[]): string[] {
  const groups = new Map<string, string[]>();
  for (const o of outcomes) {
    if (o.status === "ok" || o.status === "noresponse") continue;
    const what = describeOutcome(o);
    const hosts = groups.get(what);
    if (hosts) hosts.push(o.host);
    else groups.set(what, [o.host]);
  }
  return [...groups].map(([what, hosts]) => `${fold(hosts)}: ${what}`);
}

/** Writes the details and the summary line to stderr at the end of a run. */
export class SummaryView implements RunView {
  constructor(private readonly out: Out, private readonly okWord = "ok") {}

  event(): void {}

  end(summary: RunSummary): void {
    const lines = [...failureLines(summary.hosts), summaryLine(summary.hosts, this.okWord)];
    this.out.stderr(lines.join("\n") + "\n");
  }
}
