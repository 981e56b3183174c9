/**
 * `programs` on many hosts: ONE broadcast on `P.all.programs`, one reply per
 * host, a fan-out (fanout.ts). Start, stop, restart, reload and apply may
 * take a while on the agents (until RUNNING, until stoptime has passed),
 * longer than a silent host should be waited for, so they ask for an early
 * acknowledgement (`ack: true`) and are answered later.
 *
 * After a reconnect the request goes out again to the hosts that have not
 * acknowledged it (each action is safe to repeat there: it never reached
 * them, or it did and they answer again with the same result).
 */
import { TuttiError } from "../protocol/errors.ts";
import {
  checkProgramPattern,
  CONFIG_MAX,
  NAMED_ACTIONS,
  PROGRAM_ACTIONS,
  type ProgramAction,
  type ProgramsReply,
  type ProgramsRequest,
  SLOW_ACTIONS,
} from "../protocol/program_messages.ts";
import type { Scope } from "./broadcast/scope.ts";
import { isProgramsAccepted, parseProgramsReply } from "../protocol/replies.ts";
import { fanout, type FanoutOperation } from "./fanout.ts";
import { type HostSpec, resolveTarget } from "./target.ts";

export interface ProgramsOptions extends HostSpec {
  /**
   * Processes (`web:0`, `nginx`), programs (`web`), `web:*` or `all`.
   * Needed by start, stop and restart; status without names lists all.
   */
  names?: string[];
  /** apply: the YAML text of the configuration to push. */
  config?: string;
  /** apply: the file name the agents use in messages (default `pushed`). */
  file?: string;
  /** Seconds the agents may take to finish the action (default 60). */
  timeout?: number;
}

export type ProgramsOperation = FanoutOperation<ProgramsReply>;

export const DEFAULT_PROGRAMS_TIMEOUT_S = 60;

/** The checked wire request: throws EINVAL (bad action, name, config) before anything is sent. */
export function programsRequest(action: ProgramAction, opts: ProgramsOptions): ProgramsRequest {
  if (!PROGRAM_ACTIONS.includes(action)) {
    throw new TuttiError(
      "EINVAL",
      `unknown action ${JSON.stringify(action)}: ${PROGRAM_ACTIONS.join(", ")}`,
    );
  }
  const names = opts.names ?? [];
  for (const n of names) checkProgramPattern("name", n);
  if (NAMED_ACTIONS.includes(action) && names.length === 0) {
    throw new TuttiError("EINVAL", `${action} needs at least one name (or all)`);
  }
  const req: ProgramsRequest = { action };
  if (names.length > 0) req.names = [...names];
  if (action === "apply") {
    if (opts.config === undefined) throw new TuttiError("EINVAL", "apply needs the configuration");
    if (opts.config.length > CONFIG_MAX) {
      throw new TuttiError("EINVAL", `the configuration is larger than ${CONFIG_MAX} characters`);
    }
    req.config = opts.config;
    if (opts.file !== undefined) req.file = opts.file;
  }
  if (SLOW_ACTIONS.includes(action)) {
    req.ack = true;
    const t = opts.timeout ?? DEFAULT_PROGRAMS_TIMEOUT_S;
    if (!(t > 0)) throw new TuttiError("EINVAL", `timeout ${t}: expected seconds > 0`);
    req.timeout = t;
  }
  return req;
}

export function startPrograms(
  scope: Scope,
  action: ProgramAction,
  opts: ProgramsOptions,
): ProgramsOperation {
  const resolved = resolveTarget(opts);
  const body = programsRequest(action, opts);
  const acked = body.ack ? { timeoutS: body.timeout ?? DEFAULT_PROGRAMS_TIMEOUT_S } : undefined;
  return fanout(scope, { verb: "programs", body, acked, parse: parseProgramsResult }, resolved);
}

/** A programs answer; an acknowledgement where the answer is due is a malformed reply. */
function parseProgramsResult(fields: Record<string, unknown>): ProgramsReply {
  const r = parseProgramsReply(fields);
  if (isProgramsAccepted(r)) {
    throw new TuttiError("EBADMSG", "programs reply: an acknowledgement where the answer is due");
  }
  return r;
}
