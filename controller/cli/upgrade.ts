/**
 * `controller upgrade --hosts SEL`: the selected agents re-execute
 * themselves in place from the program on disk (install the new bundle or
 * binary first), keeping every process they run. Each answers once its new
 * program is known to start; one that does not start is refused with
 * ENOEXEC and the agent goes on as it was. A summary on stderr; exit 1 when
 * any host did not answer or refused.
 */
import { fold } from "../../protocol/selector.ts";
import { replyOutcome } from "../mod.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import { flag } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const upgradeVerb: Verb = {
  name: "upgrade",
  summary: "restart agents in place from the program on disk, keeping every process",
  options: { ...SELECTION_OPTIONS, json: { type: "boolean" } },
  usage: `usage: controller upgrade --hosts SEL
Restarts the selected agents in place (same pid) from the agent program on disk, e.g. after
installing a new bundle: each checks that the new program starts, answers, detaches from its
keeper and re-executes itself. No process started by run is stopped; the new agent adopts them,
and live output resumes. (The same as SIGUSR1 to an agent.)

${SELECTION_USAGE}
  --json               one JSON object per host`,

  async main(p, ctx) {
    const spec = selection(p.values, true);
    if (p.positionals.length > 0) throw new UsageError("upgrade takes no arguments");
    const c = await ctx.connect();
    const replies = await c.upgrade(spec).done;
    if (flag(p.values, "json")) {
      ctx.out.stdout(replies.map((r) => JSON.stringify(r) + "\n").join(""));
    } else {
      const ok = replies.filter((r) => r.ok).map((r) => r.host);
      if (ok.length > 0) ctx.out.stdout(`${fold(ok)}: restarting in place\n`);
    }
    const outcomes = replies.map(replyOutcome);
    ctx.out.stderr([...failureLines(outcomes), summaryLine(outcomes)].join("\n") + "\n");
    return outcomes.length > 0 && outcomes.every((o) => o.status === "ok") ? 0 : 1;
  },
};
