/**
 * What the agent and its keeper say to each other over `<state-dir>/keeper.sock`.
 * This is not the NATS wire (protocol/ is): both ends are the same bundle, but
 * an agent re-executed from a newer bundle talks to the keeper an older one
 * started, so messages only ever gain optional fields.
 *
 * One frame is a 4-byte big-endian length and a CBOR map with a type `t`.
 */
import type { ExitSignalName } from "../../protocol/signals.ts";
import type { WireError } from "../../protocol/errors.ts";

export const KEEPER_PROTOCOL = 1;

/** How to start one process. */
export interface SpawnSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
}

/** One process as the keeper knows it: what it ran, and how it ended. */
export interface KeptInfo {
  id: string;
  /** Identity of the command (agent's idempotency key). */
  key: string;
  pid: number;
  /** /proc start time of the pid (clock ticks since boot): tells it from a recycled pid. */
  startTicks: number | null;
  argv: string[];
  cwd: string;
  /** ms since the epoch. */
  started: number;
  ended: number | null;
  code: number | null;
  signal: ExitSignalName | null;
  /** Bytes written to each spool file so far. */
  stdout: number;
  stderr: number;
  /** Where a spool file stopped being written and why (disk full...): later bytes are lost. */
  spoolFailure?: Partial<Record<"stdout" | "stderr", { at: number; why: string }>>;
  /** Set when the keeper cannot know how the process ended (its keeper died meanwhile). */
  lost?: string;
  /** Whether output is streamed live (the run request's `live`). */
  live: boolean;
  /** When the run's timeout fires (ms since the epoch), and the grace before SIGKILL (ms). */
  timeoutAt: number | null;
  graceMs: number | null;
  /** The agent's own per-process notes: the last event number it used, whether `exit` went out,
   * whether its timeout fired. A re-executed agent carries on from them. */
  seq: number;
  reported: boolean;
  timedOut: boolean;
}

// ------------------------------------------------------------- agent → keeper

export interface HelloMsg {
  t: "hello";
  v: number;
  /** The agent's pid, for the keeper's log. */
  pid: number;
}
export interface SpawnMsg {
  t: "spawn";
  id: string;
  key: string;
  spec: SpawnSpec;
  live: boolean;
  timeoutAt: number | null;
  graceMs: number | null;
}
/** Exited processes the agent no longer keeps: their records and spool go. */
export interface ForgetMsg {
  t: "forget";
  ids: string[];
}
/** The agent's notes on some processes (see `KeptInfo.seq` / `reported`). */
export interface NoteMsg {
  t: "note";
  notes: Note[];
}
export type Note = Pick<KeptInfo, "id" | "seq" | "reported" | "timedOut">;

/** A clean stop: the keeper exits once its last process has. */
export interface QuitMsg {
  t: "quit";
}
export type ToKeeper = HelloMsg | SpawnMsg | ForgetMsg | NoteMsg | QuitMsg;

// ------------------------------------------------------------- keeper → agent

/** The answer to `hello`: every process the keeper holds, running or exited. */
export interface WelcomeMsg {
  t: "welcome";
  v: number;
  keeperPid: number;
  procs: KeptInfo[];
}
/** Refused: another agent is attached. */
export interface BusyMsg {
  t: "busy";
  agentPid: number;
}
export interface SpawnedMsg {
  t: "spawned";
  id: string;
  info?: KeptInfo;
  error?: WireError;
}
/** A spool file grew: `size` bytes of `stream` are in it. */
export interface GrewMsg {
  t: "grew";
  id: string;
  stream: "stdout" | "stderr";
  size: number;
  /** Set once the spool stopped taking this stream (disk full...): bytes from `at` on are lost. */
  failure?: { at: number; why: string };
}
/** The process ended and its pipes closed: final sizes, status, spool failures. */
export interface ExitedMsg {
  t: "exited";
  info: KeptInfo;
}
export type FromKeeper = WelcomeMsg | BusyMsg | SpawnedMsg | GrewMsg | ExitedMsg;
