/**
 * What a `run` asks for, checked in full before anything is sent:
 * `prepareRun` throws `EBADSEL` for a bad selector and `EINVAL` naming a bad
 * field, and chooses the process id when the caller gave none. What it
 * returns is what `Controller.run` takes, so a caller that wants the id
 * first (the CLI, the dashboard) validates once.
 */
import { parseRunRequest, type RunRequest } from "../protocol/messages.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { checkToken } from "../protocol/subjects.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";

export interface RunOptions extends HostSpec {
  /** Program and arguments (no shell). Exactly one of `argv` and `shell`. */
  argv?: string[];
  /** A command line for `/bin/sh -c`. */
  shell?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
  /** Seconds; the agents then SIGTERM the group, SIGKILL after `grace`. */
  timeout?: number;
  /** Seconds between the timeout's SIGTERM and SIGKILL (agent default 5). */
  grace?: number;
  /** The process id on every host; chosen by the controller when absent. */
  id?: string;
  /** Publish output live (default true); the spool has it anyway. */
  live?: boolean;
  /** Done once every host has started the process (or failed to). */
  detach?: boolean;
  /** Re-sync period for pending hosts (default 5 s). */
  resyncMs?: number;
}

/** A fresh process id: `r`, the time in base 36 and four random characters. */
export function newRunId(): string {
  return newId("r");
}

/** A run checked in full: where it goes, its id, and the wire request. */
export class PreparedRun {
  private constructor(
    readonly options: Readonly<RunOptions>,
    readonly resolved: ResolvedTarget,
    readonly id: string,
    readonly request: RunRequest,
  ) {}

  static of(opts: RunOptions): PreparedRun {
    const resolved = resolveTarget(opts);
    const id = checkToken("process id", opts.id ?? newRunId());
    const request = parseRunRequest({
      v: 1,
      id,
      argv: opts.argv,
      shell: opts.shell,
      env: opts.env,
      clearEnv: opts.clearEnv,
      cwd: opts.cwd,
      timeout: opts.timeout,
      grace: opts.grace,
      live: opts.live,
    });
    return new PreparedRun({ ...opts, id }, resolved, id, dropUndefined(request));
  }
}

/** Checks a run without sending anything (see the module's comment). */
export function prepareRun(opts: RunOptions | PreparedRun): PreparedRun {
  return opts instanceof PreparedRun ? opts : PreparedRun.of(opts);
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
