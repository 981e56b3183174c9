/**
 * `controller hosts [--json]`: every agent that answers a ping, one line per
 * host beginning with its name, and the known ones that did not answer as
 * `lost (last seen 3m ago)`. `--forget HOST...` removes hosts from the
 * controller's known-hosts cache instead (globs and node sets allowed).
 */
import { DEFAULT_PREFIX } from "../../protocol/subjects.ts";
import { defaultStateDir, KnownHosts } from "../mod.ts";
import { hostJson, hostsTable } from "../render/hosts.ts";
import { parseSelector } from "../../protocol/selector.ts";
import { flag } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { Verb } from "./verb.ts";

export const hostsVerb: Verb = {
  name: "hosts",
  summary: "list the agents that answer, and the known ones that do not",
  options: { json: { type: "boolean" }, forget: { type: "boolean" } },
  usage: `usage: controller hosts [--json]
       controller hosts --forget HOST...
Pings every agent and lists them, one line per host: state, uptime, running processes,
heartbeat, version, labels. Hosts this controller saw before that do not answer are shown
as lost. --forget removes hosts (names, node sets or globs) from the known-hosts cache
(of every server, without connecting).

  --json               one JSON object per host
  --forget HOST...     forget these hosts`,

  async main(p, ctx) {
    if (flag(p.values, "forget")) {
      if (p.positionals.length === 0) throw new UsageError("--forget needs at least one HOST");
      const selectors = p.positionals.map((s) => parseSelector(s));
      const prefix = ctx.prefix ?? (Deno.env.get("TUTTI_PREFIX") || DEFAULT_PREFIX);
      const known = await KnownHosts.loadEveryServer(defaultStateDir(), prefix);
      const gone = known.names().filter((h) => selectors.some((s) => s.matches(h)));
      for (const h of gone) known.forget(h);
      await known.save();
      for (const h of gone) ctx.out.stdout(`forgot ${h}\n`);
      if (gone.length === 0) {
        ctx.out.stderr(`no known host matches ${p.positionals.join(" ")}\n`);
        return 1;
      }
      return 0;
    }
    if (p.positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    }
    const c = await ctx.connect();
    const hosts = await c.hosts();
    if (flag(p.values, "json")) {
      ctx.out.stdout(hosts.map((h) => JSON.stringify(hostJson(h)) + "\n").join(""));
    } else if (hosts.length === 0) {
      ctx.out.stderr(`no agent answered (prefix ${c.prefix})\n`);
    } else {
      ctx.out.stdout(hostsTable(hosts));
    }
    return 0;
  },
};
