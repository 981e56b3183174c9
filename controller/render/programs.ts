/**
 * How `controller programs` reads: `status` in supervisorctl's line format
 * prefixed by host, actions in supervisorctl's words with identical lines
 * of several hosts folded into one (`g5k-[1-3]: web:0: started`), and the
 * per-host outcome used for the summary and the exit status.
 *
 *   g5k-3: nginx                             RUNNING   pid 4121, uptime 0:03:12
 *   g5k-3: web:0                             FATAL     Exited too quickly (process log may have details)
 *   g5k-3: shell                             RUNNING   pid 4133, uptime 0:00:41 [tty]
 *
 * A process under a pseudo-terminal (`programs attach` reaches it) ends with `[tty]`.
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import type {
  ProgramResult,
  ProgramsReply,
  ProgramStatus,
  ReloadSummary,
} from "../../protocol/program_messages.ts";
import { fold } from "../../protocol/selector.ts";
import type { HostOutcome, HostReply } from "../mod.ts";

/** supervisorctl pads names to the longest one, at least 30, then 3 blanks; states to 10. */
const MIN_NAME_WIDTH = 30;
const STATE_WIDTH = 10;

/** One line per process of every host that answered, hosts in order, supervisorctl's columns. */
export function statusLines(replies: HostReply<ProgramsReply>[]): string[] {
  const rows: { host: string; row: ProgramStatus }[] = [];
  for (const r of sorted(replies)) {
    if (r.ok) { for (const row of r.processes ?? []) rows.push({ host: r.host, row }); }
  }
  if (rows.length === 0) return [];
  const hostWidth = Math.max(...rows.map((x) => x.host.length)) + 1;
  const nameWidth = Math.max(MIN_NAME_WIDTH, ...rows.map((x) => x.row.name.length)) + 3;
  return rows.map(({ host, row }) =>
    `${`${host}:`.padEnd(hostWidth)} ${row.name.padEnd(nameWidth)}${
      row.state.padEnd(STATE_WIDTH)
    }${row.description}${row.tty ? " [tty]" : ""}`.trimEnd()
  );
}

/** A result in supervisorctl's words: `web:0: started`, `foo: ERROR (no such process)`. */
export function resultText(r: ProgramResult): string {
  return r.ok ? `${r.name}: ${r.message}` : `${r.name}: ERROR (${why(r)})`;
}

/** What went wrong, without the name the agent's message may begin with. */
function why(r: ProgramResult): string {
  const m = r.error?.message ?? r.message;
  return m.startsWith(`${r.name}: `) ? m.slice(r.name.length + 2) : m;
}

/**
 * The lines of an action: each result (start, stop, restart; unknown
 * names of status), each reload's diff, hosts with the same line folded.
 */
export function actionLines(replies: HostReply<ProgramsReply>[]): string[] {
  const byLine = new Map<string, string[]>();
  const add = (line: string, host: string) => {
    const hosts = byLine.get(line);
    if (hosts) hosts.push(host);
    else byLine.set(line, [host]);
  };
  for (const r of sorted(replies)) {
    if (!r.ok) continue;
    for (const x of r.results ?? []) add(resultText(x), r.host);
    if (r.reload) add(reloadText(r.reload), r.host);
    if (r.action === "reopen") add("output files reopened", r.host);
  }
  return [...byLine].map(([line, hosts]) => `${fold(hosts)}: ${line}`);
}

export function reloadText(
  r: Pick<ReloadSummary, "source" | "added" | "changed" | "removed">,
): string {
  const parts: string[] = [];
  if (r.added.length > 0) parts.push(`added ${r.added.join(", ")}`);
  if (r.changed.length > 0) parts.push(`changed ${r.changed.join(", ")}`);
  if (r.removed.length > 0) parts.push(`removed ${r.removed.join(", ")}`);
  return `${r.source}: ${parts.length > 0 ? parts.join("; ") : "no change"}`;
}

/** A host failed when it did not answer, answered an error, or any name failed on it. */
export function programsOutcome(r: HostReply<ProgramsReply>): HostOutcome {
  if (!r.ok) {
    const status = r.error.code === "ENORESPONSE"
      ? "noresponse"
      : r.error.code === "ELOST"
      ? "lost"
      : "failed";
    return { host: r.host, status, error: r.error };
  }
  const bad = (r.results ?? []).filter((x) => !x.ok);
  if (bad.length === 0) return { host: r.host, status: "ok" };
  return {
    host: r.host,
    status: "failed",
    error: {
      code: bad[0].error?.code ?? "EINTERNAL",
      message: bad.map((x) => `${x.name}: ${why(x)}`).join("; "),
    },
  };
}

/** Every name asked about is unknown there (a host a glob selected that lacks the programs). */
export function hasNone(r: HostReply<ProgramsReply>): boolean {
  const results = r.ok ? r.results ?? [] : [];
  return r.ok && results.length > 0 && (r.processes ?? []).length === 0 &&
    results.every((x) => x.error?.code === "ESRCH");
}

function sorted<T extends { host: string }>(replies: T[]): T[] {
  return [...replies].sort((a, b) => compareHosts(a.host, b.host));
}
