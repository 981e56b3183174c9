/**
 * What a `run` asks for, checked in full before anything is sent:
 * `prepareRun` throws `EBADSEL` for a bad selector and `EINVAL` naming a bad
 * field, and chooses the process id when the caller gave none. What it
 * returns is what `Controller.run` takes, so a caller that wants the id
 * first (the CLI, the dashboard) validates once.
 */
import { TuttiError } from "../protocol/errors.ts";
import { parseRunRequest, type RunRequest } from "../protocol/messages.ts";
import { newId } from "../protocol/runtime/ids.ts";
import { checkToken } from "../protocol/subjects.ts";
import { type HostSpec, type ResolvedTarget, resolveTarget } from "./target.ts";
import { fold } from "../protocol/selector.ts";
import { MIN_AHEAD_MS } from "./clock_estimate.ts";
import {
  checkInputSource,
  checkInputWindow,
  DEFAULT_INPUT_WINDOW,
  type InputSource,
} from "./run_input.ts";

export interface RunOptions extends HostSpec {
  /** Program and arguments (no shell). Exactly one of `argv` and `shell`. */
  argv?: string[];
  /** A command line for `/bin/sh -c`. */
  shell?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  cwd?: string;
  /**
   * Run as this user (a name or a uid) on every host: the agents must run
   * as root (EPERM otherwise) and know the user (ENOENT otherwise).
   */
  user?: string;
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
  /**
   * The same bytes for every host's stdin (read once, sent once for all
   * hosts; see run_input.ts), then its end. Without it, stdin is /dev/null.
   */
  stdin?: InputSource;
  /** Input bytes sent ahead of the slowest host (default 4 MiB, 64 KiB to 64 MiB). */
  stdinWindow?: number;
  /**
   * Start the process on every host at one instant (synced_run.ts): the
   * hosts' clocks are measured first, then the instant is the earliest
   * that leaves time to reach them all. See `at` to choose it.
   */
  sync?: boolean;
  /**
   * Start on every host at this instant (ms since the epoch, or a Date, on
   * this controller's clock); implies `sync`. It must be at least
   * MIN_AHEAD_MS ahead (EINVAL otherwise, and nothing is sent).
   */
  at?: number | Date;
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
    /**
     * A run at an instant: the instant asked for (ms since the epoch), or
     * null for the earliest one the clocks allow; null for a run at once.
     */
    readonly sync: { at: number | null } | null = null,
    /** Set once the instant is chosen and `request.startUs` holds each host's. */
    readonly instant?: number,
  ) {}

  static of(opts: RunOptions): PreparedRun {
    const resolved = resolveTarget(opts);
    const id = checkToken("process id", opts.id ?? newRunId());
    const stdin = opts.stdin === undefined ? undefined : checkInputSource(opts.stdin);
    if (stdin !== undefined && opts.detach) {
      throw new TuttiError(
        "EINVAL",
        "stdin and detach cannot be combined: the run feeds the input until its end",
      );
    }
    const window = opts.stdinWindow === undefined ? undefined : checkInputWindow(opts.stdinWindow);
    const at = opts.at === undefined ? undefined : checkInstant(opts.at, Date.now());
    const sync = opts.sync || at !== undefined ? { at: at ?? null } : null;
    const request = parseRunRequest({
      v: 1,
      id,
      argv: opts.argv,
      shell: opts.shell,
      env: opts.env,
      clearEnv: opts.clearEnv,
      cwd: opts.cwd,
      user: opts.user,
      timeout: opts.timeout,
      grace: opts.grace,
      live: opts.live,
      stdin: stdin === undefined ? undefined : true,
    });
    const options = stdin === undefined
      ? { ...opts, id }
      : { ...opts, id, stdinWindow: window ?? DEFAULT_INPUT_WINDOW };
    return new PreparedRun(options, resolved, id, dropUndefined(request), sync);
  }

  /**
   * The run at its instant: only to `hosts` (those whose clock was
   * measured), each with its instant on its own clock (`startUs`).
   */
  at(instant: number, startUs: Record<string, number>): PreparedRun {
    const hosts = Object.keys(startUs);
    const named = new Set(hosts);
    const resolved: ResolvedTarget = {
      target: { ...this.resolved.target, hosts: fold(hosts) },
      explicit: hosts,
      matches: (h) => named.has(h),
    };
    const request = { ...this.request, startUs };
    return new PreparedRun(this.options, resolved, this.id, request, this.sync, instant);
  }
}

/** Checks a run without sending anything (see the module's comment). */
export function prepareRun(opts: RunOptions | PreparedRun): PreparedRun {
  return opts instanceof PreparedRun ? opts : PreparedRun.of(opts);
}

/**
 * A start instant as ms since the epoch: refused when it is past, or too
 * near to measure the clocks and reach every host first.
 */
export function checkInstant(at: number | Date, now: number): number {
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new TuttiError("EINVAL", `at: expected a time (ms since the epoch or a Date), got ${at}`);
  }
  const when = new Date(ms).toISOString();
  if (ms <= now) {
    throw new TuttiError(
      "EINVAL",
      `the start instant ${when} is ${((now - ms) / 1000).toFixed(3)} s past: nothing was started`,
    );
  }
  if (ms - now < MIN_AHEAD_MS) {
    throw new TuttiError(
      "EINVAL",
      `the start instant ${when} is only ${(ms - now).toFixed(0)} ms ahead: the hosts' clocks ` +
        `are measured first and the run must reach them before it (at least ${MIN_AHEAD_MS} ms; ` +
        `a second or more is safe): nothing was started`,
    );
  }
  return ms;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
