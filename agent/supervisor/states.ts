/**
 * The states of a supervised process and the transitions between them,
 * as supervisord defines them (supervisor/states.py, process.py):
 *
 * ```
 *   STOPPED, EXITED, FATAL ─start─▶ STARTING
 *   STARTING ─up for starttime─▶ RUNNING ─exits─▶ EXITED ─autorestart─▶ STARTING
 *   STARTING ─dies before starttime─▶ BACKOFF ─after 1 s, 2 s, 3 s…─▶ STARTING
 *   BACKOFF ─startretries used up─▶ FATAL
 *   STARTING, RUNNING ─stop─▶ STOPPING ─process group gone─▶ STOPPED
 *   BACKOFF ─stop─▶ STOPPED
 * ```
 *
 * One difference, on purpose: EXITED → FATAL. supervisord restarts a
 * program that crashes just after `starttime` forever (its issue 405); tutti
 * gives up after `startretries` quick restarts that crashed again (see
 * `quickRunMs` in supervised_process.ts).
 */

import type { ProgramState } from "../../protocol/program_messages.ts";

/** The states are the wire's (protocol/program_messages.ts `PROGRAM_STATES`): one list. */
export type ProcessState = ProgramState;

/** Where each state may go; `changeState` refuses anything else. */
export const TRANSITIONS: Readonly<Record<ProcessState, readonly ProcessState[]>> = {
  STOPPED: ["STARTING"],
  STARTING: ["RUNNING", "BACKOFF", "STOPPING"],
  RUNNING: ["EXITED", "STOPPING"],
  BACKOFF: ["STARTING", "FATAL", "STOPPED"],
  STOPPING: ["STOPPED"],
  EXITED: ["STARTING", "FATAL"],
  FATAL: ["STARTING"],
};

/** Not running and nothing scheduled: `start` may spawn, `stop` has nothing to do. */
export const STOPPED_STATES: readonly ProcessState[] = ["STOPPED", "EXITED", "FATAL"];

/** Running or about to be retried: `start` answers "already started". */
export const RUNNING_STATES: readonly ProcessState[] = ["STARTING", "RUNNING", "BACKOFF"];

export function canTransition(from: ProcessState, to: ProcessState): boolean {
  return TRANSITIONS[from].includes(to);
}
