/**
 * One watch from a parsed condition. Everything that can be refused is
 * refused here, synchronously, so the `watch` request is answered with the
 * error (EINVAL for a bad address, ESRCH for an unknown process or program,
 * ENOSYS off Linux) instead of a watch that fails at once.
 *
 * `exit` and `output` name a `run` process or a supervised program: the
 * process table is asked first, then the supervisor. `state` is about
 * programs only.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { WatchCondition } from "../../protocol/watch_messages.ts";
import { CommandWatch } from "./command_watch.ts";
import { FileWatch } from "./file_watch.ts";
import { PortWatch } from "./port_watch.ts";
import type { ProcessSource } from "./process_source.ts";
import { ExitWatch, OutputWatch } from "./process_watch.ts";
import type { ProgramSource } from "./program_source.ts";
import { ProgramExitWatch, ProgramOutputWatch, ProgramStateWatch } from "./program_watch.ts";
import type { Watch } from "./watch.ts";

export interface WatchContext {
  /** The process table, for `exit` and `output` conditions. */
  processes?: ProcessSource;
  /** The supervised programs, for `exit`, `output` and `state` conditions on them. */
  programs?: ProgramSource;
  /** Where relative file paths start (default: the agent's working directory). */
  cwd?: string;
}

export function createWatch(c: WatchCondition, timeoutMs: number, ctx: WatchContext = {}): Watch {
  switch (c.kind) {
    case "file":
      return new FileWatch(c, timeoutMs, ctx.cwd);
    case "port":
      return new PortWatch(c, timeoutMs);
    case "command":
      return new CommandWatch(c, timeoutMs);
    case "exit":
      return ctx.processes?.has(c.proc)
        ? new ExitWatch(c, timeoutMs, ctx.processes)
        : new ProgramExitWatch(c, timeoutMs, programs(ctx, c.proc));
    case "output":
      return ctx.processes?.has(c.proc)
        ? new OutputWatch(c, timeoutMs, ctx.processes)
        : new ProgramOutputWatch(c, timeoutMs, programs(ctx, c.proc));
    case "state":
      return new ProgramStateWatch(c, timeoutMs, programs(ctx, c.proc));
  }
}

/** The supervisor, when `proc` is not a `run` process; the watch resolves the name (ESRCH). */
function programs(ctx: WatchContext, proc: string): ProgramSource {
  if (ctx.programs) return ctx.programs;
  if (!ctx.processes) throw new TuttiError("ENOSYS", "process watches are not available here");
  throw new TuttiError("ESRCH", `no process ${proc} on this host`);
}
