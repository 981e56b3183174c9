/**
 * `put`: one upload, every host. The controller stores each distinct
 * content once in the transfer stream (content_store.ts), then broadcasts
 * one `put` with the manifest; each host fetches what it lacks from the
 * stream, so the controller's bytes do not grow with the number of hosts.
 *
 * On the broadcast core: a host acknowledges, reports progress, and
 * answers when its files are in place. Acknowledged hosts are followed: a
 * host that says bye or goes silent is lost (`ELOST`) unless it comes back
 * first, in which case its `hello` brings the same request again and the
 * new agent continues from the partial files the old one left. After a
 * reconnect, every host that has not answered gets the request again: a
 * running put joins itself (same id), a finished one answers again.
 */
import type { Msg } from "@nats-io/transport-node";
import type { WireError } from "../../protocol/errors.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import type { Presence } from "../../protocol/messages.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import {
  parsePutReply,
  parseTransferProgress,
  type PutRequest,
} from "../../protocol/transfer_messages.ts";
import { Broadcast, type RawReply } from "../broadcast/broadcast.ts";
import { silenceReason } from "../broadcast/expectation.ts";
import type { Scope } from "../broadcast/scope.ts";
import { errorStatus } from "../events.ts";
import { Channel, type Operation } from "../operation.ts";
import type { ResolvedTarget } from "../target.ts";
import { ContentStore, type StoreOptions } from "./content_store.ts";
import { planPut, type PutSpec } from "./put_sources.ts";
import type { TransferEvent, TransferResult, TransferSummary } from "./transfer_events.ts";

export type TransferOperation = Operation<TransferEvent, TransferSummary>;

export interface PutOptions extends StoreOptions {
  /** One destination and its sources, or a batch of them flushed as one operation. */
  specs: PutSpec[];
  /** The transfer's id (default: a new one); the same id never writes twice at once. */
  id?: string;
  signal?: AbortSignal;
}

/** After `bye`, how long a stopping agent may take to answer. */
const BYE_GRACE_MS = 15_000;

export function startPut(
  scope: Scope,
  resolved: ResolvedTarget,
  opts: PutOptions,
): TransferOperation {
  const op = new Channel<TransferEvent, TransferSummary>();
  (async () => {
    const plan = await planPut(opts.specs);
    const store = await ContentStore.open(scope.link.nc, scope.link.subjects, opts);
    const total = [...plan.contents.values()].reduce((n, c) => n + c.size, 0);
    let done = 0;
    let uploaded = 0;
    for (const [sha, c] of plan.contents) {
      opts.signal?.throwIfAborted();
      uploaded += await store.put(c.path, sha, c.size, (n) => {
        done += n;
        op.push({ type: "upload", done, total });
      });
    }
    const request: PutRequest = {
      id: opts.id ?? newId("t"),
      stream: store.stream,
      chunks: scope.link.subjects.xferChunks(),
      chunk: store.chunk,
      items: plan.items,
    };
    const put = new PutBroadcast(scope, resolved, request, opts.signal);
    for await (const e of put) op.push(e);
    const summary = await put.done;
    op.end({ ...summary, uploaded, total: plan.total });
  })().catch((e) => op.fail(e));
  return op;
}

class PutBroadcast extends Broadcast<TransferEvent, TransferSummary> {
  readonly #results = new Map<string, TransferResult>();
  /** Hosts that acknowledged and owe their answer. */
  readonly #owed = new Set<string>();

  constructor(
    scope: Scope,
    resolved: ResolvedTarget,
    private readonly request: PutRequest,
    signal?: AbortSignal,
  ) {
    super(scope, resolved, {
      verb: "put",
      body: request,
      byeGraceMs: BYE_GRACE_MS,
      owed: "finishing a put",
      presence: true,
    });
    this.open(signal);
  }

  protected onReply(kind: string, r: RawReply, m: Msg): void {
    if (this.#results.has(r.host)) return; // after its answer, a late progress or a duplicate
    if (kind === "progress") {
      if (!r.ok || !this.answering(r.host, m.subject)) return;
      const p = parseTransferProgress(r);
      if (p.id !== this.request.id) return;
      this.push({ type: "progress", host: r.host, done: p.done, total: p.total });
      return;
    }
    if (kind !== "put" || !this.answering(r.host, m.subject)) return;
    if (r.ok && r.accepted === true) {
      if (!this.#owed.has(r.host)) {
        this.#owed.add(r.host);
        this.follow(r.host);
      }
    } else if (r.ok) {
      const a = parsePutReply(r);
      if (a.id !== this.request.id) return;
      this.#answer({
        host: r.host,
        status: "ok",
        files: a.files,
        skipped: a.skipped,
        bytes: a.bytes,
        resumed: a.resumed,
      });
    } else {
      this.#fail(r.host, r.error);
    }
    this.changed();
  }

  #fail(host: string, error: WireError): void {
    this.#answer({
      host,
      status: errorStatus(error),
      error,
      files: 0,
      skipped: 0,
      bytes: 0,
      resumed: 0,
    });
  }

  #answer(r: TransferResult): void {
    this.#owed.delete(r.host);
    this.unfollow(r.host);
    this.#results.set(r.host, r);
    this.push({ type: "result", result: r });
  }

  protected lost(host: string, error: WireError): void {
    if (this.#owed.has(host)) this.#fail(host, error);
  }

  /** A host that owes an answer said hello again: a new agent, which continues the put. */
  protected override onPresence(host: string, p: Presence): void {
    if (p.type === "hello" && this.#owed.has(host)) {
      this.send("put", this.request, this.narrow([host]));
    }
  }

  protected override onReconnect(): void {
    const pending = [...this.exp.hosts].filter((h) => !this.#results.has(h));
    this.exp.restart(Date.now());
    if (!this.exp.explicit) this.send("put", this.request, this.resolved.target);
    else if (pending.length > 0) this.send("put", this.request, this.narrow(pending));
    this.changed();
  }

  protected decide(now: number): void {
    if (!this.scope.link.connected || !this.exp.complete(now) || this.#owed.size > 0) return;
    const message = silenceReason(this.exp, this.began, this.scope.link.subjects.prefix);
    for (const host of this.exp.silent()) {
      if (!this.#results.has(host)) this.#fail(host, { code: "ENORESPONSE", message });
    }
    const hosts = [...this.#results.values()].sort((a, b) => compareHosts(a.host, b.host));
    this.finish({
      hosts,
      ok: hosts.length > 0 && hosts.every((h) => h.status === "ok"),
      uploaded: 0,
      total: 0,
    });
  }
}
