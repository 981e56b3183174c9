/**
 * A plan as tutti holds it once its file is read (plan_file.ts): components
 * placed on node sets, each with the steps that start it, the watch that
 * says it is ready, the components it waits for and the steps that take it
 * down. Everything here is checked: a `Plan` that exists is one the runner
 * can carry out.
 */
import type { WatchCondition } from "../../protocol/watch_messages.ts";

/**
 * What a dependency waits for:
 * - `started`: the component's steps are all done (commands exited 0,
 *   services and programs launched);
 * - `ready`: started, and its readiness watch holds on its hosts (on
 *   `ready.hosts` of them when stated); without a readiness watch, started;
 * - `completed`: ready, and every service it launched exited 0 (supervised
 *   programs it started run on by design: they do not hold it back).
 */
export type DependencyKind = "started" | "ready" | "completed";
export const DEPENDENCY_KINDS: readonly DependencyKind[] = ["started", "ready", "completed"];

export interface Dependency {
  component: string;
  kind: DependencyKind;
}

/** Fields a `run` step shares with `controller run`. */
export interface RunStep {
  kind: "run";
  /** Exactly one of argv and shell. */
  argv?: string[];
  shell?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Seconds, then the process group is killed (the step fails). */
  timeout?: number;
  /**
   * A service: the step is done once the process started on every host; it
   * keeps running, `completed` waits for its exit, `plan down` kills it.
   */
  detach: boolean;
  /** Start on every host of the component at one instant (`run --sync`). */
  sync: boolean;
}

export interface PutStep {
  kind: "put";
  sources: string[];
  dest: string;
}

export interface GetStep {
  kind: "get";
  paths: string[];
  /** A local directory: each host's files land in `<dir>/<host>/`. */
  dir: string;
}

/** Supervised programs started or stopped on the component's hosts. */
export interface ProgramsStep {
  kind: "start" | "stop";
  names: string[];
}

export type StepAction = RunStep | PutStep | GetStep | ProgramsStep;

export type Step = StepAction & {
  /** Unique within its component: given, or `<kind>-<n>` (n counts from 1). */
  name: string;
  /** The file's line, for messages. */
  line: number;
};

export interface Readiness {
  condition: WatchCondition;
  /** Seconds the watch may wait (default 300). */
  timeout: number;
  /** How many hosts must be ready: null for all of them. */
  hosts: number | null;
  /**
   * An `output` or `exit` condition about one of the component's `run`
   * steps: its name. The runner puts that run's process id in the
   * condition's `proc` (ids change with each `plan up`).
   */
  step?: string;
}

export interface Component {
  name: string;
  /** Where it runs: as `run --hosts/--exclude/--where`. */
  hosts?: string;
  exclude?: string;
  where?: Record<string, string>;
  after: Dependency[];
  steps: Step[];
  ready: Readiness | null;
  /** Run by `plan down` before its services are killed and its programs stopped. */
  down: Step[];
  /**
   * A digest of everything that defines the component (placement, steps,
   * readiness, dependencies): `plan apply` redoes a component whose digest
   * changed, and everything that depends on it.
   */
  digest: string;
  line: number;
}

export interface Plan {
  /** A subject token: process ids and the plan's state file are named after it. */
  name: string;
  /** The file it was read from (for messages), or `<library>`. */
  source: string;
  /** In the file's order. */
  components: Component[];
}
