/**
 * `controller nats-config --agents SEL --keys DIR [--out FILE]`: writes the
 * NATS server configuration of the recommended deployment (users and subject
 * permissions, controller/nats_config.ts) for the named agents, creating the
 * NKey seeds it needs under DIR. Connects to nothing.
 */
import { count } from "../../protocol/text/count.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { parseSelector, resolveHostFiles } from "../../protocol/selector.ts";
import { checkPrefix, DEFAULT_PREFIX, Subjects } from "../../protocol/subjects.ts";
import { loadOrCreateUsers, renderNatsConfig } from "../mod.ts";
import { str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import type { Verb } from "./verb.ts";

export const natsConfigVerb: Verb = {
  name: "nats-config",
  summary: "write the NATS server's users and permissions for these agents",
  options: { agents: { type: "string" }, keys: { type: "string" }, out: { type: "string" } },
  usage: `usage: controller nats-config --agents SEL --keys DIR [--out FILE]
Writes a NATS server configuration (an authorization block) in which each agent, the
controllers and the viewers log in with their own NKey and may use only the subjects of
their role: agents receive their own requests and broadcasts and publish their own
events; controllers send requests; viewers read events and may only ping, ps, logs,
tail and follow. Anonymous clients are refused. Seeds are created under DIR when missing
(controller.nk, viewer.nk, agents/HOST.nk, mode 0600) and reused otherwise; give each
agent its own (agent --nkey agents/HOST.nk).

  --agents SEL         the agents, named exactly: node sets and @FILE (no globs)
  --keys DIR           directory of the seed files
  --out FILE           write the configuration there (default: stdout)`,

  async main(p, ctx) {
    if (p.positionals.length > 0) throw new UsageError("nats-config takes no arguments");
    const sel = str(p.values, "agents");
    const dir = str(p.values, "keys");
    if (sel === undefined) throw new UsageError("missing --agents SEL");
    if (dir === undefined) throw new UsageError("missing --keys DIR");
    const agents = parseSelector(resolveHostFiles(sel, Deno.readTextFileSync)).explicit();
    if (agents === null) {
      throw new TuttiError(
        "EBADSEL",
        `--agents ${JSON.stringify(sel)}: each agent gets its own user, so name them exactly ` +
          `(node sets, comma lists, @FILE), not with a glob`,
      );
    }
    const prefix = checkPrefix(ctx.prefix ?? (Deno.env.get("TUTTI_PREFIX") || DEFAULT_PREFIX));
    const keys = await loadOrCreateUsers(dir, new Subjects(prefix), agents);
    const text = renderNatsConfig(keys.users, [
      `tutti users and subject permissions, prefix "${prefix}", ${
        count(agents.length, "agent")
      }: ${sel}`,
      `written by controller nats-config; seeds in ${dir}`,
      `use as the server's configuration (nats-server -c FILE) or include it from yours`,
    ]);
    const out = str(p.values, "out");
    if (out === undefined) {
      ctx.out.stdout(text);
    } else {
      try {
        await Deno.writeTextFile(out, text);
      } catch (e) {
        throw new TuttiError("EINVAL", `cannot write ${out}: ${(e as Error).message}`);
      }
    }
    ctx.out.stderr(
      `${keys.users.length} users (controller, viewer, ${count(agents.length, "agent")}): ` +
        `${count(keys.created.length, "seed")} created, ${keys.kept.length} kept in ${dir}\n`,
    );
    return 0;
  },
};
