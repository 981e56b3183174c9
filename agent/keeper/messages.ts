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
import type { LaunchSpec } from "../supervisor/launch.ts";
import type { UserSpec } from "../supervisor/users.ts";

export const KEEPER_PROTOCOL = 1;

/** How to start one process. */
export interface SpawnSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** As this user (`run --user`; only sent to a keeper whose `welcome` says `users`). */
  user?: UserSpec;
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
  /** The same, µs since the epoch, read as the keeper started it (absent in older records). */
  startedUs?: number;
  ended: number | null;
  code: number | null;
  signal: ExitSignalName | null;
  /** Bytes written to each spool file so far. */
  stdout: number;
  stderr: number;
  /** Where a spool file stopped being written and why (disk full...): later bytes are lost. */
  spoolFailure?: Partial<Record<"stdout" | "stderr", { at: number; why: string }>>;
  /**
   * A supervised process's run (its name, `web:0`): its output goes to the program's files
   * (`grew` gives their sizes), it has a stdin, and the supervisor, not `run`, owns it.
   */
  program?: string;
  /** A supervised process's output files (null: discarded). */
  paths?: { stdout: string | null; stderr: string | null };
  /** In a `welcome`, for a running supervised process: where its output files stand. */
  files?: Partial<Record<"stdout" | "stderr", { size: number; gen: number; start: number }>>;
  /** Set when the keeper cannot know how the process ended (its keeper died meanwhile). */
  lost?: string;
  /** Whether output is streamed live (the run request's `live`). */
  live: boolean;
  /**
   * A run started with `stdin`: bytes handed to its stdin so far (written,
   * or queued in order to be), and whether it is closed. An agent that
   * attaches carries on from `written`.
   */
  input?: { written: number; closed: boolean };
  /** When the run's timeout fires (ms since the epoch), and the grace before SIGKILL (ms). */
  timeoutAt: number | null;
  graceMs: number | null;
  /** The agent's own per-process notes: the last event number it used, whether `exit` went out,
   * whether its timeout fired. A re-executed agent carries on from them. */
  seq: number;
  reported: boolean;
  timedOut: boolean;
  /**
   * How far the agent had read each stream for its live output: the next
   * agent replays from there (absent in records of older agents).
   */
  sent?: { stdout: number; stderr: number };
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
  /** For a supervised process: its name and how to launch it (spec.argv is its argv too). */
  program?: { name: string; launch: LaunchSpec; stdout: string | null; stderr: string | null };
  live: boolean;
  timeoutAt: number | null;
  graceMs: number | null;
  /** A run whose stdin is a pipe the keeper holds, fed with `input` (else /dev/null). */
  stdin?: boolean;
  /**
   * Start at this instant (µs since the epoch on this machine's clock), not
   * at once: the keeper answers `scheduled` once ready, then `spawned` at
   * the instant. Only sent to a keeper whose `welcome` says `scheduling`.
   */
  startUs?: number;
}
/**
 * A spawn held for its instant is not wanted any more (its process was
 * signalled first): answered `spawned` with ECANCELED, or with the process
 * when it has started already.
 */
export interface CancelMsg {
  t: "cancel";
  id: string;
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
/** Bytes for the stdin of a supervised process or a run, or its end (`eof`); answered with `answer`. */
export interface InputMsg {
  t: "input";
  req: number;
  id: string;
  data?: Uint8Array;
  eof?: boolean;
}
/** Close and reopen every program output file (logrotate moved them). */
export interface ReopenMsg {
  t: "reopen";
}

export type Note = Pick<KeptInfo, "id" | "seq" | "reported" | "timedOut" | "sent">;

/** A clean stop: the keeper exits once its last process has. */
export interface QuitMsg {
  t: "quit";
}
/** The agent leaves on purpose (a restart in place): every note it owed has been sent. */
export interface DetachMsg {
  t: "detach";
}
export type ToKeeper =
  | HelloMsg
  | SpawnMsg
  | ForgetMsg
  | NoteMsg
  | QuitMsg
  | DetachMsg
  | InputMsg
  | ReopenMsg
  | CancelMsg;

// ------------------------------------------------------------- keeper → agent

/** The answer to `hello`: every process the keeper holds, running or exited. */
export interface WelcomeMsg {
  t: "welcome";
  v: number;
  keeperPid: number;
  procs: KeptInfo[];
  /**
   * Whether the previous agent left with `detach` (or there was none). When
   * it did not (it was killed), it may have published events after its last
   * note reached the keeper: the next numbers leave a margin.
   */
  clean: boolean;
  /** The keeper holds a `spawn` with `startUs` until its instant (older keepers start at once). */
  scheduling?: boolean;
  /** The keeper starts a program's `launch.tty` under a pseudo-terminal (older ones ignore it). */
  tty?: boolean;
  /** The keeper starts a `spec.user` run as that user (older ones ignore it). */
  users?: boolean;
}
/** Refused: another agent is attached. */
export interface BusyMsg {
  t: "busy";
  agentPid: number;
}
/** A `spawn` with `startUs` is ready and waits for its instant. */
export interface ScheduledMsg {
  t: "scheduled";
  id: string;
}
export interface SpawnedMsg {
  t: "spawned";
  id: string;
  info?: KeptInfo;
  error?: WireError;
}
/**
 * A spool file grew: `size` bytes of `stream` are in it. For a program's
 * output file, `size` is the file's length, and `gen` counts its reopenings
 * (a new `gen` is a new file at the same path, written from `start` on).
 */
export interface GrewMsg {
  t: "grew";
  id: string;
  stream: "stdout" | "stderr";
  size: number;
  gen?: number;
  start?: number;
  /** Set once the spool stopped taking this stream (disk full...): bytes from `at` on are lost. */
  failure?: { at: number; why: string };
}
/** The process ended and its pipes closed: final sizes, status, spool failures. */
export interface ExitedMsg {
  t: "exited";
  info: KeptInfo;
}
/** The leader was reaped (its pipes may still be open): for supervised processes. */
export interface ReapedMsg {
  t: "reaped";
  id: string;
  code: number | null;
  signal: ExitSignalName | null;
  ended: number;
}
export interface AnswerMsg {
  t: "answer";
  req: number;
  error?: WireError;
}
/** Something the agent should tell its user about a process (an output file that cannot be written). */
export interface TroubleMsg {
  t: "trouble";
  id: string;
  message: string;
}
export type FromKeeper =
  | WelcomeMsg
  | BusyMsg
  | ScheduledMsg
  | SpawnedMsg
  | GrewMsg
  | ExitedMsg
  | ReapedMsg
  | AnswerMsg
  | TroubleMsg;
