/**
 * What the shell needs from the agents, as one small interface: the
 * commands are written against it, the controller library implements it
 * (library_backend.ts), and unit tests drive the commands with a table of
 * their own.
 *
 * `host` undefined means every host of the shell's selection; a host name
 * narrows a call to that one host (`g5k-3:nginx` on the command line).
 */
import type { WireError } from "../../protocol/errors.ts";

/** One process of one host, as `status` shows it. */
export interface ProgramRow {
  host: string;
  /** Process name: `nginx`, or `web:0` for a program with several processes. */
  name: string;
  /** Its program (`web` for `web:0`). */
  program: string;
  state: string;
  /** supervisorctl's column: `pid 4121, uptime 0:03:12`, the stop time, the spawn error. */
  description: string;
}

/**
 * What happened to one process of one host (`started`, `stopped`), or, with
 * `error`, why a name given could not be acted on there (`ESRCH`: the host
 * has no such process).
 */
export interface ActionRow {
  host: string;
  name: string;
  message: string;
  error?: WireError;
}

/** A host that did not answer a call, or answered with an error as a whole. */
export interface HostError {
  host: string;
  error: WireError;
}

/** Rows from the hosts that answered, the names they refused, and the hosts that failed. */
export interface Answer<T> {
  rows: T[];
  failures: ActionRow[];
  errors: HostError[];
}

/** What a reload changed on one host (process names). */
export interface ReloadRow {
  host: string;
  /** The configuration file re-read. */
  source: string;
  added: string[];
  changed: string[];
  removed: string[];
}

export type ProgramAction = "start" | "stop" | "restart";

export type StreamName = "stdout" | "stderr";

/** Output of a process, or a line about it (a state change, bytes that could not be shown). */
export type OutputPiece =
  | { type: "output"; stream: StreamName; data: Uint8Array }
  | { type: "note"; text: string };

/** A stream of output that the reader can end early. */
export interface OutputFeed extends AsyncIterable<OutputPiece> {
  close(): Promise<void>;
}

/** A session attached to one process: its live output, and a way to type into it. */
export interface Attachment extends OutputFeed {
  /** Writes to the process's stdin. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the process's stdin (end of input). */
  closeInput(): Promise<void>;
  /** Whether the process runs under a pseudo-terminal (`tty: true`): its keys go to it as they are. */
  terminal?(): Promise<boolean>;
  /** Sets the size of its pseudo-terminal. */
  resize?(rows: number, cols: number): Promise<void>;
}

export interface ShellBackend {
  /** The hosts of the selection that answer (sorted); known ones that do not are errors. */
  hosts(): Promise<Answer<string>>;
  /** Status of `names` (all processes when empty). */
  status(host: string | undefined, names: string[]): Promise<Answer<ProgramRow>>;
  control(
    action: ProgramAction,
    host: string | undefined,
    names: string[],
  ): Promise<Answer<ActionRow>>;
  /** Re-reads the agents' program files and applies the difference. */
  reload(host: string | undefined): Promise<Answer<ReloadRow>>;
  /** Stops the agents (and so their programs); `hosts` empty: every host of the selection. */
  shutdown(hosts: string[]): Promise<Answer<string>>;
  /** The end of a process's output, then (with `follow`) what it writes next, until closed. */
  tail(host: string, name: string, opts: { stream: StreamName; follow: boolean }): OutputFeed;
  /** Both streams of a process, live, and its stdin; `close()` detaches. */
  attach(host: string, name: string): Attachment;
}
