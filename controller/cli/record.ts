/**
 * `controller record show FILE` and `controller record diff A B`: the
 * records `run --record DIR` writes, read back for people (or as JSON).
 * Nothing here connects: a record is read from its file alone.
 */
import { flag } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { diffRecords, readRecord } from "../mod.ts";
import { diffText, recordText } from "../render/record.ts";
import type { Verb } from "./verb.ts";

export const recordVerb: Verb = {
  name: "record",
  summary: "show a record (run, plan, queue --record DIR), or what changed between two",
  options: {
    json: { type: "boolean" },
    tolerance: { type: "string" },
  },
  usage: `usage: controller record show FILE [--json]
       controller record diff A B [--tolerance MS] [--json]
show: what ran where, how each host ended and how long it took, the agents' versions and the
hosts' facts (kernel, CPUs, memory), from a record written by \`run --record DIR\`.
diff: what changed from A to B: the command, the hosts (added, removed), agent versions, host
facts (a new kernel, a reboot), outcomes (status, exit code, signal), output sizes, and durations
that differ by more than the tolerance (default: 100 ms and 10%). Exit status 0 when nothing
changed, 1 when something did.

  --tolerance MS       durations closer than MS (and than 10%) are the same (default 100)
  --json               the record, or the list of changes, as JSON`,

  async main(p, ctx) {
    const [action, ...files] = p.positionals;
    const json = flag(p.values, "json");
    if (action === "show") {
      if (files.length !== 1) throw new UsageError("record show takes one FILE");
      const r = await readRecord(files[0]);
      ctx.out.stdout(json ? JSON.stringify(r, null, 2) + "\n" : recordText(r));
      return 0;
    }
    if (action === "diff") {
      if (files.length !== 2) throw new UsageError("record diff takes two files: A B");
      const tol = p.values.tolerance;
      let toleranceMs: number | undefined;
      if (typeof tol === "string") {
        toleranceMs = Number(tol);
        if (!/^\d+(\.\d+)?$/.test(tol)) {
          throw new UsageError(`--tolerance ${JSON.stringify(tol)}: expected milliseconds`);
        }
      }
      const [a, b] = await Promise.all(files.map(readRecord));
      const d = diffRecords(a, b, { toleranceMs });
      ctx.out.stdout(json ? JSON.stringify(d, null, 2) + "\n" : diffText(d));
      return d.same ? 0 : 1;
    }
    if (action === undefined) throw new UsageError("missing the action: show or diff");
    throw new UsageError(`unknown action ${JSON.stringify(action)}: expected show or diff`);
  },
};
