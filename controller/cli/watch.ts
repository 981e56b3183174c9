/**
 * `controller watch --hosts SEL [--all|--any] [--timeout D] CONDITION`:
 * blocks until CONDITION holds on every (or any) selected host. Prints each
 * host as it becomes ready, then the hosts that did not and a summary line
 * on stderr. Exit 0 when the condition held as asked, 1 when not (timeout,
 * failure, no response), 2 for bad usage, 130 when interrupted; in every
 * case the watches still running on the agents are cancelled first.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { fold } from "../../protocol/selector.ts";
import {
  CONDITION_SYNTAX,
  type ConditionFlags,
  describeCondition,
  parseConditionWords,
  prepareWatch,
  type WatchOptions,
  type WatchSummary,
} from "../mod.ts";
import { notReadyLines, readyLine, watchSummaryLine } from "../render/watch.ts";
import { flag, str, type Values } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { seconds } from "./run.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const watchVerb: Verb = {
  name: "watch",
  summary: "wait until a condition (port, file, exit, output, state, command) holds on the hosts",
  options: {
    ...SELECTION_OPTIONS,
    all: { type: "boolean" },
    any: { type: "boolean" },
    timeout: { type: "string" },
    id: { type: "string" },
    stream: { type: "string" },
    flags: { type: "string" },
    from: { type: "string" },
    interval: { type: "string" },
    "probe-timeout": { type: "string" },
    shell: { type: "boolean" },
    cwd: { type: "string" },
    json: { type: "boolean" },
  },
  usage: `usage: controller watch --hosts SEL [--all|--any] [--timeout D] CONDITION
Waits until CONDITION holds on every selected host (--all, the default) or on one of them
(--any), printing each host as it becomes ready. Exit status 0 when it held, 1 on timeout or
failure (the hosts that were not ready are named). The agents watch on their own nodes; the
watches still running are cancelled when the command ends, however it ends.

${CONDITION_SYNTAX}

${SELECTION_USAGE}
  --all | --any        every host must be ready (default), or one is enough
  --timeout D          give up after D (10s, 5m, or seconds; default 300s)
  --id ID              watch id on every host (default: a new one)
  --stream S           output: only stdout or stderr
  --flags F            output: regular expression flags among i, m, s, u
  --from now           output: ignore lines printed before the watch
  --interval D         cmd: time between probes (default 1s)
  --probe-timeout D    cmd: a probe running longer is killed (default 10s)
  --shell              cmd: the words are one command line for /bin/sh -c
  --cwd DIR            cmd: working directory of the probes
  --json               one JSON object per event on stdout

examples:
  controller watch --hosts 'g5k-[1-8]' --timeout 2m port 9000
  controller watch --hosts g5k-3 --stream stderr output srv 'listening on'
  controller watch --hosts 'g5k-*' state web RUNNING
  controller watch --hosts 'g5k-*' --any cmd -- curl -sf http://localhost:9000/health`,

  async main(p, ctx) {
    const v = p.values;
    const opts = watchOptions(v, p.positionals);
    // Everything is checked before connecting: a bad selector or condition sends nothing.
    const abort = new AbortController();
    const prepared = prepareWatch({ ...opts, signal: abort.signal });
    const c = await ctx.connect();
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      abort.abort();
    };
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    const json = flag(v, "json");
    const out = ctx.out;
    let summary: WatchSummary;
    try {
      const watch = c.watch(prepared);
      const what = describeCondition(prepared.condition);
      const timeout = prepared.timeout;
      let ready = 0;
      for await (const e of watch) {
        if (json) out.stdout(JSON.stringify(e) + "\n");
        if (e.type === "armed" && e.watching.length > 0) {
          // From here on nothing is missed: said once, for scripts and people alike.
          out.stderr(`${fold(e.watching)}: watching ${what} (timeout ${timeout}s)\n`);
        }
        if (e.type !== "result") continue;
        if (e.status === "met") {
          ready++;
          if (!json) out.stdout(readyLine(e) + "\n");
        }
        out.status(`${what}: ${ready}/${watch.expected} ready`);
      }
      summary = await watch.done;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      out.status(null);
    }
    const lines = [...notReadyLines(summary.hosts), watchSummaryLine(summary)];
    out.stderr(lines.join("\n") + "\n");
    if (interrupted) return 130;
    return summary.ok ? 0 : 1;
  },
};

function watchOptions(v: Values, words: string[]): WatchOptions {
  const spec = selection(v, true);
  if (flag(v, "all") && flag(v, "any")) throw new UsageError("--all and --any cannot be combined");
  const flags: ConditionFlags = { shell: flag(v, "shell") || undefined, cwd: str(v, "cwd") };
  const stream = str(v, "stream");
  if (stream !== undefined) {
    if (stream !== "stdout" && stream !== "stderr") {
      throw new UsageError(`--stream ${JSON.stringify(stream)}: stdout or stderr`);
    }
    flags.stream = stream;
  }
  flags.flags = str(v, "flags");
  const from = str(v, "from");
  if (from !== undefined) {
    if (from !== "now" && from !== "start") {
      throw new UsageError(`--from ${JSON.stringify(from)}: now or start`);
    }
    flags.from = from;
  }
  const interval = str(v, "interval");
  if (interval !== undefined) flags.interval = seconds("--interval", interval);
  const probeTimeout = str(v, "probe-timeout");
  if (probeTimeout !== undefined) flags.probeTimeout = seconds("--probe-timeout", probeTimeout);
  let condition;
  try {
    condition = parseConditionWords(words, flags);
  } catch (e) {
    throw e instanceof TuttiError ? new UsageError(e.message) : e;
  }
  const opts: WatchOptions = { ...spec, condition, mode: flag(v, "any") ? "any" : "all" };
  const timeout = str(v, "timeout");
  if (timeout !== undefined) opts.timeout = seconds("--timeout", timeout);
  opts.id = str(v, "id");
  return opts;
}
