/**
 * The verbs: `ping`, `run`, `signal`, `ps`, `logs`, `watch`, `unwatch`,
 * `clock` (protocol/PROTOCOL.md).
 * Each takes the decoded request map, validates it with the protocol's
 * parsers (EINVAL naming the field) and returns the reply's fields; errors
 * are thrown as TuttiError and turned into replies by the dispatcher.
 */
import { toWireError, TuttiError } from "../protocol/errors.ts";
import {
  type LogsReply,
  parseLogsRequest,
  parsePsRequest,
  parseRunRequest,
  parseSignalRequest,
  type PingReply,
  type PsReply,
  type RunReply,
  type SignalReply,
  type SignalRequest,
} from "../protocol/messages.ts";
import {
  parseUnwatchRequest,
  parseWatchRequest,
  type UnwatchReply,
  type WatchReply,
} from "../protocol/watch_messages.ts";
import type {
  FollowReply,
  InputReply,
  ProgramsReply,
  ShutdownReply,
  TailReply,
} from "../protocol/program_messages.ts";
import type { GetReply, PutReply, ReadReply } from "../protocol/transfer_messages.ts";
import { type ClockReply, parseClockRequest } from "../protocol/clock_messages.ts";
import { preciseNow, toMicros } from "../protocol/runtime/precise_clock.ts";
import type { QueueReply } from "../protocol/queue_messages.ts";
import type { Identity } from "./identity.ts";
import { ANCHOR_AGE_MS } from "./instant.ts";
import type { ProcessTable, StartAt } from "./process_table.ts";
import { ManagedProcess } from "./managed_process.ts";
import type { SpoolDir } from "./spool.ts";
import type { WatchTable } from "./watch/watch_table.ts";

/** A handler's answer: the reply's fields, and the process it is about (for Tutti-Proc). */
export interface Handled {
  body:
    | PingReply
    | RunReply
    | SignalReply
    | PsReply
    | LogsReply
    | WatchReply
    | UnwatchReply
    | ProgramsReply
    | TailReply
    | FollowReply
    | InputReply
    | ShutdownReply
    | PutReply
    | GetReply
    | ReadReply
    | ClockReply
    | QueueReply;
  proc?: string;
}

/** What a handler may do besides answering. */
export interface RequestContext {
  /** Publishes `{v, ok: true, host, ...body}` on the reply subject now, before the answer. */
  accept(body: object): void;
  /** Publishes `{v, ok: true, host, ...body}` on `P.reply.<id>.progress.<host>`. */
  progress(body: object): void;
}

export type Handler = (
  req: Record<string, unknown>,
  ctx: RequestContext,
) => Handled | Promise<Handled>;

/** Room for headers and the rest of a `logs` reply around its data. */
const LOGS_OVERHEAD = 4096;

export function verbHandlers(
  identity: Identity,
  table: ProcessTable,
  spool: SpoolDir,
  watches: WatchTable,
  /** The server's max_payload: a `logs` chunk must fit in one reply. */
  maxPayload: () => number,
): Map<string, Handler> {
  /** Signals each process of `req` (`cancelled`: held ones whose start was cancelled: done). */
  const signal = (req: SignalRequest, cancelled = new Set<string>()): Handled => {
    const graceMs = req.grace === undefined ? undefined : req.grace * 1000;
    const one = (id: string) => {
      if (cancelled.has(id)) return { proc: id, ok: true };
      const p = table.get(id);
      if (!p) return { proc: id, ok: false, error: noSuchProcess(id, identity.name).toWire() };
      // Exited (only its record is left): the intent, that it stop, holds.
      if (!(p instanceof ManagedProcess) || !p.running) return { proc: id, ok: true };
      try {
        p.signal(req.signal, graceMs);
        return { proc: id, ok: true };
      } catch (e) {
        return { proc: id, ok: false, error: toWireError(e) };
      }
    };
    return { body: { results: req.procs.map(one) } };
  };
  return new Map<string, Handler>([
    ["ping", () => ({ body: identity.ping(table.running) })],

    // With `startUs`, answered twice: `{accepted, startUs}` once the start is ready and waits
    // for its instant, then the process once it has started.
    ["run", async (m, ctx) => {
      const req = parseRunRequest(m);
      let at: StartAt | undefined;
      if (req.startUs !== undefined) {
        const us = req.startUs[identity.name];
        if (us === undefined) {
          throw new TuttiError("EINVAL", `field "startUs": no instant for ${identity.name}`);
        }
        at = { us, scheduled: () => ctx.accept({ accepted: true, startUs: us }) };
      }
      const { proc, existing } = await table.run(req, at);
      return { body: { proc: proc.info, existing }, proc: proc.id };
    }],

    // The agent's clock as the request came and as it answers (clock_messages.ts). Read as
    // early and as late as the handler can: whatever comes before counts as network delay.
    ["clock", (m) => {
      const t1 = toMicros(preciseNow(ANCHOR_AGE_MS));
      const { t0 } = parseClockRequest(m);
      return { body: { t0, t1, t2: toMicros(preciseNow()) } };
    }],

    // A signal right after its `run` waits for the keeper's answer to it, then finds the process.
    // A process held for its start instant has not started: any signal cancels its start.
    ["signal", (m) => {
      const req = parseSignalRequest(m);
      const held = req.procs.filter((id) => table.isScheduled(id));
      if (held.length === 0) {
        return table.starting ? table.settled().then(() => signal(req)) : signal(req);
      }
      return Promise.all(held.map((id) => table.cancelScheduled(id))).then(async (procs) => {
        const cancelled = new Set(held.filter((_, i) => procs[i] === null));
        await table.settled();
        return signal(req, cancelled);
      });
    }],

    // Answered at once unless a run is still being started (then once it is): replies in the
    // order of requests wherever the keeper's answer is not involved.
    ["ps", (m) => {
      const req = parsePsRequest(m);
      const answer = () => ({ body: { procs: table.list(req) } });
      return table.starting ? table.settled().then(answer) : answer();
    }],

    ["logs", async (m) => {
      const req = parseLogsRequest(m);
      const p = await table.lookup(req.proc);
      if (!p) throw noSuchProcess(req.proc, identity.name);
      // Read the state first: if the process has exited now, `size` is final.
      const exited = !p.running;
      const size = p.info[req.stream];
      const offset = req.offset ?? 0;
      const limit = Math.min(req.limit ?? Infinity, maxPayload() - LOGS_OVERHEAD);
      const failure = p.spoolFailure[req.stream];
      if (failure && offset >= failure.at && offset < size) {
        throw new TuttiError(
          "EIO",
          `${req.stream} of ${p.id} is not in the spool from byte ${failure.at} on: ${failure.why}`,
        );
      }
      const readable = failure ? failure.at : size;
      const data = await spool.read(p.id, req.stream, offset, limit, readable);
      const body: LogsReply = {
        proc: p.id,
        stream: req.stream,
        offset,
        data,
        size,
        complete: exited && offset + data.length >= size,
      };
      return { body, proc: p.id };
    }],

    // Answered once the watch holds what it waits on, so a caller that saw the
    // reply knows that anything happening from then on is seen.
    ["watch", (m) => ({ body: watches.start(parseWatchRequest(m)) })],

    // Answered once each watch has released everything it held and published its outcome.
    ["unwatch", async (m) => ({
      body: { results: await watches.cancel(parseUnwatchRequest(m).watches) },
    })],
  ]);
}

function noSuchProcess(id: string, host: string): TuttiError {
  return new TuttiError("ESRCH", `no process ${JSON.stringify(id)} on ${host}`);
}
