/**
 * What the dashboard's server sends its pages: Server-Sent Events, each a
 * name (`PageEvents`) and one JSON value. A page gets a `snapshot` when it
 * connects, then every change (hub.ts). Types only: the server (hub.ts) and
 * the page's script (client/) both import them, so the two cannot drift.
 */

/** A history point: `[at, cpu % or null, memory %]`. */
export type Point = [number, number | null, number];

export interface HostJson {
  host: string;
  up: boolean;
  /** `up`, `lost 12s`, `stopped`, `no response`. */
  state: string;
  cpu: number | null;
  /** The parts of `cpu`, percent of the machine: user, system, iowait, steal. */
  cpuParts: [number | null, number | null, number | null, number | null] | null;
  /** Time of the last machine sample (ms since the epoch, agent clock). */
  sampled: number | null;
  cores: number | null;
  load: number | null;
  memUsed: number | null;
  memTotal: number | null;
  rx: number | null;
  tx: number | null;
  /** Managed processes running (from telemetry, else from the agent's presence). */
  procs: number | null;
  /** Telemetry period in ms (0: off), when known. */
  telemetry: number | null;
  /** Samples since the last message (the snapshot has the whole history). */
  points: Point[];
}

export interface ProcJson {
  host: string;
  id: string;
  state: "running" | "exited" | "unknown";
  pid: number | null;
  command: string;
  /** `exit 0`, `killed by SIGTERM`, ... once exited. */
  exit: string | null;
  ok: boolean | null;
  cpu: number | null;
  rss: number | null;
  lines: { stream: "stdout" | "stderr"; text: string }[];
}

export interface RunHostJson {
  host: string;
  /** `running`, `exit 0`, `ENOENT ...`, `no response`. */
  status: string;
  ok: boolean | null;
  text: string;
}

export interface RunJson {
  id: string;
  hosts: string;
  command: string;
  /** ms since the epoch (server clock). */
  started: number;
  /** ms the run took, once done. */
  took: number | null;
  results: RunHostJson[];
  done: { ok: boolean; summary: string } | null;
}

export type RunMessage =
  | { id: string; kind: "new"; run: RunJson }
  | { id: string; kind: "host"; host: string; status: string; ok: boolean | null }
  | { id: string; kind: "output"; host: string; text: string }
  | { id: string; kind: "done"; took: number; ok: boolean; summary: string };

export interface Snapshot {
  prefix: string;
  /** What the run form's host field starts with. */
  defaultHosts: string;
  hosts: HostJson[];
  procs: ProcJson[];
  runs: RunJson[];
  notes: string;
}

/** Every event of the stream, by name: what the server sends and the page reads. */
export interface PageEvents {
  snapshot: Snapshot;
  host: HostJson;
  proc: ProcJson;
  notes: { notes: string };
  run: RunMessage;
}

/** One page's end of the event stream. */
export interface PageClient {
  send<E extends keyof PageEvents>(event: E, data: PageEvents[E]): void;
}
