/**
 * `controller queue ACTION`: a work queue of many tasks over a node set, on
 * the server's JetStream (controller/queue/).
 *
 * - `submit --hosts SEL --slots K -- CMD {} ::: a b` stores the tasks (from
 *   `:::` lists, `--tasks FILE` or stdin: one argument line per task), tells
 *   the selected agents to take them, and follows them to the end (unless
 *   `--detach`); exit status 1 when a task failed.
 * - `status Q`: counts by state; `results Q`: a row per task; `watch Q`:
 *   follows it to its end as `submit` would (a controller attaching to a
 *   queue another one submitted).
 * - `cancel Q`, `retry-failed Q`, `drain Q HOST`, `undrain Q HOST`.
 */
import { flag, type Parsed, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import {
  combinationRows,
  type Controller,
  fold,
  type HostSpec,
  openRecordDir,
  type QueueBody,
  type QueueOperation,
  queueRecord,
  type QueueSubmitOptions,
  splitSources,
  writeRecord,
} from "../mod.ts";
import { JOBLOG_HEADER, joblogLine, QueueView, resultsText, statusText } from "../render/queue.ts";
import { parseBytes } from "../../protocol/cli/sizes.ts";
import { LineSplitter } from "../../protocol/text/line_splitter.ts";
import { seconds } from "./run.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { CliContext, Verb } from "./verb.ts";

export const queueVerb: Verb = {
  name: "queue",
  summary: "a work queue: submit many tasks to a node set, K at a time per host; status, cancel",
  options: {
    ...SELECTION_OPTIONS,
    name: { type: "string" },
    slots: { type: "string" },
    retries: { type: "string" },
    backoff: { type: "string" },
    timeout: { type: "string" },
    lease: { type: "string" },
    "max-load": { type: "string" },
    "min-free-mem": { type: "string" },
    joblog: { type: "string" },
    record: { type: "string" },
    tasks: { type: "string" },
    detach: { type: "boolean" },
    json: { type: "boolean" },
  },
  usage:
    `usage: controller queue submit --hosts SEL --slots K [options] -- CMD... [::: ARG... [::: ARG...]]
       controller queue status Q [--json]
       controller queue results Q [--json]
       controller queue watch Q [--json] [--joblog FILE] [--record DIR]
       controller queue cancel Q
       controller queue retry-failed Q
       controller queue drain Q HOST       (undrain Q HOST)
Runs many tasks over the selected hosts, each host running at most K at once and taking the next
task when a slot frees (fast hosts take more). Tasks are stored on the server's JetStream
(nats-server -js): a task whose host dies is run again elsewhere once its lease has expired, and
any controller can follow the queue by its name.
The command is run with /bin/sh -c; {} is replaced by the task's arguments, {1} {2} by the
argument from each ::: list, {#} by the task's number; without a placeholder the arguments are
appended. Arguments come from ::: lists (every combination, as GNU parallel), else from
--tasks FILE, else from stdin: one argument per line.
Each attempt's output is in its host's spool: controller logs HOST PROC (queue results lists them).
status, results and watch read the queue from the server: any controller can, the submitting one
killed or not (Q may also be given as --name Q). cancel stops the pending and running tasks (those
running are killed; state cancelled); retry-failed queues the failed and cancelled tasks again;
drain makes HOST finish its tasks of Q and take no more, undrain lets it take them again.

  --name Q             the queue (a subject token; default: a new name, printed); several
                       submissions to one name share its agents
  --slots K            tasks at once per host
  --retries N          a failed task (exit status not 0, signal, timeout) is tried again up to
                       N times (default 0)
  --backoff D          wait before the first retry, doubled for each next one (default 1s)
  --timeout D          a task running longer gets SIGTERM, then SIGKILL after 5 s
  --lease D            how long a task whose host went silent stays taken before it runs
                       elsewhere (default 30s; set when the queue is created)
  --max-load X         a host takes no task while its 1-minute load average is above X
  --min-free-mem SIZE  a host takes no task while its available memory is below SIZE (4GiB)
  --joblog FILE        write a line per task over to FILE, in GNU parallel's --joblog format
  --record DIR         at the end (submit, watch), write the queue's record into DIR: every
                       task's arguments, host, attempts, exit and times, and the hosts' facts;
                       see \`controller record\`
  --tasks FILE         one argument line per task
  --detach             return once the tasks are queued and the hosts told
  --json               one JSON object per event (submit) or task (results) on stdout
${SELECTION_USAGE}`,

  async main(p, ctx) {
    const action = p.positionals[0];
    if (action === "submit") return await submit(p, ctx);
    const args = p.positionals.slice(1);
    const json = flag(p.values, "json");
    if (action === "status" || action === "results") {
      const name = queueName(p, action, args, 0);
      const s = await (await ctx.connect()).queueStatus(name);
      ctx.out.stdout(action === "status" ? statusText(s, json) : resultsText(s, json));
      return 0;
    }
    if (action === "watch") {
      const name = queueName(p, action, args, 0);
      const view = new QueueView(ctx.out, json);
      view.named(name);
      await openRecord(p);
      const c = await ctx.connect();
      return await follow(c.queueWatch(name), view, p, { c, selector: {} });
    }
    if (action === "cancel") {
      const name = queueName(p, action, args, 0);
      const n = await (await ctx.connect()).queueCancel(name);
      ctx.out.stderr(`queue ${name}: cancelled; ${n} task${n === 1 ? "" : "s"} cancelled\n`);
      return 0;
    }
    if (action === "retry-failed") {
      const name = queueName(p, action, args, 0);
      const r = await (await ctx.connect()).queueRetryFailed(name);
      const n = r.tasks.length;
      ctx.out.stderr(`queue ${name}: ${n} task${n === 1 ? "" : "s"} queued again\n`);
      for (const h of r.hosts) {
        if (!h.ok) {
          ctx.out.stderr(`${h.host}: did not take the queue: ${h.error.code} ${h.error.message}\n`);
        }
      }
      return 0;
    }
    if (action === "drain" || action === "undrain") {
      const name = queueName(p, action, args, 1);
      const host = args.at(-1);
      if (host === undefined || args.length > 2 || (args.length === 1 && !str(p.values, "name"))) {
        throw new UsageError(`${action}: expected Q HOST`);
      }
      const c = await (await ctx.connect()).queueDrain(name, host, action === "drain");
      const drained = c.drained.length > 0 ? fold(c.drained) : "none";
      ctx.out.stderr(`queue ${name}: ${host} ${action}ed (drained: ${drained})\n`);
      return 0;
    }
    throw new UsageError(
      action === undefined
        ? `missing ACTION: ${ACTIONS}`
        : `unknown action ${JSON.stringify(action)}: ${ACTIONS}`,
    );
  },
};

const ACTIONS = "submit, status, results, watch, cancel, retry-failed, drain or undrain";

/** The queue's name: the first argument or `--name`; `extra` arguments may follow it. */
function queueName(p: Parsed, action: string, args: string[], extra: number): string {
  const flagName = str(p.values, "name");
  const given = flagName === undefined ? args[0] : flagName;
  const max = (flagName === undefined ? 1 : 0) + extra;
  if (given === undefined) throw new UsageError(`${action}: missing the queue's name Q`);
  if (args.length > max) throw new UsageError(`${action}: too many arguments`);
  return given;
}

/** Shows a queue's events (and writes the joblog) to its end; exit 1 unless every task is done. */
/** What a record of the queue says of where it came from (`--record`). */
interface RecordSource {
  c: Controller;
  selector: HostSpec;
  submission?: QueueBody["submission"];
}

async function follow(
  op: QueueOperation,
  view: QueueView,
  p: Parsed,
  source: RecordSource,
): Promise<number> {
  const started = Date.now();
  const recordDir = str(p.values, "record");
  const joblog = str(p.values, "joblog");
  const file = joblog === undefined ? null : await Deno.open(joblog, {
    write: true,
    create: true,
    truncate: true,
  }).catch((e) => {
    throw new UsageError(`--joblog ${joblog}: ${(e as Error).message}`);
  });
  const encoder = new TextEncoder();
  const write = (text: string) => {
    const data = encoder.encode(text);
    for (let at = 0; at < data.length;) at += file!.writeSync(data.subarray(at));
  };
  try {
    if (file) write(JOBLOG_HEADER);
    for await (const e of op) {
      if (file && e.type === "task") write(joblogLine(e.seq, e.task));
      view.event(e);
    }
    const summary = await op.done;
    view.end(summary);
    if (recordDir !== undefined && !summary.detached) {
      const record = await queueRecord(source.c, summary, { started, ...source });
      view.note(`record: ${await writeRecord(recordDir, record)}`);
    }
    return summary.ok ? 0 : 1;
  } finally {
    file?.close();
  }
}

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
  let rows: QueueSubmitOptions["rows"];
  let columns = 1;
  if (lists.length > 0) {
    if (file !== undefined) throw new UsageError("submit: ::: lists or --tasks FILE, not both");
    rows = () => combinationRows(lists);
    columns = lists.length;
  } else if (file !== undefined) {
    // Opened now so that a file that cannot be read runs nothing; read as it is needed.
    (await Deno.open(file).catch((e) => {
      throw new UsageError(`submit: --tasks ${file}: ${(e as Error).message}`);
    })).close();
    rows = async function* () {
      yield* lineRows((await Deno.open(file)).readable);
    };
  } else if (!Deno.stdin.isTerminal()) {
    // Read whole: stdin cannot be gone through twice.
    rows = await Array.fromAsync(lineRows(Deno.stdin.readable));
  } else {
    throw new UsageError("submit: no tasks: give ::: lists, --tasks FILE or lines on stdin");
  }
  const maxLoad = str(p.values, "max-load");
  const minFree = str(p.values, "min-free-mem");
  await openRecord(p);
  const c = await ctx.connect();
  const op = c.queueSubmit(spec, {
    name: str(p.values, "name"),
    command: command.join(" "),
    rows,
    columns,
    slots,
    retries,
    backoff: dur("backoff"),
    timeout: dur("timeout"),
    lease: dur("lease"),
    maxLoad: maxLoad === undefined ? undefined : load(maxLoad),
    minFreeMem: minFree === undefined ? undefined : parseBytes("--min-free-mem", minFree),
    detach: flag(p.values, "detach"),
    // A record lists every task; without one, the tasks that ended done are not kept.
    keepDone: str(p.values, "record") !== undefined,
  });
  const submission = {
    command: command.join(" "),
    slots,
    retries: retries ?? 0,
    ...(dur("timeout") !== undefined && { timeout: dur("timeout") }),
  };
  return await follow(op, new QueueView(ctx.out, flag(p.values, "json")), p, {
    c,
    selector: spec,
    submission,
  });
}

/** `--record DIR`: made before anything is sent, so a record that cannot be written runs nothing. */
async function openRecord(p: Parsed): Promise<void> {
  const dir = str(p.values, "record");
  if (dir !== undefined) await openRecordDir(dir);
}

function load(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !(n >= 0)) throw new UsageError(`--max-load ${text}: a number from 0`);
  return n;
}

function whole(f: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min) {
    throw new UsageError(`${f} ${text}: a whole number from ${min}`);
  }
  return n;
}

/** One task per line (its one argument), as the bytes come; a trailing empty line is no task. */
async function* lineRows(bytes: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let rows: string[][] = [];
  // No bound on a line: a task's line is cut nowhere (one too large is EMSGSIZE).
  const splitter = new LineSplitter((l) => {
    rows.push([decoder.decode(l)]);
  }, { maxLine: Infinity });
  for await (const chunk of bytes) {
    splitter.push(chunk);
    yield* rows;
    rows = [];
  }
  splitter.flush();
  yield* rows;
}
