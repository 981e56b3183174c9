/**
 * One watch from a parsed condition. Everything that can be refused is
 * refused here, synchronously, so the `watch` request is answered with the
 * error (EINVAL for a bad address, ESRCH for an unknown process, ENOSYS off
 * Linux) instead of a watch that fails at once.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { WatchCondition } from "../../protocol/watch_messages.ts";
import { CommandWatch } from "./command_watch.ts";
import { FileWatch } from "./file_watch.ts";
import { PortWatch } from "./port_watch.ts";
import type { ProcessSource } from "./process_source.ts";
import { ExitWatch, OutputWatch } from "./process_watch.ts";
import type { Watch } from "./watch.ts";

export interface WatchContext {
  /** The process table, for `exit` and `output` conditions. */
  processes?: ProcessSource;
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
      return new ExitWatch(c, timeoutMs, processes(ctx, c.proc));
    case "output":
      return new OutputWatch(c, timeoutMs, processes(ctx, c.proc));
  }
}

function processes(ctx: WatchContext, proc: string): ProcessSource {
  if (!ctx.processes) throw new TuttiError("ENOSYS", "process watches are not available here");
  if (!ctx.processes.has(proc)) {
    throw new TuttiError("ESRCH", `no process ${proc} on this host`);
  }
  return ctx.processes;
}
