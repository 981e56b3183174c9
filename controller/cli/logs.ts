/**
 * `controller logs HOST PROC [--stream stdout|stderr]`: the process's full
 * spooled output, byte-exact, on stdout.
 */
import { str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { Verb } from "./verb.ts";

export const logsVerb: Verb = {
  name: "logs",
  summary: "print the full spooled output of a process",
  options: { stream: { type: "string" } },
  usage: `usage: controller logs HOST PROC [--stream stdout|stderr]
Prints the output of process PROC on HOST, as the agent spooled it (all of it, byte-exact),
to stdout.

  --stream S           stdout (default) or stderr`,

  async main(p, ctx) {
    if (p.positionals.length !== 2) {
      throw new UsageError(
        p.positionals.length < 2 ? "missing HOST or PROC" : "too many arguments",
      );
    }
    const [host, proc] = p.positionals;
    const stream = str(p.values, "stream") ?? "stdout";
    if (stream !== "stdout" && stream !== "stderr") {
      throw new UsageError(`--stream ${JSON.stringify(stream)}: stdout or stderr`);
    }
    const c = await ctx.connect();
    for await (const chunk of c.logs(host, proc, { stream })) ctx.out.stdout(chunk);
    return 0;
  },
};
