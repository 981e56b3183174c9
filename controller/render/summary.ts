/**
 * The last lines of every fan-out: the failed hosts' details, grouped by
 * identical detail under one folded node set (`g5k-[17,42]: exit 3`), then
 * one summary line:
 * `100 hosts: 97 ok, 2 failed (g5k-[17,42]), 1 no response (g5k-88)`.
 */
import { fold } from "../../protocol/selector.ts";
import type { HostOutcome, OutcomeStatus, RunSummary } from "../mod.ts";
import { describeOutcome } from "./describe.ts";
import type { Out } from "./out.ts";
import type { RunView } from "./view.ts";

const LABELS: [OutcomeStatus, string][] = [
  ["failed", "failed"],
  ["noresponse", "no response"],
  ["lost", "lost"],
];

/**
 * The summary line; `okWord` names the good outcome (`ok`, `started`).
 * `unfinished`: hosts without an outcome yet (an interrupted run), counted
 * in the total and listed last under their label (named when known).
 */
export function summaryLine(
  outcomes: HostOutcome[],
  okWord = "ok",
  unfinished: { label: string; count: number; hosts?: string[] }[] = [],
): string {
  const n = outcomes.length + unfinished.reduce((sum, u) => sum + u.count, 0);
  const head = `${n} host${n === 1 ? "" : "s"}`;
  if (n === 0) return `${head}: none selected or answering`;
  const by = (s: OutcomeStatus) => outcomes.filter((o) => o.status === s).map((o) => o.host);
  const parts = [`${by("ok").length} ${okWord}`];
  const groups = [
    ...LABELS.map(([status, label]) => ({ label, count: by(status).length, hosts: by(status) })),
    ...unfinished,
  ];
  for (const { label, count, hosts } of groups) {
    if (count > 0) parts.push(`${count} ${label}${hosts?.length ? ` (${fold(hosts)})` : ""}`);
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
