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
 * The CLI's views (controller/render/) are consumers of these same streams.
 */
export {
  Controller,
  type ControllerOptions,
  type HostStatus,
  type KillOptions,
  type PsOptions,
} from "./controller.ts";
export { ConnectError } from "./connection.ts";
export {
  errorStatus,
  exitStatus,
  type HostOutcome,
  type HostReply,
  type OutcomeStatus,
  replyOutcome,
  type RunEvent,
  type RunSummary,
} from "./events.ts";
export { defaultStateDir, type KnownHost, KnownHosts } from "./known_hosts.ts";
export { type LogsOptions, LogsReader } from "./logs.ts";
export { type MessageJson, messageJson } from "./message_json.ts";
export type { Operation } from "./operation.ts";
export type { RunHandle } from "./run.ts";
export { newRunId, PreparedRun, prepareRun, type RunOptions } from "./run_request.ts";
export { type HostSpec, parseWhere, type ResolvedTarget, resolveTarget } from "./target.ts";
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
export type { IgnoredMessage } from "./broadcast/diagnostics.ts";
export { describeCondition, parseConditionWords } from "./watch_condition.ts";
export type { DownReason, TelemetryEvent, TelemetryHandle, TelemetryOptions } from "./telemetry.ts";
export { ClusterState, type HostRow, type ProcRow } from "./telemetry_state.ts";
export type {
  FileCondition,
  OutputCondition,
  PortCondition,
  WatchCondition,
} from "../protocol/watch_messages.ts";
export type {
  MachineTelemetry,
  ProcSample,
  ProcsTelemetry,
} from "../protocol/telemetry_messages.ts";
export { TuttiError, type WireError } from "../protocol/errors.ts";
export type { PingReply, ProcInfo, PsReply, SignalReply } from "../protocol/messages.ts";
export { fold } from "../protocol/selector.ts";
export {
  DEFAULT_PROGRAMS_TIMEOUT_S,
  type ProgramsOperation,
  type ProgramsOptions,
} from "./programs.ts";
export {
  FOLLOW_LEASE_S,
  ProgramAttachment,
  ProgramOutput,
  type ProgramOutputEvent,
  type ProgramTailOptions,
} from "./programs_output.ts";
export type {
  ProgramAction,
  ProgramEvent,
  ProgramResult,
  ProgramsReply,
  ProgramState,
  ProgramStatus,
  ReloadSummary,
  ShutdownReply,
} from "../protocol/program_messages.ts";
