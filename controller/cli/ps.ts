/**
 * `controller ps [--hosts SEL] [--all] [--json] [ID...]`: the processes of
 * the selected hosts, one line each beginning with the host. Hosts that
 * failed to answer are listed on stderr with a summary, and the exit status
 * is then 1.
 */
import type { ProcInfo } from "../../protocol/messages.ts";
import { checkToken } from "../../protocol/subjects.ts";
import { replyOutcome } from "../mod.ts";
import { psTable, sortProcs } from "../render/ps.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import { flag } from "../../protocol/cli/argv.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const psVerb: Verb = {
  name: "ps",
  summary: "list the processes of the selected hosts",
  options: { ...SELECTION_OPTIONS, all: { type: "boolean" }, json: { type: "boolean" } },
  usage: `usage: controller ps [--hosts SEL] [--all] [--json] [ID...]
Lists the processes of the selected hosts (default: every host): host, id, pid, state,
exit status, start time, command. Running ones only, unless --all.

${SELECTION_USAGE}
  --all                exited processes too (as long as the agents keep them)
  --json               one JSON object per process
  ID...                only these process ids`,

  async main(p, ctx) {
    const spec = selection(p.values, false);
    for (const id of p.positionals) checkToken("process id", id);
    const c = await ctx.connect();
    const procs = p.positionals.length > 0 ? p.positionals : undefined;
    const replies = await c.ps(spec, { procs, all: flag(p.values, "all") }).done;
    const found: ProcInfo[] = replies.flatMap((r) => r.ok ? r.procs : []);
    if (flag(p.values, "json")) {
      ctx.out.stdout(sortProcs(found).map((x) => JSON.stringify(x) + "\n").join(""));
    } else if (found.length > 0) {
      ctx.out.stdout(psTable(found));
    }
    const outcomes = replies.map(replyOutcome);
    if (outcomes.every((o) => o.status === "ok") && outcomes.length > 0) return 0;
    ctx.out.stderr([...failureLines(outcomes), summaryLine(outcomes)].join("\n") + "\n");
    return 1;
  },
};
