/**
 * The shell's output lines, each beginning with its host as in
 * `controller programs`:
 *
 *   g5k-3: nginx                             RUNNING   pid 4121, uptime 0:03:12
 *   g5k-3: nginx: started
 *   g5k-[4-9]: ERROR (ENORESPONSE the host did not answer)
 *
 * The same failure on many hosts is one line, its hosts folded.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import { fold } from "../../protocol/selector.ts";
import { reloadText } from "../render/programs.ts";
import type { ActionRow, HostError, ProgramRow, ReloadRow } from "./backend.ts";

/** supervisorctl pads names to the longest one, at least 30, then 3 blanks; states to 10. */
const MIN_NAME_WIDTH = 30;
const STATE_WIDTH = 10;

/** supervisorctl's columns after the host, as `controller programs status` prints them. */
export function statusLines(rows: ProgramRow[]): string {
  // A stable sort: each host's processes stay in the agent's (configuration) order.
  const sorted = sortByHost(rows);
  const hostWidth = Math.max(0, ...sorted.map((r) => r.host.length + 1));
  const nameWidth = Math.max(MIN_NAME_WIDTH, ...sorted.map((r) => r.name.length)) + 3;
  return sorted.map((r) =>
    `${(r.host + ":").padEnd(hostWidth)} ${r.name.padEnd(nameWidth)}${
      r.state.padEnd(STATE_WIDTH)
    }${r.description}`.trimEnd() + "\n"
  ).join("");
}

/** `g5k-3: nginx: started`, or `g5k-[3-4]: nginx: ERROR (not running)`. */
export function actionLines(rows: ActionRow[]): string {
  return foldHosts(
    sortByHost(rows),
    (r) => `${r.name}: ${r.error ? `ERROR (${r.message})` : r.message}`,
  );
}

/** `g5k-[1-3]: programs.yaml: added web; changed nginx`, or `...: no change`. */
export function reloadLines(rows: ReloadRow[]): string {
  return foldHosts(sortByHost(rows), reloadText);
}

/** `g5k-[4-5]: ERROR (ENORESPONSE the host did not answer)`. */
export function errorLines(errors: HostError[]): string {
  return foldHosts(sortByHost(errors), (e) => `ERROR (${e.error.code} ${e.error.message})`);
}

/** One line per distinct text, with the hosts that have it folded, in order of first host. */
function foldHosts<T extends { host: string }>(rows: T[], text: (row: T) => string): string {
  const hosts = new Map<string, string[]>();
  for (const r of rows) {
    const t = text(r);
    hosts.set(t, [...(hosts.get(t) ?? []), r.host]);
  }
  return [...hosts].map(([t, hs]) => `${fold(hs)}: ${t}\n`).join("");
}

function sortByHost<T extends { host: string }>(rows: T[]): T[] {
  return [...rows].sort((a, b) => compareHosts(a.host, b.host));
}
