/**
 * `controller kill --hosts SEL [--signal S] [--grace D] PROC...`: the signal
 * (default SIGTERM) to each process group, then SIGKILL after the grace
 * period (default 5s) to groups still alive. `controller signal` sends one
 * signal, without escalation.
 *
 * Prints one line per distinct result, hosts folded
 * (`t-[1-3]: r1a2b: sent SIGTERM, SIGKILL after 5s`), failures above the
 * summary line on stderr; exit 1 if any host or process failed. With a glob
 * or labels, hosts that have none of the processes are named but not
 * counted as failed: they were selected, not asked about those processes.
 */
import type { SignalReply } from "../../protocol/messages.ts";
import { parseSignal, type SignalName } from "../../protocol/signals.ts";
import { fold } from "../../protocol/selector.ts";
import { checkToken } from "../../protocol/subjects.ts";
import { type HostOutcome, type HostReply, resolveTarget } from "../mod.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import { flag, type Parsed, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { seconds } from "./run.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { CliContext, Verb } from "./verb.ts";

export const killVerb: Verb = {
  name: "kill",
  summary: "stop process groups: SIGTERM, then SIGKILL after a grace period",
  options: {
    ...SELECTION_OPTIONS,
    signal: { type: "string" },
    grace: { type: "string" },
    json: { type: "boolean" },
  },
  usage: `usage: controller kill --hosts SEL [--signal S] [--grace D] PROC...
Sends S (default SIGTERM) to the process group of each PROC on the selected hosts, then
SIGKILL to the groups still alive after D (default 5s; 0 for at once).

${SELECTION_USAGE}
  --signal S           TERM, SIGINT, 9, ...
  --grace D            time before SIGKILL (10s, 500ms, or seconds)
  --json               one JSON object per host`,
  main: (p, ctx) => signalMain(p, ctx, true),
};

export const signalVerb: Verb = {
  name: "signal",
  summary: "send one signal to process groups (no escalation)",
  options: { ...SELECTION_OPTIONS, signal: { type: "string" }, json: { type: "boolean" } },
  usage: `usage: controller signal --hosts SEL --signal S PROC...
Sends S to the process group of each PROC on the selected hosts, nothing more.

${SELECTION_USAGE}
  --signal S           HUP, SIGUSR1, 10, ...
  --json               one JSON object per host`,
  main: (p, ctx) => signalMain(p, ctx, false),
};

async function signalMain(p: Parsed, ctx: CliContext, kill: boolean): Promise<number> {
  const v = p.values;
  const spec = selection(v, true);
  if (p.positionals.length === 0) throw new UsageError("missing the process id(s) PROC...");
  for (const id of p.positionals) checkToken("process id", id);
  const signalText = str(v, "signal");
  if (!kill && signalText === undefined) throw new UsageError("missing --signal S");
  let signal: SignalName;
  try {
    signal = parseSignal(signalText ?? "SIGTERM");
  } catch (e) {
    throw new UsageError(`--signal: ${(e as Error).message}`);
  }
  const graceText = str(v, "grace");
  const grace = kill ? (graceText === undefined ? 5 : seconds("--grace", graceText)) : undefined;
  const c = await ctx.connect();
  const op = kill
    ? c.kill(spec, p.positionals, { signal, grace })
    : c.signal(spec, p.positionals, signal);
  let replies = await op.done;
  if (resolveTarget(spec).explicit === null) {
    // A glob or labels select hosts, not processes: a host without any of the
    // ids was merely selected, it did not fail. It is named, not counted.
    const without = replies.filter(hasNone);
    replies = replies.filter((r) => !hasNone(r));
    if (without.length > 0) {
      const ids = p.positionals.join(", ");
      ctx.out.stderr(`${fold(without.map((r) => r.host))}: no process ${ids} there\n`);
    }
  }
  if (flag(v, "json")) {
    ctx.out.stdout(replies.map((r) => JSON.stringify(r) + "\n").join(""));
  } else {
    const what = grace === undefined || grace === 0 && signal === "SIGKILL"
      ? `sent ${signal}`
      : `sent ${signal}, SIGKILL after ${grace}s`;
    const lines = sentLines(replies, what);
    if (lines.length > 0) ctx.out.stdout(lines.join("\n") + "\n");
  }
  const outcomes = replies.map(signalOutcome);
  ctx.out.stderr([...failureLines(outcomes), summaryLine(outcomes)].join("\n") + "\n");
  return outcomes.length > 0 && outcomes.every((o) => o.status === "ok") ? 0 : 1;
}

/** The host answered that it has none of the processes. */
function hasNone(r: HostReply<SignalReply>): boolean {
  return r.ok && r.results.length > 0 && r.results.every((x) => x.error?.code === "ESRCH");
}

/** A host failed when it did not answer, or when the signal failed for any of its processes. */
function signalOutcome(r: HostReply<SignalReply>): HostOutcome {
  if (!r.ok) {
    return {
      host: r.host,
      status: r.error.code === "ENORESPONSE" ? "noresponse" : "failed",
      error: r.error,
    };
  }
  const bad = (r.results ?? []).filter((x) => !x.ok);
  if (bad.length === 0) return { host: r.host, status: "ok" };
  const message = bad.map((x) => `${x.proc}: ${x.error?.message ?? "failed"}`).join("; ");
  return {
    host: r.host,
    status: "failed",
    error: { code: bad[0].error?.code ?? "EINTERNAL", message },
  };
}

/** `t-[1-3]: r1a2b: sent SIGTERM, SIGKILL after 5s`, one line per process id. */
function sentLines(replies: HostReply<SignalReply>[], what: string): string[] {
  const byProc = new Map<string, string[]>();
  for (const r of replies) {
    if (!r.ok) continue;
    for (const x of r.results ?? []) {
      if (!x.ok) continue;
      const hosts = byProc.get(x.proc) ?? [];
      hosts.push(r.host);
      byProc.set(x.proc, hosts);
    }
  }
  return [...byProc].map(([proc, hosts]) => `${fold(hosts)}: ${proc}: ${what}`);
}
