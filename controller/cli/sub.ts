/**
 * `controller sub SUBJECT [--count N]`: every message on SUBJECT as one JSON
 * line `{subject, headers, body}`, CBOR decoded and output bytes as text,
 * until interrupted or N messages. `nats sub` for tutti's binary bodies.
 */
import { str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { Verb } from "./verb.ts";

export const subVerb: Verb = {
  name: "sub",
  summary: "print the messages on a subject, decoded, as JSON lines",
  options: { count: { type: "string" } },
  usage: `usage: controller sub SUBJECT [--count N]
Prints every message on SUBJECT (NATS wildcards allowed, e.g. 'tutti.>') as one JSON line
{subject, headers, body}, with CBOR bodies decoded and output bytes as text.

  --count N            stop after N messages`,

  async main(p, ctx) {
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? "missing SUBJECT" : "too many arguments");
    }
    const subject = p.positionals[0];
    if (!/^[^\s.]+(\.[^\s.]+)*$/.test(subject)) {
      throw new UsageError(
        `${JSON.stringify(subject)} is not a NATS subject (tokens joined by dots)`,
      );
    }
    const count = str(p.values, "count");
    if (count !== undefined && !/^[1-9]\d*$/.test(count)) {
      throw new UsageError(`--count ${JSON.stringify(count)}: expected a positive whole number`);
    }
    const c = await ctx.connect();
    const messages = await c.sub(subject, { max: count === undefined ? undefined : Number(count) });
    ctx.out.stderr(`subscribed to ${subject}\n`);
    for await (const m of messages) ctx.out.stdout(JSON.stringify(m) + "\n");
    return 0;
  },
};
