/**
 * The verbs of supervised programs (protocol/PROTOCOL.md, Programs):
 * `programs` (status, start, stop, restart, reload, apply, reopen), `tail`,
 * `follow`, `input`, and `shutdown` (stop this agent, after the reply).
 */
import { preflight } from "./reexec.ts";
import { TuttiError } from "../protocol/errors.ts";
import { withTimeout } from "../protocol/runtime/timers.ts";
import {
  parseFollowRequest,
  parseInputRequest,
  parseProgramsRequest,
  parseTailRequest,
  type ProgramResult,
  type ProgramsReply,
  type ProgramsRequest,
  type ProgramStatus,
} from "../protocol/program_messages.ts";
import type { Handled, Handler } from "./handlers.ts";
import type { Programs } from "./programs.ts";
import type { ReloadResult } from "./supervisor/supervisor.ts";

/** How long an action may take unless the request says (seconds). */
const DEFAULT_TIMEOUT_S = 60;

export function programHandlers(
  programs: Programs,
  /** Runs after the `shutdown` reply has gone out; answers the count of `run` processes. */
  shutdown: { running(): number; request(): void; restart(): void },
): Map<string, Handler> {
  const sup = programs.sup;
  return new Map<string, Handler>([
    ["programs", async (m, ctx) => {
      const req = parseProgramsRequest(m);
      if (req.ack) ctx.accept({ action: req.action, accepted: true });
      const body = await within(act(programs, req), req);
      return { body };
    }],

    ["tail", (m) => {
      const req = parseTailRequest(m);
      const { data, offset } = sup.tail(req.name, req.stream, req.bytes);
      return { body: { name: req.name, stream: req.stream, offset, data } };
    }],

    ["follow", (m) => {
      const req = parseFollowRequest(m);
      if (!sup.has(req.name)) throw noSuchProcess(req.name);
      const until = programs.follow(req.name, req.seconds);
      return { body: { name: req.name, until, ...(sup.isTerminal(req.name) && { tty: true }) } };
    }],

    ["input", async (m) => {
      const req = parseInputRequest(m);
      if (!sup.has(req.name)) throw noSuchProcess(req.name);
      // The size first: what is typed next is for a terminal of that size.
      if (req.rows !== undefined) await sup.resize(req.name, req.rows, req.cols!);
      if (req.data !== undefined && req.data.length > 0) await sup.write(req.name, req.data);
      if (req.eof) sup.closeInput(req.name);
      return { body: { name: req.name, written: req.data?.length ?? 0 } };
    }],

    ["shutdown", (): Handled => {
      const body = { pid: Deno.pid, programs: programs.running, processes: shutdown.running() };
      // The dispatcher publishes the reply as this returns; the stop begins after it.
      setTimeout(() => shutdown.request(), 0);
      return { body };
    }],

    // Answered once the program on disk is known to start: a broken bundle is refused here,
    // before this agent gives anything up for it.
    ["upgrade", async (_m, ctx): Promise<Handled> => {
      // Starting the program on disk takes a Deno start-up or more on a loaded node: acknowledged
      // at once, answered once known.
      ctx.accept({ accepted: true });
      try {
        await preflight();
      } catch (e) {
        throw new TuttiError("ENOEXEC", `not restarting: ${(e as Error).message}`);
      }
      const body = { pid: Deno.pid, programs: programs.running, processes: shutdown.running() };
      setTimeout(() => shutdown.restart(), 0);
      return { body };
    }],
  ]);
}

async function act(programs: Programs, req: ProgramsRequest): Promise<ProgramsReply> {
  const sup = programs.sup;
  const names = req.names ?? [];
  let results: ProgramResult[] = [];
  let reload: ReloadResult | undefined;
  let rowsOf = names;
  switch (req.action) {
    case "status": {
      const { rows, unknown } = sup.statusReport(names);
      return {
        action: req.action,
        results: unknown.map(unknownName),
        processes: rows,
        config: sup.configSource,
      };
    }
    case "start":
      results = await sup.start(names);
      break;
    case "stop":
      results = await sup.stop(names);
      break;
    case "restart":
      results = await sup.restart(names);
      break;
    case "reload":
      reload = await sup.reload();
      rowsOf = [];
      break;
    case "apply":
      reload = await sup.load({
        text: req.config!,
        name: req.file ?? "pushed",
        baseDir: Deno.cwd(),
      });
      rowsOf = [];
      break;
    case "reopen":
      sup.reopenLogs();
      return { action: req.action, results: [], processes: [], config: sup.configSource };
  }
  const processes: ProgramStatus[] = sup.statusReport(rowsOf).rows;
  const reply: ProgramsReply = { action: req.action, results, processes, config: sup.configSource };
  if (reload) reply.reload = reload;
  return reply;
}

function unknownName(name: string): ProgramResult {
  const error = { code: "ESRCH" as const, message: `${name}: no such process` };
  return { name, ok: false, message: "no such process", error };
}

function noSuchProcess(name: string): TuttiError {
  return new TuttiError("ESRCH", `${name}: no such process`);
}

/** The action's reply, or ETIMEDOUT once its timeout has passed (the action goes on). */
function within<T>(p: Promise<T>, req: ProgramsRequest): Promise<T> {
  const seconds = req.timeout ?? DEFAULT_TIMEOUT_S;
  return withTimeout(p, seconds * 1000, (timeout) => {
    throw new TuttiError("ETIMEDOUT", `${req.action} still in progress after ${seconds}s`, {
      cause: timeout,
    });
  });
}
