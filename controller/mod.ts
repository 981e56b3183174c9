/**
 * The tutti controller library: its whole public surface.
 *
 * `Controller.connect()` once, then every operation is one broadcast that
 * hands out an async stream of typed events and a `done` promise with a
 * typed result. Every per-host failure carries a wire error `{code, message}`
 * (protocol/errors.ts).
 *
 * ```ts ignore
 * import { Controller } from "./controller/mod.ts";
 *
 * const c = await Controller.connect(); // NATS_URL, TUTTI_PREFIX, NATS CLI context
 * const run = c.run({ hosts: "g5k-[1-4]", argv: ["uname", "-r"] });
 * for await (const e of run) {
 *   if (e.type === "output") await Deno.stdout.write(e.data);
 *   if (e.type === "error") console.error(e.host, e.error.code, e.error.message);
 * }
 * const summary = await run.done; // one outcome per host, summary.ok when all exited 0
 * await c.close();
 * ```
 *
 * The CLI, its views (controller/render/), the shell and the dashboard are
 * consumers of these same streams and import nothing of the controller but
 * this file (tests/unit/layering_test.ts holds them to it): whatever they
 * need, a script may use too.
 */

// ---------------------------------------------------------------- connecting

/** The controller: `connect()` once, then one method per operation, `close()` at the end. */
export { Controller, type ControllerOptions } from "./controller.ts";
/** What `Controller.connect()` throws when no NATS server could be reached. */
export { ConnectError } from "./connection.ts";

// ---------------------------------------------------------------- choosing hosts

/**
 * Which hosts an operation addresses (`hosts`, `where`, `expect`), and the
 * target and expected hosts it resolves to (`EBADSEL` for a bad selector).
 */
export { type HostSpec, parseWhere, type ResolvedTarget, resolveTarget } from "./target.ts";
/** Host names folded into a node set, as tutti prints them: `g5k-[1-3,7]`. */
export { fold } from "../protocol/selector.ts";
/** The hosts seen before on each server, under a state directory: what a glob expects. */
export { defaultStateDir, type KnownHost, KnownHosts } from "./known_hosts.ts";

// ---------------------------------------------------------------- what every operation returns

/** An operation: an async stream of typed events, and `done` with its result. */
export type { Operation } from "./operation.ts";
/** A host's reply or wire error, and the outcome a summary counts it as. */
export {
  errorStatus,
  exitStatus,
  type HostOutcome,
  type HostReply,
  type OutcomeStatus,
  replyOutcome,
} from "./events.ts";
/** The error of every failure, local or from a host: a wire code and a message. */
export { TuttiError, type WireError } from "../protocol/errors.ts";
/** A malformed or unexpected message from a peer (`Controller.onIgnored`): counted, never fatal. */
export type { IgnoredMessage } from "./broadcast/diagnostics.ts";

// ---------------------------------------------------------------- hosts, ping, ps, signal, kill

/** `hosts()`'s rows and the options of `ps()` and `kill()`. */
export type { HostStatus, KillOptions, PsOptions } from "./controller.ts";
/** The agents' replies to `ping`, `ps` and `signal`, and a process as they describe it. */
export type { PingReply, ProcInfo, PsReply, SignalReply } from "../protocol/messages.ts";

// ---------------------------------------------------------------- run

/**
 * What a run asks for, checked in full by `prepareRun` (which also picks the
 * process id) before anything is sent; `Controller.run` takes either.
 */
export { newRunId, PreparedRun, prepareRun, type RunOptions } from "./run_request.ts";
/** A run's events per host and its summary (one outcome per host). */
export type { RunEvent, RunSummary } from "./events.ts";
/**
 * A run at an instant (`RunOptions.sync`, `at`): each host's measured clock,
 * when each process started, how close together they started; the clock
 * arithmetic itself (NTP's on-wire calculation over the lowest-delay samples).
 */
export type { HostClock, RunSync, StartSync } from "./events.ts";
export {
  type ClockEstimate,
  type ClockSample,
  estimateOffset,
  MIN_AHEAD_MS,
} from "./clock_estimate.ts";
export type { RunHandle } from "./run.ts";

// ---------------------------------------------------------------- records

/**
 * A record of every run (`run --record DIR`): one JSON file per operation,
 * a header every kind shares (who, when, which hosts and what they were) and
 * a body per kind (`run`). `RunRecorder` gathers a run's as it goes;
 * `writeRecord`, `readRecord` (checked, errors naming file and field) and
 * `diffRecords` (what changed between two).
 */
export type {
  AnyRecord,
  HostFacts,
  HostResult,
  RecordedCommand,
  RecorderInfo,
  RecordHeader,
  RecordOutcome,
  RecordSelector,
  RunBody,
  RunRecord,
  StreamBytes,
  Unended,
} from "./record/record_types.ts";
export { RECORD_FORMAT } from "./record/record_types.ts";
export { RunRecorder } from "./record/run_record.ts";
/** A plan operation's record: its definitions, steps, failures and Gantt chart. */
export { type PlanBody, type PlanRecord, planRecord } from "./record/plan_record.ts";
/** A followed work queue's record: its submission and every task's outcome and host. */
export {
  type QueueBody,
  type QueueRecord,
  queueRecord,
  type QueueTaskResult,
} from "./record/queue_record.ts";
/** The header every kind shares, for a caller writing a kind of its own (a plan's record). */
export { type HeaderParts, hostFacts, recorderInfo, recordHeader } from "./record/record_header.ts";
export {
  openRecordDir,
  parseRecord,
  readRecord,
  recordFileName,
  writeRecord,
} from "./record/record_file.ts";
export {
  type ChangeKind,
  type DiffOptions,
  diffRecords,
  type RecordChange,
  type RecordDiff,
  recordOutcomes,
} from "./record/record_diff.ts";

// ---------------------------------------------------------------- put, get

/**
 * File transfers (`Controller.put`, `Controller.get`): a batch of
 * destinations flushed as one operation, its events and its summary.
 */
export type { PutOptions, TransferOperation } from "./transfer/put.ts";
export type { PutSpec } from "./transfer/put_sources.ts";
export type { GetOptions } from "./transfer/get.ts";
export type { TransferEvent, TransferResult, TransferSummary } from "./transfer/transfer_events.ts";

// ---------------------------------------------------------------- work queue

/**
 * A work queue on JetStream (`Controller.queueSubmit`, `queueStatus`):
 * tasks from a command and argument lists, pulled by the agents a slot at
 * a time, their states in the queue's KV bucket.
 */
export type {
  QueueEvent,
  QueueOperation,
  QueueSubmitOptions,
  QueueSummary,
  TaskRows,
} from "./queue/submit.ts";
export type { QueueStatus } from "./controller.ts";
export type { RetryReport } from "./queue/manage.ts";
export type { QueueConfig } from "../protocol/queue_messages.ts";
export type { QueueCounts } from "./queue/queue_store.ts";
export type { TaskState } from "../protocol/queue_messages.ts";
/** GNU parallel's argument lists: `CMD ::: a b ::: x y` split into the command and its lists. */
export { combinationRows, combinations, splitSources } from "../protocol/queue_tasks.ts";

// ---------------------------------------------------------------- logs, sub

/** A process's spooled output, read back from its agent (`Controller.logs`). */
export { type LogsOptions, LogsReader } from "./logs.ts";
/** A NATS message as JSON, CBOR bodies decoded (`Controller.sub`). */
export { type MessageJson, messageJson } from "./message_json.ts";

// ---------------------------------------------------------------- watch

/** What a watch asks for (`prepareWatch` checks it), its updates and its summary. */
export {
  newWatchId,
  type PreparedWatch,
  prepareWatch,
  type WatchHandle,
  type WatchHostResult,
  type WatchHostStatus,
  type WatchMode,
  type WatchOptions,
  type WatchSummary,
  type WatchUpdate,
} from "./watch_request.ts";
/**
 * Conditions as people type them (`port 9000`, `output web ready`): the
 * parser, its options, its syntax for a help text, and a condition in words.
 */
export {
  CONDITION_SYNTAX,
  type ConditionFlags,
  describeCondition,
  parseConditionWords,
} from "./watch_condition.ts";
/** The conditions themselves, as the wire carries them. */
export type {
  FileCondition,
  OutputCondition,
  PortCondition,
  WatchCondition,
} from "../protocol/watch_messages.ts";

// ---------------------------------------------------------------- telemetry (top, the dashboard)

/** Following the hosts' telemetry, presence and processes (`Controller.telemetry`). */
export type { DownReason, TelemetryEvent, TelemetryHandle, TelemetryOptions } from "./telemetry.ts";
/** The cluster as telemetry events describe it: a pure reducer, `apply` events and read. */
export { ClusterState, type HistoryPoint, type HostRow, type ProcRow } from "./telemetry_state.ts";
/** The samples an agent publishes. */
export type {
  MachineTelemetry,
  ProcSample,
  ProcsTelemetry,
} from "../protocol/telemetry_messages.ts";

// ---------------------------------------------------------------- alerts

/**
 * The controller's alerts (a host lost and back, a failed plan step) to the
 * destinations an agent's go to: `Alerter.open` with the `--alert-*`
 * options, `followHostAlerts` over a `telemetry()` stream.
 */
export {
  Alerter,
  type ControllerAlert,
  type HostBackAlert,
  type HostLostAlert,
  type StepFailedAlert,
} from "./alerts/alerter.ts";
export { followHostAlerts, type HostAlertEvent } from "./alerts/host_alerts.ts";
/** The `--alert-*` options, as both programs parse them. */
export {
  ALERT_OPTIONS,
  type AlertOptions,
  alertsWanted,
  parseAlertOptions,
} from "../protocol/alerts/alert_options.ts";
export type { Alert } from "../protocol/alerts/alert.ts";

// ---------------------------------------------------------------- programs (the supervisor)

/** Acting on the agents' supervised programs (`Controller.programs`). */
export {
  DEFAULT_PROGRAMS_TIMEOUT_S,
  type ProgramsOperation,
  type ProgramsOptions,
} from "./programs.ts";
/** A program's output, followed (`programTail`) or attached to with input (`attach`). */
export {
  FOLLOW_LEASE_S,
  ProgramAttachment,
  ProgramOutput,
  type ProgramOutputEvent,
  type ProgramTailOptions,
} from "./programs_output.ts";
/** The supervisor's actions, states and replies, as the wire carries them. */
export type {
  ProgramAction,
  ProgramEvent,
  ProgramResult,
  ProgramsReply,
  ProgramState,
  ProgramStatus,
  ReloadSummary,
  ShutdownReply,
  UpgradeReply,
} from "../protocol/program_messages.ts";

// ---------------------------------------------------------------- deploying

/**
 * The NATS server configuration of the recommended deployment: an NKey user
 * per agent, controller and viewer, with the subject permissions of its role.
 * `loadOrCreateUsers` creates or reuses their seed files under a directory
 * (`seedPath`); `renderNatsConfig` writes the server's authorization block.
 */
export {
  type KeyFiles,
  loadOrCreateUsers,
  type NatsUser,
  renderNatsConfig,
  seedPath,
} from "./nats_config.ts";

// ---------------------------------------------------------------- plans

/**
 * Dependency plans: components placed on node sets, each with steps, a
 * readiness watch and the components it waits for (started, ready,
 * completed), read from a YAML file and checked in full (`PlanError`, every
 * problem with its line and key); brought up, applied after an edit, and
 * taken down as operations of `PlanEvent`s ending with a `PlanSummary`,
 * whose steps `ganttSvg` draws.
 */
export type {
  Component,
  Dependency,
  DependencyKind,
  Plan,
  Readiness,
  Step,
} from "./plan/plan_types.ts";
export { parsePlan, PlanError, type PlanProblem, readPlanFile } from "./plan/plan_file.ts";
export type {
  ComponentResult,
  ComponentStatus,
  PlanEvent,
  PlanFailure,
  PlanSummary,
  StepRecord,
} from "./plan/plan_events.ts";
export {
  describeFailure,
  planApply,
  planDown,
  type PlanOperation,
  type PlanOptions,
  planState,
  planUp,
} from "./plan/plan_runner.ts";
export type { ComponentState, PlanState } from "./plan/plan_state.ts";
export { ganttSvg } from "./plan/gantt_svg.ts";
export {
  type ComponentLive,
  type PlanStatus,
  planStatus,
  type ServiceLive,
} from "./plan/plan_status.ts";
