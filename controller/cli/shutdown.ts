/**
 * `controller shutdown --hosts SEL`: the selected agents stop as SIGTERM
 * would make them (each answers first, then stops its programs and
 * processes, says bye and exits). A summary on stderr; exit 1 when any host
 * did not answer.
 */
import { fold } from "../../protocol/selector.ts";
import { replyOutcome } from "../mod.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import { flag } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const shutdownVerb: Verb = {
  name: "shutdown",
  summary: "stop agents cleanly (their programs and processes first)",
  options: { ...SELECTION_OPTIONS, json: { type: "boolean" } },
  usage: `usage: controller shutdown --hosts SEL
Stops the selected agents as SIGTERM would: each answers, then stops its programs (stop
signal, SIGKILL after stoptime) and processes, says bye and exits.

${SELECTION_USAGE}
  --json               one JSON object per host`,

  async main(p, ctx) {
    const spec = selection(p.values, true);
    if (p.positionals.length > 0) throw new UsageError("shutdown takes no arguments");
    const c = await ctx.connect();
    const replies = await c.shutdown(spec).done;
    if (flag(p.values, "json")) {
      ctx.out.stdout(replies.map((r) => JSON.stringify(r) + "\n").join(""));
    } else {
      const ok = replies.filter((r) => r.ok).map((r) => r.host);
      if (ok.length > 0) ctx.out.stdout(`${fold(ok)}: shutting down\n`);
    }
    const outcomes = replies.map(replyOutcome);
    ctx.out.stderr([...failureLines(outcomes), summaryLine(outcomes)].join("\n") + "\n");
    return outcomes.length > 0 && outcomes.every((o) => o.status === "ok") ? 0 : 1;
  },
};
