/**
 * `controller install --ssh SEL [options]` puts tutti on nodes that have
 * nothing but ssh: it copies the one-file agent (dist/tutti-agent), starts
 * it under systemd or as a detached process, and waits until each agent says
 * hello. `--uninstall` stops and removes them. Up to --fanout hosts at a
 * time, like clush; the system's own ssh (controller/cli/install/ssh.ts).
 */
import { count } from "../../protocol/text/count.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { parseDuration } from "../../protocol/duration.ts";
import { connectFlagsFromArgs, splitServers } from "../../protocol/connection/cli_options.ts";
import { resolveConnectFlags } from "../../protocol/connection/connect_flags.ts";
import { DEFAULT_PREFIX } from "../../protocol/subjects.ts";
import { fold } from "../mod.ts";
import { flag, list, str, type Values } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { findArtifact } from "./install/artifact.ts";
import { Hellos } from "./install/hellos.ts";
import {
  type HostResult,
  installOn,
  type Kind,
  type ServiceChoice,
  uninstallOn,
} from "./install/host_install.ts";
import { expandTargets, fill, type Target } from "./install/hosts.ts";
import type { SshConfig } from "./install/ssh.ts";
import type { Out } from "../render/out.ts";
import type { Verb } from "./verb.ts";

const DEFAULT_FANOUT = 32;
const DEFAULT_WAIT = "30s";

export const installVerb: Verb = {
  name: "install",
  summary: "install (or --uninstall) agents on hosts over ssh, and wait for their hello",
  options: {
    ssh: { type: "string" },
    name: { type: "string" },
    dir: { type: "string" },
    fanout: { type: "string", short: "f" },
    uninstall: { type: "boolean" },
    service: { type: "string" },
    wait: { type: "string" },
    agent: { type: "string" },
    "agent-server": { type: "string", multiple: true },
    "agent-creds": { type: "string" },
    "agent-nkey": { type: "string" },
    "agent-arg": { type: "string", multiple: true },
    "ssh-user": { type: "string" },
    "ssh-port": { type: "string" },
    identity: { type: "string" },
    "ssh-config": { type: "string" },
    "ssh-option": { type: "string", multiple: true },
    json: { type: "boolean" },
  },
  usage: `usage: controller install --ssh SEL [options]
       controller install --ssh SEL --uninstall [options]
Installs the tutti agent on hosts that have only ssh: copies the one-file agent (dist/tutti-agent;
else the Deno runtime and dist/agent.js), starts it as a systemd unit where systemd runs (a system
unit as root, else a user unit when the user's manager lingers) or else as a detached process with
a pid file, and waits until each agent says hello to this controller's NATS server. Hosts already
running the same version with the same options are skipped; another version is upgraded in place
(its processes kept). --uninstall stops each agent (its processes first) and removes what install
wrote. The system's ssh is used, never asking anything (BatchMode): keys, agent and known_hosts as
for any ssh.

  --ssh SEL            hosts to reach with ssh: node sets (node-[1-20]), comma lists, a domain
                       after the node set (gros-[1-4].nancy.g5k), @FILE (one host per line)
  --name NAME          the agent's name (default: the short host name); {host} is replaced
  --dir DIR            install directory on each host (default /opt/tutti as root, else
                       ~/.local/share/tutti); {host} is replaced. It holds the agent, its state,
                       its cache and, without systemd, agent.pid and agent.log
  -f, --fanout N       hosts at a time (default ${DEFAULT_FANOUT})
  --uninstall          stop the agents and remove what install wrote
  --service MODE       auto (default), systemd, or process (detached, with a pid file)
  --wait D             how long each agent has to say hello (default ${DEFAULT_WAIT})
  --agent FILE         the one-file agent to copy (default: tutti-agent beside this program)
  --agent-server URL   the NATS server as the agents reach it (default: this controller's)
  --agent-creds FILE   credentials file for each agent, copied to DIR ({host} is replaced)
  --agent-nkey FILE    NKey seed for each agent, copied to DIR ({host} is replaced: e.g.
                       keys/agents/{host}.nk from controller nats-config)
  --agent-arg ARG      another agent option, repeatable (--agent-arg=--label=rack=r1)
  --ssh-user U         ssh login (default: ssh's own)
  --ssh-port P, --identity FILE, --ssh-config FILE
                       ssh -p, -i, -F
  --ssh-option OPT     ssh -o OPT, repeatable (e.g. StrictHostKeyChecking=accept-new)
  --json               one JSON object per host`,

  async main(p, ctx) {
    const v = p.values;
    if (p.positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    }
    const sel = str(v, "ssh");
    if (sel === undefined) throw new UsageError("missing --ssh SEL");
    const targets = expandTargets(sel, { name: str(v, "name"), dir: str(v, "dir") });
    const fanout = positive("--fanout", str(v, "fanout") ?? String(DEFAULT_FANOUT));
    const service = serviceChoice(str(v, "service") ?? "auto");
    const waitMs = parseDuration(str(v, "wait") ?? DEFAULT_WAIT, "--wait");
    const sshCfg: SshConfig = {
      user: str(v, "ssh-user"),
      port: str(v, "ssh-port"),
      identity: str(v, "identity"),
      configFile: str(v, "ssh-config"),
      options: list(v, "ssh-option"),
    };
    const slot = limiter(fanout);
    const report = new Report(ctx.out, flag(v, "json"));

    if (flag(v, "uninstall")) {
      await Promise.all(
        targets.map(async (t) => report.host(await uninstallOn(t, { ssh: sshCfg, slot }))),
      );
      return report.end();
    }

    const agentServers = await agentServerList(v);
    const secrets = readSecrets(targets, str(v, "agent-nkey"), str(v, "agent-creds"));
    const artifact = await findArtifact(str(v, "agent"));
    const prefix = ctx.prefix ?? (Deno.env.get("TUTTI_PREFIX") || DEFAULT_PREFIX);
    const extra = list(v, "agent-arg");
    const c = await ctx.connect();
    const hellos = new Hellos(c, fold(targets.map((t) => t.name)));
    try {
      await Promise.all(targets.map(async (t) => {
        report.host(
          await installOn(t, {
            ssh: sshCfg,
            artifact,
            hellos,
            service,
            waitMs,
            slot,
            secrets: (t) => secrets.get(t.name) ?? {},
            agentArgs: (t, dir) => [
              "--server",
              agentServers.join(","),
              ...(prefix !== DEFAULT_PREFIX ? ["--prefix", prefix] : []),
              ...(secrets.get(t.name)?.["agent.nk"] !== undefined
                ? ["--nkey", `${dir}/agent.nk`]
                : []),
              ...(secrets.get(t.name)?.["agent.creds"] !== undefined
                ? ["--creds", `${dir}/agent.creds`]
                : []),
              ...extra,
            ],
          }),
        );
      }));
    } finally {
      await hellos.close();
    }
    return report.end();
  },
};

function positive(flagName: string, text: string): number {
  if (!/^[1-9]\d*$/.test(text)) {
    throw new UsageError(`${flagName} ${JSON.stringify(text)}: expected a whole number ≥ 1`);
  }
  return Number(text);
}

function serviceChoice(text: string): ServiceChoice {
  if (text === "auto" || text === "systemd" || text === "process") return text;
  throw new UsageError(`--service ${JSON.stringify(text)}: expected auto, systemd or process`);
}

const SCHEMES = ["nats:", "tls:", "ws:", "wss:"];

/** --agent-server, else the servers this controller connects to; each checked before anything is copied. */
async function agentServerList(v: Values): Promise<string[]> {
  const given = splitServers(list(v, "agent-server"));
  const servers = given.length > 0 ? given : (await resolveConnectFlags({
    servers: v.server ? splitServers(v.server as string[]) : undefined,
    ...connectFlagsFromArgs(v),
  })).servers ?? [];
  for (const s of servers) {
    let ok = false;
    try {
      const u = new URL(s.includes("://") ? s : `nats://${s}`);
      // The scheme is only known to URL as opaque: the host is checked on an http twin.
      ok = SCHEMES.includes(u.protocol) && new URL(`http://${u.host}`).hostname !== "";
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new TuttiError(
        "EINVAL",
        `${given.length > 0 ? "--agent-server" : "--server"} ${JSON.stringify(s)}: not a NATS ` +
          `server URL (nats://HOST:PORT, tls://, ws://, wss://)`,
      );
    }
  }
  return servers;
}

/** Each agent's credential files, read before anything is copied (name in DIR → content). */
function readSecrets(
  targets: Target[],
  nkey: string | undefined,
  creds: string | undefined,
): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const t of targets) {
    const files: Record<string, string> = {};
    for (
      const [template, name, flagName] of [[nkey, "agent.nk", "--agent-nkey"], [
        creds,
        "agent.creds",
        "--agent-creds",
      ]]
    ) {
      if (template === undefined) continue;
      const path = fill(template, t.host);
      try {
        files[name!] = Deno.readTextFileSync(path);
      } catch (e) {
        throw new TuttiError(
          "EINVAL",
          `${flagName} ${path} (for ${t.dest}): ${(e as Error).message}`,
        );
      }
    }
    out.set(t.name, files);
  }
  return out;
}

/** At most `n` of the functions given run at once (clush's fan-out). */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => queue.push(r));
    else running++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}

/** The order of the summary's counts. */
const KINDS: [Kind, string][] = [
  ["installed", "installed"],
  ["upgraded", "upgraded"],
  ["reinstalled", "reinstalled"],
  ["started", "started"],
  ["skipped", "skipped"],
  ["removed", "removed"],
  ["absent", "not installed"],
];

/** A line per host as it is done; the summary in node-set form at the end. */
class Report {
  readonly #results: HostResult[] = [];
  constructor(private readonly out: Out, private readonly json: boolean) {}

  host(r: HostResult): void {
    this.#results.push(r);
    if (this.json) this.out.stdout(JSON.stringify(r) + "\n");
    else if (r.kind === "failed") this.out.stderr(`${r.host}: ${r.code} ${r.detail}\n`);
    else this.out.stdout(`${r.host}: ${r.detail}\n`);
  }

  /** `20 hosts: 19 installed, 1 failed (n-7)`; the exit status. */
  end(): number {
    const rs = this.#results;
    const parts = KINDS.map(([k, word]) => [rs.filter((r) => r.kind === k).length, word] as const)
      .filter(([n]) => n > 0).map(([n, word]) => `${n} ${word}`);
    const failed = rs.filter((r) => r.kind === "failed").map((r) => r.host);
    if (failed.length > 0 || parts.length === 0) {
      parts.push(`${failed.length} failed${failed.length ? ` (${fold(failed)})` : ""}`);
    }
    this.out.stderr(`${count(rs.length, "host")}: ${parts.join(", ")}\n`);
    return failed.length > 0 ? 1 : 0;
  }
}
