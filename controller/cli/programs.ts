/**
 * `controller programs ACTION --hosts SEL [NAME...]`: the supervised
 * programs of the selected hosts, as supervisorctl would show and drive
 * them, on every host with one broadcast.
 *
 * `status` prints supervisorctl's lines prefixed by host; the actions print
 * supervisorctl's words, identical lines of several hosts folded into one.
 * Failures and a summary go to stderr; the exit status is 1 when any host
 * failed (an error, an unknown name, a failed start) or did not answer. With
 * a glob or labels, hosts that have none of the named programs are named
 * but not counted as failed: they were selected, not asked about them.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import { PROGRAM_ACTIONS, type ProgramAction } from "../../protocol/program_messages.ts";
import { fold } from "../../protocol/selector.ts";
import { isToken } from "../../protocol/subjects.ts";
import { type ProgramsOptions, resolveTarget } from "../mod.ts";
import { actionLines, hasNone, programsOutcome, statusLines } from "../render/programs.ts";
import { failureLines, summaryLine } from "../render/summary.ts";
import { flag, type Parsed, str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { seconds } from "./run.ts";
import { attachMain } from "./attach.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { CliContext, Verb } from "./verb.ts";

/** The words of the command line, and the action each stands for. */
const ACTION_WORDS: Record<string, ProgramAction> = {
  status: "status",
  start: "start",
  stop: "stop",
  restart: "restart",
  reload: "reload",
  apply: "apply",
  "reopen-logs": "reopen",
  reopen: "reopen",
};

export const programsVerb: Verb = {
  name: "programs",
  summary:
    "supervised programs: status, start, stop, restart, reload, apply, reopen-logs, tail, attach",
  options: {
    ...SELECTION_OPTIONS,
    json: { type: "boolean" },
    timeout: { type: "string" },
    follow: { type: "boolean", short: "f" },
    stderr: { type: "boolean" },
    bytes: { type: "string" },
  },
  usage: `usage: controller programs ACTION [--hosts SEL] [options] [NAME...]
Drives the programs the agents supervise (their --config, or a pushed file), on every
selected host with one broadcast.

actions:
  status [NAME...]          supervisorctl's status lines, prefixed by host (default: all
                            hosts, all processes)
  start NAME...             start, and wait until RUNNING (or failed)
  stop NAME...              stop signal to the process group, SIGKILL after stoptime
  restart NAME...           stop, then start
  reload                    re-read each agent's configuration file and apply the
                            difference (unchanged programs keep running)
  apply FILE                push FILE as the configuration and apply the difference
  reopen-logs               reopen the programs' output files (after a rotation)
  tail [-f] NAME            the last output of NAME on one host (-f: and what follows)
  attach NAME               NAME's output and this terminal's input, on one host, until
                            Ctrl-] detaches (it keeps running); a program with tty: true
                            gets every key in raw mode, and this terminal's size (others
                            get lines: Ctrl-] then Enter)

NAME: a process (web:0, nginx), a program (web: all its processes), web:* or all.
--hosts is needed by every action but status.

${SELECTION_USAGE}
  --json               status: one JSON object per process; actions: one per host
  --timeout D          how long the agents may take to finish (default 60s)
  -f, --follow         tail: keep printing what the process writes (Ctrl-C ends)
  --stderr             tail: the error stream
  --bytes N            tail: at most N bytes of what was written before (default 64 KiB)`,

  async main(p, ctx) {
    const [word, ...names] = p.positionals;
    if (word === undefined) throw new UsageError("missing the ACTION");
    if (word === "tail") return await tailMain(p, names, ctx);
    if (word === "attach") return await attachMain(p, names, ctx);
    const action = ACTION_WORDS[word];
    if (action === undefined) {
      throw new UsageError(
        `unknown action ${JSON.stringify(word)}: ${
          [...PROGRAM_ACTIONS.filter((a) => a !== "reopen"), "reopen-logs", "tail", "attach"]
            .join(", ")
        }`,
      );
    }
    const v = p.values;
    const spec = selection(v, action !== "status");
    const opts: ProgramsOptions = { ...spec };
    if (action === "apply") {
      if (names.length !== 1) throw new UsageError("apply needs exactly one FILE");
      opts.file = names[0];
      try {
        opts.config = await Deno.readTextFile(names[0]);
      } catch (e) {
        throw new UsageError(`${names[0]}: ${(e as Error).message}`);
      }
    } else if (action === "reload" || action === "reopen") {
      if (names.length > 0) throw new UsageError(`${word} takes no NAME`);
    } else {
      if (action !== "status" && names.length === 0) {
        throw new UsageError(`${word} needs at least one NAME (or all)`);
      }
      opts.names = names;
    }
    const timeout = str(v, "timeout");
    if (timeout !== undefined) opts.timeout = seconds("--timeout", timeout);
    const c = await ctx.connect();
    let replies = await c.programs(action, opts).done;

    if (resolveTarget(spec).explicit === null && names.length > 0) {
      const without = replies.filter(hasNone);
      replies = replies.filter((r) => !hasNone(r));
      if (without.length > 0) {
        ctx.out.stderr(`${fold(without.map((r) => r.host))}: no ${names.join(", ")} there\n`);
      }
    }
    const json = flag(v, "json");
    if (json && action === "status") {
      const rows = replies.flatMap((r) =>
        r.ok ? r.processes.map((row) => JSON.stringify({ host: r.host, ...row }) + "\n") : []
      );
      ctx.out.stdout(rows.join(""));
    } else if (json) {
      ctx.out.stdout(replies.map((r) => JSON.stringify(r) + "\n").join(""));
    } else {
      const lines = action === "status" ? statusLines(replies) : actionLines(replies);
      if (lines.length > 0) ctx.out.stdout(lines.join("\n") + "\n");
    }
    const outcomes = replies.map(programsOutcome);
    const ok = outcomes.length > 0 && outcomes.every((o) => o.status === "ok");
    if (action !== "status" || !ok) {
      ctx.out.stderr([...failureLines(outcomes), summaryLine(outcomes)].join("\n") + "\n");
    }
    return ok ? 0 : 1;
  },
};

/** `programs tail --hosts HOST [-f] [--stderr] NAME`: one host, one process. */
async function tailMain(p: Parsed, names: string[], ctx: CliContext): Promise<number> {
  const v = p.values;
  const host = str(v, "hosts");
  if (host === undefined || !isToken(host)) {
    throw new UsageError("tail needs --hosts HOST, exactly one host name");
  }
  if (names.length !== 1) throw new UsageError("tail needs exactly one NAME");
  const stream: StreamName = flag(v, "stderr") ? "stderr" : "stdout";
  const bytesText = str(v, "bytes");
  let bytes: number | undefined;
  if (bytesText !== undefined) {
    bytes = Number(bytesText);
    if (!Number.isSafeInteger(bytes) || bytes < 1) {
      throw new UsageError(`--bytes ${JSON.stringify(bytesText)}: expected a number of bytes`);
    }
  }
  const c = await ctx.connect();
  const tail = c.programTail(host, names[0], { stream, bytes, follow: flag(v, "follow") });
  const stop = () => tail.close();
  Deno.addSignalListener("SIGINT", stop);
  try {
    for await (const e of tail) {
      if (e.type === "output") ctx.out.stdout(e.data);
      else if (e.type === "gap") {
        ctx.out.stderr(`\n[${e.bytes} bytes of ${e.stream} not received live]\n`);
      } else if (e.event.type === "state") ctx.out.stderr(`[${e.event.message}]\n`);
    }
  } catch (e) {
    if (e instanceof TuttiError) {
      ctx.out.stderr(`controller programs tail: ${e.code} ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
}
