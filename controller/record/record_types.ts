/**
 * A record: what one operation ran, where, on what, and how it ended, kept as
 * one JSON file so that a run can be reconstructed (and compared with
 * another) long after it ended. Every kind shares a header (who ran what,
 * when, on which hosts and what those hosts were); each kind adds its own
 * body under a key named like the kind (`run` for `kind: "run"`).
 */
import type { WireError } from "../../protocol/errors.ts";
import type { ExitSignalName } from "../../protocol/signals.ts";
import type { HostClock, OutcomeStatus, RunSync, StartSync } from "../events.ts";

/** The version of the file format; a reader refuses other ones. */
export const RECORD_FORMAT = 1;

/** What an agent said of itself and of its machine when the operation began. */
export interface HostFacts {
  host: string;
  /** The agent's version. */
  version: string;
  os: string;
  arch: string;
  /** The kernel's release, when the agent reports it. */
  kernel?: string;
  /** The CPU model, when the agent reports it. */
  cpu?: string;
  cores: number;
  /** Total memory, bytes. */
  memory: number;
  /** Machine boot time, ms since the epoch: a change between two records is a reboot. */
  boot: number;
  labels: Record<string, string>;
}

/** Who recorded it. */
export interface RecorderInfo {
  version: string;
  host: string;
  pid: number;
}

/** Which hosts the operation asked for (as the user wrote it) and which it reached. */
export interface RecordSelector {
  hosts?: string;
  exclude?: string;
  where?: Record<string, string>;
}

/** What every kind of record holds. */
export interface RecordHeader {
  format: typeof RECORD_FORMAT;
  /** `run`; other kinds (plans, the work queue) add their own. */
  kind: string;
  /** The operation's id (a run's process id). */
  id: string;
  /** ISO 8601, UTC, on the controller's clock. */
  started: string;
  ended: string;
  controller: RecorderInfo;
  selector: RecordSelector;
  /** The hosts it reached, folded (`ws-[1-3]`). */
  nodeset: string;
  /** One entry per host of `nodeset` that answered a ping, sorted by host name. */
  facts: HostFacts[];
}

/** The command of a run. The environment is kept as its keys and a digest, never its values. */
export interface RecordedCommand {
  argv?: string[];
  shell?: string;
  cwd?: string;
  env: {
    /** The names of the variables sent, sorted. */
    keys: string[];
    /** SHA-256 (hex) of the variables sent, as JSON of the sorted [name, value] pairs. */
    sha256: string;
    /** The agent's environment was replaced, not added to. */
    clear: boolean;
  };
  /** Seconds. */
  timeout?: number;
  grace?: number;
  /** Every host's stdin was fed the same bytes (else it was /dev/null). */
  stdin: boolean;
}

/** Output bytes of one stream. */
export interface StreamBytes {
  stdout: number;
  stderr: number;
}

/** How one host ran the command. */
export interface HostResult {
  host: string;
  status: OutcomeStatus;
  pid?: number;
  /** When the process started and ended, ms since the epoch, on its agent's clock. */
  start?: number;
  end?: number | null;
  /** Exit code, null when killed by a signal (or not known). */
  code?: number | null;
  signal?: ExitSignalName | null;
  timedOut?: boolean;
  /** Bytes written to each stream. */
  bytes?: StreamBytes;
  /** Bytes that were not received live and were fetched from the agent's spool. */
  recovered: StreamBytes;
  /** Bytes that could be received neither live nor from the spool. */
  missing: StreamBytes;
  /** Why it failed other than by its exit status, or why it never ran. */
  error?: WireError;
  /** A run at an instant: when it started against the instant. */
  sync?: StartSync;
}

/** The body of a run's record. */
export interface RunBody {
  command: RecordedCommand;
  /** A run at an instant: the instant, how close together the starts were, each host's clock. */
  sync?: RunSync & { clocks: HostClock[] };
  /** Every host, sorted by name (an interrupted run: every host that had ended). */
  results: HostResult[];
  /** Every host exited 0. */
  ok: boolean;
  /**
   * The controller stopped waiting (a second Ctrl-C) before every host had
   * ended: the hosts that still ran the process then. The processes went on.
   */
  interrupted?: Unended;
}

/** The hosts of a run that had not ended: still running it, and still to start it (`--at`), sorted. */
export interface Unended {
  running: string[];
  scheduled: string[];
}

export interface RunRecord extends RecordHeader {
  kind: "run";
  run: RunBody;
}

/**
 * Any record a reader may meet: a run, or a kind this controller does not
 * know the body of (its header is still read and compared).
 */
export type AnyRecord = RunRecord | (RecordHeader & { [body: string]: unknown });

/**
 * One comparable outcome of a record: a host's run (kinds with several
 * steps per host key them `host/step`). `diffRecords` compares these.
 */
export interface RecordOutcome {
  key: string;
  host: string;
  status: string;
  code?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  error?: string;
  /** ms; absent when it never ran to its end. */
  duration?: number;
  bytes?: StreamBytes;
  missing?: StreamBytes;
}
