/**
 * `controller run --hosts SEL [...] -- CMD [ARGS...]`: one broadcast, live
 * output prefixed by host (or gathered, or JSON lines, or just the started
 * processes with --detach), a progress line on a terminal, and always a
 * summary on stderr. Exit 0 only when every host ran the command and it
 * exited 0.
 */
import { parseDuration } from "../../protocol/duration.ts";
import { TuttiError } from "../../protocol/errors.ts";
import { DetachView } from "../render/detach.ts";
import { GatherView } from "../render/gather.ts";
import { INTERRUPT_WINDOW_MS, InterruptView } from "../render/interrupt.ts";
import { JsonView } from "../render/json.ts";
import { LiveView } from "../render/live.ts";
import { ProgressView } from "../render/progress.ts";
import { ScheduleView } from "../render/schedule.ts";
import { parseInstant } from "./instant.ts";
import { SummaryView } from "../render/summary.ts";
import { present, type RunView } from "../render/view.ts";
import {
  openRecordDir,
  prepareRun,
  type RunOptions,
  RunRecorder,
  type RunSummary,
  type Unended,
  writeRecord,
} from "../mod.ts";
import { flag, list, str, type Values } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const runVerb: Verb = {
  name: "run",
  summary: "run a command on many hosts and report every exit status",
  stopAtWord: true,
  options: {
    ...SELECTION_OPTIONS,
    timeout: { type: "string" },
    grace: { type: "string" },
    id: { type: "string" },
    env: { type: "string", multiple: true },
    cwd: { type: "string" },
    user: { type: "string" },
    shell: { type: "boolean" },
    stdin: { type: "string" },
    detach: { type: "boolean" },
    at: { type: "string" },
    sync: { type: "boolean" },
    gather: { type: "boolean" },
    json: { type: "boolean" },
    record: { type: "string" },
  },
  usage: `usage: controller run --hosts SEL [options] [--] CMD [ARGS...]
Runs CMD on every selected host with one broadcast, prints the output prefixed by host,
then a summary. Exit status 0 when every host ran it and it exited 0, else 1.

${SELECTION_USAGE}
  --timeout D          the agents stop the process after D (10s, 5m, or seconds)
  --grace D            then SIGKILL after D more (default 5s)
  --id ID              process id on every host (default: a new one); a retry with
                       the same id never starts a second process
  --env K=V            add to the environment (repeatable)
  --cwd DIR            working directory on the hosts
  --user NAME          run as this user (a name or uid from the hosts' /etc/passwd); the
                       agents must run as root
  --shell              run the command line with /bin/sh -c
  --stdin FILE         FILE (- for this command's own stdin) is every host's stdin, read
                       once and sent once for all hosts; without it, stdin is /dev/null
  --at WHEN            start on every host at one instant: +DELAY (+2s), HH:MM[:SS[.fff]]
                       (today), a date and time (2026-12-05T14:03:27Z) or @EPOCH-SECONDS;
                       the hosts' clocks are measured first, and an instant already past
                       or too near is refused (nothing starts)
  --sync               start on every host at one instant, the earliest the measured
                       clocks allow (--at chooses it)
  --detach             print the started processes and return
  --gather             group hosts with identical output and exit status (like clush -b)
  --json               one JSON object per event on stdout
  --record DIR         write the run's record into DIR (created if needed): the command, the
                       hosts and their facts, each host's outcome; see \`controller record\`

Ctrl-C prints where the run stands; a second Ctrl-C within 1s stops waiting (exit 130) and
names the hosts still running the process, which keeps running there.`,

  async main(p, ctx) {
    const v = p.values;
    const opts = runOptions(v, p.positionals);
    const modes = ["detach", "gather", "json"].filter((m) => flag(v, m));
    if (modes.length > 1) throw new UsageError(`--${modes.join(" and --")} cannot be combined`);
    const input = str(v, "stdin");
    if (input !== undefined) {
      if (opts.detach) throw new UsageError("--stdin and --detach cannot be combined");
      // Opened before anything is sent: a file that cannot be read starts nothing anywhere.
      opts.stdin = openInput(input);
    }
    // Everything is checked before connecting: a bad selector sends nothing.
    const prepared = prepareRun(opts);
    const recordDir = str(v, "record");
    if (recordDir !== undefined) await openRecordDir(recordDir);
    const c = await ctx.connect();
    const recorder = recordDir === undefined ? null : new RunRecorder(prepared);
    // The hosts' facts as the run starts: a ping with the run's own selection, alongside it.
    const facts = recorder === null ? null : c.ping(opts).done;
    const run = c.run(prepared);
    const out = ctx.out;
    const main: RunView = opts.detach
      ? new DetachView(out)
      : flag(v, "gather")
      ? new GatherView(out)
      : flag(v, "json")
      ? new JsonView(out)
      : new LiveView(out);
    const progress = new ProgressView(out, run.id, () => run.expected);
    const interrupt = new InterruptView(run.id, () => run.expected);
    const views: RunView[] = [
      main,
      progress,
      interrupt,
      new SummaryView(out, opts.detach ? "started" : "ok"),
    ];
    // With --json, stdout has the schedule and the starts: stderr keeps only the summary.
    if (opts.sync && !flag(v, "json")) views.push(new ScheduleView(out));
    if (recorder !== null) views.push({ event: (e) => recorder.event(e), end: () => {} });
    const stop = onDoubleInterrupt(() => out.stderr(interrupt.status() + "\n"));
    let stopped = false;
    // Once the user stopped waiting, events still in flight must not print under the last lines.
    const gated: RunView[] = views.map((v) => ({
      event: (e) => stopped || v.event(e),
      flush: () => stopped || v.flush?.(),
      end: (summary) => stopped || v.end(summary),
    }));
    /** Writes the record, when asked for: of the ended run, or of what is known of it. */
    const record = async (summary: RunSummary, unended?: Unended) => {
      if (recorder === null) return;
      recorder.pings(await facts!);
      const r = await recorder.finish(summary, Date.now(), unended);
      out.stderr(`record: ${await writeRecord(recordDir!, r)}\n`);
    };
    try {
      const summary = await Promise.race([present(run, gated), stop.promise]);
      if (summary) {
        await record(summary);
        return summary.ok ? 0 : 1;
      }
      stopped = true;
    } finally {
      stop.remove();
    }
    // Stopped waiting: what finished is shown as usual, then what still runs and how to stop it.
    main.end(interrupt.partial());
    progress.end();
    out.stderr(interrupt.stopLines().join("\n") + "\n");
    // What is known is recorded: the hosts that ended, and which had not.
    await record(interrupt.partial(), interrupt.unended());
    return 130;
  },
};

/**
 * Listens for Ctrl-C: `status` on a first press, and `promise` resolves
 * (with null) on a second one within INTERRUPT_WINDOW_MS.
 */
function onDoubleInterrupt(status: () => void): { promise: Promise<null>; remove(): void } {
  const stop = Promise.withResolvers<null>();
  let last = -Infinity;
  const listener = () => {
    const now = performance.now();
    if (now - last <= INTERRUPT_WINDOW_MS) stop.resolve(null);
    else status();
    last = now;
  };
  Deno.addSignalListener("SIGINT", listener);
  return { promise: stop.promise, remove: () => Deno.removeSignalListener("SIGINT", listener) };
}

function runOptions(v: Values, command: string[]): RunOptions {
  if (command.length === 0) throw new UsageError("missing the command to run");
  const opts: RunOptions = { ...selection(v, true) };
  if (flag(v, "shell")) opts.shell = command.join(" ");
  else opts.argv = command;
  const timeout = str(v, "timeout");
  if (timeout !== undefined) opts.timeout = seconds("--timeout", timeout);
  const grace = str(v, "grace");
  if (grace !== undefined) opts.grace = seconds("--grace", grace);
  opts.id = str(v, "id");
  opts.cwd = str(v, "cwd");
  opts.user = str(v, "user");
  const env = list(v, "env");
  if (env.length > 0) {
    opts.env = {};
    for (const item of env) {
      const eq = item.indexOf("=");
      if (eq <= 0) throw new UsageError(`--env ${JSON.stringify(item)}: expected NAME=VALUE`);
      opts.env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  opts.detach = flag(v, "detach");
  const at = str(v, "at");
  if (at !== undefined) opts.at = parseInstant(at, Date.now());
  if (flag(v, "sync") || at !== undefined) opts.sync = true;
  return opts;
}

/** The bytes of `--stdin`: a file, or with `-` this command's own stdin. */
function openInput(path: string): ReadableStream<Uint8Array> {
  if (path === "-") return Deno.stdin.readable;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? ["ENOENT", "no such file or directory"] as const
      : e instanceof Deno.errors.PermissionDenied
      ? ["EACCES", "permission denied"] as const
      : ["EIO", (e as Error).message] as const;
    throw new TuttiError(why[0], `--stdin ${path}: ${why[1]}`);
  }
  if (file.statSync().isDirectory) {
    file.close();
    throw new UsageError(`--stdin ${path}: is a directory`);
  }
  return file.readable;
}

export function seconds(flagName: string, text: string): number {
  try {
    return parseDuration(text, flagName) / 1000;
  } catch (e) {
    throw new UsageError(e instanceof TuttiError ? e.message : String(e));
  }
}
