/**
 * The controller's NATS connection: connects once with a short timeout (an
 * unreachable broker is a clear error at once, not a silent wait), then
 * reconnects forever, and tells the operations in flight when the link goes
 * down and comes back so they can re-sync. Requests are sent here with the
 * same readable headers the agents put on their messages.
 */
import {
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  nuid,
  PermissionViolationError,
  type Subscription,
} from "@nats-io/transport-node";
import { connect } from "../protocol/connection/nats_connect.ts";
import { decodeMap, encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import {
  type ConnectFlags,
  explainAuthError,
  natsOptions,
  resolveConnectFlags,
} from "../protocol/connection/connect_flags.ts";
import { TuttiError } from "../protocol/errors.ts";
import { type HostReply, parseReply } from "../protocol/replies.ts";
import { H } from "../protocol/headers.ts";
import type { Target } from "../protocol/messages.ts";
import { Subjects } from "../protocol/subjects.ts";

/** How long the first connection may take before the controller gives up. */
export const CONNECT_TIMEOUT_MS = 3000;
/** Default wait for one agent's reply to a single request (`logs`). */
export const REQUEST_TIMEOUT_MS = 5000;

/** The broker could not be reached (or refused us) on the first attempt. */
export class ConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectError";
  }
}

export type LinkEvent = "disconnect" | "reconnect";

export class Link {
  /** False between a disconnect and the following reconnect. */
  connected = true;
  readonly #listeners = new Set<(e: LinkEvent) => void>();
  readonly #denied = new Set<(e: TuttiError) => void>();

  constructor(readonly nc: NatsConnection, readonly subjects: Subjects) {
    this.#watch();
  }

  static async open(flags: ConnectFlags, prefix: string): Promise<Link> {
    const subjects = new Subjects(prefix);
    const resolved = await resolveConnectFlags(flags);
    const options = await natsOptions(resolved, "tutti-controller");
    const servers = [options.servers ?? []].flat().join(", ");
    try {
      const nc = await connect({
        ...options,
        // Fail fast the first time; once connected, reconnect forever (natsOptions).
        waitOnFirstConnect: false,
        timeout: CONNECT_TIMEOUT_MS,
      });
      return new Link(nc, subjects);
    } catch (e) {
      throw new ConnectError(`cannot connect to ${servers}: ${connectReason(e)}`);
    }
  }

  /** `fn` on every disconnect and reconnect; returns its removal. */
  onLink(fn: (e: LinkEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * `fn` when the server refuses a publish or a subscription of this client
   * (its NATS user lacks the permission): the operations in flight fail with
   * this EPERM at once, rather than waiting for answers that cannot come.
   * Returns its removal.
   */
  onDenied(fn: (e: TuttiError) => void): () => void {
    this.#denied.add(fn);
    return () => this.#denied.delete(fn);
  }

  /**
   * A fresh token for the reply subjects of one operation
   * (`P.reply.<id>.<kind>`): unguessable, so only the agents that receive
   * its requests learn it, and they answer on their own names.
   */
  replyId(): string {
    return nuid.next();
  }

  subscribe(subject: string, fn: (m: Msg) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (!err) fn(m);
      },
    });
  }

  /** Publishes `{v, ...body}` (plus `target` on a broadcast) with a reply subject. */
  send(subject: string, verb: string, body: object, reply?: string, target?: Target): void {
    const payload = encode({ v: PROTOCOL_VERSION, ...body, ...(target ? { target } : {}) });
    this.nc.publish(subject, payload, { reply, headers: requestHeaders(verb) });
  }

  /**
   * Raw bytes with the given headers (a run's input); false when they could
   * not be handed to the client (the connection is closed).
   */
  publishRaw(subject: string, data: Uint8Array, hdrs: Record<string, string>): boolean {
    const h = headers();
    for (const k in hdrs) h.append(k, hdrs[k]);
    try {
      this.nc.publish(subject, data, { headers: h });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * One request to one agent and its reply, the ok fields through `parse`
   * (a reply that does not fit is EBADMSG naming the field). A host that
   * does not answer within `timeoutMs`, or that nobody serves, is an
   * `ENORESPONSE`. The reply is the first message on its subject from
   * `host` (the subject's last token, which only its key may publish); one
   * whose body names another host is EBADMSG.
   */
  async request<T extends object>(
    host: string,
    verb: string,
    body: object,
    parse: (fields: Record<string, unknown>) => T,
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<HostReply<T>> {
    const id = this.replyId();
    const answer = Promise.withResolvers<Msg>();
    const noAnswer = (why: string) => new TuttiError("ENORESPONSE", `${host}: ${verb}: ${why}`);
    const off = this.onDenied(answer.reject);
    const timer = setTimeout(
      () => answer.reject(noAnswer(`no answer within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    let sub: Subscription | undefined;
    let m: Msg;
    try {
      sub = this.nc.subscribe(this.subjects.replies(id), {
        callback: (err, m) => {
          if (err) return answer.reject(err);
          const where = this.subjects.parseReply(m.subject, id);
          if (where?.host === null && isNoRespondersMsg(m)) {
            answer.reject(noAnswer("no agent of that name is connected"));
          } else if (where?.host === host) {
            answer.resolve(m);
          }
        },
      });
      this.send(this.subjects.host(host, verb), verb, body, this.subjects.replyTo(id, verb));
      m = await answer.promise;
    } catch (e) {
      throw e instanceof TuttiError ? e : noAnswer((e as Error).message);
    } finally {
      clearTimeout(timer);
      sub?.unsubscribe();
      off();
    }
    const reply = parseReply(decodeMap(m.data), parse);
    if (reply.host !== host) {
      throw new TuttiError(
        "EBADMSG",
        `${host}: ${verb}: the reply on ${host}'s subject says it is from ${
          JSON.stringify(reply.host)
        }`,
      );
    }
    return reply;
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }

  async #watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "error" && s.error instanceof PermissionViolationError) {
        const e = deniedError(s.error.operation, s.error.subject);
        for (const fn of [...this.#denied]) fn(e);
        continue;
      }
      if (s.type !== "disconnect" && s.type !== "reconnect") continue;
      this.connected = s.type === "reconnect";
      for (const fn of [...this.#listeners]) fn(s.type);
    }
  }
}

function requestHeaders(verb: string): MsgHdrs {
  const h = headers();
  h.append(H.version, String(PROTOCOL_VERSION));
  h.append(H.type, verb);
  h.append(H.encoding, "cbor");
  return h;
}

/** The EPERM of a refused publish or subscription, saying what to do about it. */
export function deniedError(operation: string, subject: string): TuttiError {
  const what = operation === "publish" ? "publish to" : "subscribe to";
  return new TuttiError(
    "EPERM",
    `the NATS server refused to let this client ${what} "${subject}" (permissions violation): ` +
      `connect as a user with controller rights (--nkey, --creds, --user; see "Users and ` +
      `permissions" in the README)`,
  );
}

/** A "503 no responders" status in place of a reply: nobody subscribes to the subject. */
export function isNoRespondersMsg(m: Msg): boolean {
  return m.data.length === 0 && m.headers?.code === 503;
}

/** nats.js's reasons, worded for a person: "connection refused", "no answer within 3s". */
function connectReason(e: unknown): string {
  if (e instanceof TuttiError) return e.message;
  const err = e as { name?: string; message?: string };
  if (err?.name === "TimeoutError" || err?.message === "timeout") {
    return `no answer within ${CONNECT_TIMEOUT_MS / 1000}s`;
  }
  const m = explainAuthError(err?.message ?? String(e));
  const dns = /getaddrinfo (ENOTFOUND|EAI_AGAIN) (\S+)/.exec(m);
  if (dns) return `unknown host ${dns[2]}`;
  return m;
}
