/**
 * `controller queue ACTION`: a work queue of many tasks over a node set, on
 * the server's JetStream (controller/queue/).
 *
 * - `submit --hosts SEL --slots K -- CMD {} ::: a b` stores the tasks (from
 *   `:::` lists, `--tasks FILE` or stdin: one argument line per task), tells
 *   the selected agents to take them, and follows them to the end (unless
 *   `--detach`); exit status 1 when a task failed.
 * - `status --name Q`: counts by state; `results --name Q`: a row per task.
 */
import { flag, type Parsed, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { combinations, splitSources } from "../mod.ts";
import { QueueView, resultsText, statusText } from "../render/queue.ts";
import { seconds } from "./run.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { CliContext, Verb } from "./verb.ts";

export const queueVerb: Verb = {
  name: "queue",
  summary: "a work queue: submit many tasks to a node set, K at a time per host; status, results",
  options: {
    ...SELECTION_OPTIONS,
    name: { type: "string" },
    slots: { type: "string" },
    retries: { type: "string" },
    backoff: { type: "string" },
    timeout: { type: "string" },
    lease: { type: "string" },
    tasks: { type: "string" },
    detach: { type: "boolean" },
    json: { type: "boolean" },
  },
  usage:
    `usage: controller queue submit --hosts SEL --slots K [options] -- CMD... [::: ARG... [::: ARG...]]
       controller queue status --name Q [--json]
       controller queue results --name Q [--json]
Runs many tasks over the selected hosts, each host running at most K at once and taking the next
task when a slot frees (fast hosts take more). Tasks are stored on the server's JetStream
(nats-server -js): a task whose host dies is run again elsewhere once its lease has expired, and
any controller can follow the queue by its name.
The command is run with /bin/sh -c; {} is replaced by the task's arguments, {1} {2} by the
argument from each ::: list, {#} by the task's number; without a placeholder the arguments are
appended. Arguments come from ::: lists (every combination, as GNU parallel), else from
--tasks FILE, else from stdin: one argument per line.
Each attempt's output is in its host's spool: controller logs HOST PROC (queue results lists them).

  --name Q             the queue (a subject token; default: a new name, printed); several
                       submissions to one name share its agents
  --slots K            tasks at once per host
  --retries N          a failed task (exit status not 0, signal, timeout) is tried again up to
                       N times (default 0)
  --backoff D          wait before the first retry, doubled for each next one (default 1s)
  --timeout D          a task running longer gets SIGTERM, then SIGKILL after 5 s
  --lease D            how long a task whose host went silent stays taken before it runs
                       elsewhere (default 30s; set when the queue is created)
  --tasks FILE         one argument line per task
  --detach             return once the tasks are queued and the hosts told
  --json               one JSON object per event (submit) or task (results) on stdout
${SELECTION_USAGE}`,

  async main(p, ctx) {
    const action = p.positionals[0];
    if (action === "submit") return await submit(p, ctx);
    if (action === "status" || action === "results") {
      if (p.positionals.length > 1) throw new UsageError(`${action}: too many arguments`);
      const name = str(p.values, "name");
      if (name === undefined) throw new UsageError(`${action}: missing --name Q`);
      const c = await ctx.connect();
      const s = await c.queueStatus(name);
      const json = flag(p.values, "json");
      ctx.out.stdout(action === "status" ? statusText(s, json) : resultsText(s, json));
      return 0;
    }
    throw new UsageError(
      action === undefined
        ? "missing ACTION: submit, status or results"
        : `unknown action ${JSON.stringify(action)}: submit, status or results`,
    );
  },
};

async function submit(p: Parsed, ctx: CliContext): Promise<number> {
  const spec = selection(p.values, true);
  const slotsText = str(p.values, "slots");
  if (slotsText === undefined) throw new UsageError("submit: missing --slots K");
  const slots = whole("--slots", slotsText, 1);
  const retriesText = str(p.values, "retries");
  const retries = retriesText === undefined ? undefined : whole("--retries", retriesText, 0);
  const dur = (f: string) => {
    const t = str(p.values, f);
    return t === undefined ? undefined : seconds(`--${f}`, t);
  };
  const { command, lists } = splitSources(p.positionals.slice(1));
  const file = str(p.values, "tasks");
  let rows: string[][];
  if (lists.length > 0) {
    if (file !== undefined) throw new UsageError("submit: ::: lists or --tasks FILE, not both");
    rows = combinations(lists);
  } else if (file !== undefined) {
    rows = lines(
      await Deno.readTextFile(file).catch((e) => {
        throw new UsageError(`submit: --tasks ${file}: ${(e as Error).message}`);
      }),
    );
  } else if (!Deno.stdin.isTerminal()) {
    rows = lines(await new Response(Deno.stdin.readable).text());
  } else {
    throw new UsageError("submit: no tasks: give ::: lists, --tasks FILE or lines on stdin");
  }
  const c = await ctx.connect();
  const op = c.queueSubmit(spec, {
    name: str(p.values, "name"),
    command: command.join(" "),
    rows,
    slots,
    retries,
    backoff: dur("backoff"),
    timeout: dur("timeout"),
    lease: dur("lease"),
    detach: flag(p.values, "detach"),
  });
  const view = new QueueView(ctx.out, flag(p.values, "json"));
  for await (const e of op) view.event(e);
  const summary = await op.done;
  view.end(summary);
  return summary.ok ? 0 : 1;
}

function whole(f: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min) {
    throw new UsageError(`${f} ${text}: a whole number from ${min}`);
  }
  return n;
}

/** One task per line (its one argument); a trailing empty line is no task. */
function lines(text: string): string[][] {
  const ls = text.split("\n");
  if (ls.at(-1) === "") ls.pop();
  return ls.map((l) => [l]);
}
