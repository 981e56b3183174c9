/**
 * Requests in, replies out. Subscribes to `P.host.<name>.*` and `P.all.*`;
 * for every message: size check (EMSGSIZE), CBOR map with `v` (EBADMSG,
 * EPROTO), on a broadcast the `target` (silence when it does not match,
 * EBADSEL when it does not parse), the verb (ENOSYS), then its handler.
 * Whatever is thrown becomes an error reply; nothing a peer sends can end the
 * subscription or the agent. Bad messages without a reply subject are logged,
 * at most one line per second.
 *
 * Replies go to `P.reply.<id>.<kind>.<name>` for a request whose reply
 * subject is `P.reply.<id>.<kind>` (Subjects.answerOn): the agent's own name
 * is the last token, which only its key may publish, so a requester knows
 * who answered from the subject. A request with any other reply subject
 * cannot be answered, and is not acted on either (logged): its sender would
 * wait for an answer to something that happened.
 */
import type { Msg, Subscription } from "@nats-io/transport-node";
import { decodeMap, encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import { toWireError, TuttiError } from "../protocol/errors.ts";
import { H } from "../protocol/headers.ts";
import { parseTarget } from "../protocol/messages.ts";
import { matchTarget } from "../protocol/selector.ts";
import type { Subjects } from "../protocol/subjects.ts";
import type { Connection } from "./connection.ts";
import type { Handled, Handler } from "./handlers.ts";
import type { Identity } from "./identity.ts";
import { log, RateLimitedLog } from "./log.ts";
import type { Outbox } from "./outbox.ts";

export class Dispatcher {
  private readonly subs: Subscription[] = [];
  private readonly unanswerable = new RateLimitedLog();
  private readonly internal = new RateLimitedLog();

  constructor(
    private readonly conn: Connection,
    private readonly outbox: Outbox,
    private readonly subjects: Subjects,
    private readonly identity: Identity,
    private readonly handlers: Map<string, Handler>,
    private readonly maxPayload: number,
  ) {}

  /** The server's refusal of one of the subscriptions (its permissions), once it has come. */
  refused: Error | null = null;

  start(): void {
    const nc = this.conn.nc;
    const subscribe = (subject: string, broadcast: boolean) =>
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (!err) return this.onMsg(msg, broadcast);
          // The connection logs permission violations; ending the subscription is news.
          this.refused ??= err;
          log(`subscription to ${subject} ended: ${err.message}`);
        },
      });
    this.subs.push(
      subscribe(this.subjects.hostAll(this.identity.name), false),
      subscribe(this.subjects.allAll(), true),
    );
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  private onMsg(msg: Msg, broadcast: boolean): void {
    const verb = this.subjects.verbOf(msg.subject);
    let to: string | undefined;
    if (msg.reply) {
      const on = this.subjects.answerOn(msg.reply, this.identity.name);
      if (on === null) {
        this.unanswerable.report(
          `${msg.subject}: not handled: its reply subject ${JSON.stringify(msg.reply)} is not ` +
            `${this.subjects.replyTo("<id>", "<kind>")} (protocol/PROTOCOL.md, "Replies")`,
        );
        return;
      }
      to = on;
    }
    try {
      if (msg.data.length > this.maxPayload) {
        throw new TuttiError(
          "EMSGSIZE",
          `payload of ${msg.data.length} bytes exceeds this agent's limit of ${this.maxPayload} bytes`,
        );
      }
      const req = decodeMap(msg.data);
      if (broadcast && !matchTarget(parseTarget(req), this.identity.name, this.identity.labels)) {
        return;
      }
      const handler = this.handlers.get(verb);
      if (!handler) {
        throw new TuttiError(
          "ENOSYS",
          `unknown verb ${JSON.stringify(verb)}: this agent knows ${
            [...this.handlers.keys()].join(", ")
          }`,
        );
      }
      const out = handler(req, {
        accept: (body) => this.accept(to, verb, body),
        progress: (body) => this.accept(to && this.subjects.progressOf(to), "progress", body),
      });
      if (out instanceof Promise) {
        out.then((r) => this.reply(msg, to, verb, r), (e) => this.fail(msg, to, verb, e));
      } else {
        this.reply(msg, to, verb, out);
      }
    } catch (e) {
      this.fail(msg, to, verb, e);
    }
  }

  private reply(msg: Msg, to: string | undefined, verb: string, r: Handled): void {
    if (to === undefined) return;
    try {
      const data = encode({ v: PROTOCOL_VERSION, ok: true, host: this.identity.name, ...r.body });
      if (data.length > this.conn.maxPayload - 512) {
        throw new TuttiError(
          "EMSGSIZE",
          `the reply (${data.length} bytes) exceeds the server's max_payload (${this.conn.maxPayload}): ask for less`,
        );
      }
      const extra = r.proc === undefined ? undefined : { [H.proc]: r.proc };
      this.conn.publish(to, data, this.outbox.headers(verb, "cbor", extra));
    } catch (e) {
      this.fail(msg, to, verb, e);
    }
  }

  /** An early `{ok: true, ...body}` on the reply subject; the answer follows. */
  private accept(to: string | undefined, verb: string, body: object): void {
    if (to === undefined) return;
    const data = encode({ v: PROTOCOL_VERSION, ok: true, host: this.identity.name, ...body });
    this.conn.publish(to, data, this.outbox.headers(verb, "cbor"));
  }

  private fail(msg: Msg, to: string | undefined, verb: string, e: unknown): void {
    const error = toWireError(e);
    if (error.code === "EINTERNAL") {
      this.internal.report(`${msg.subject}: ${(e as Error)?.stack ?? error.message}`);
    }
    if (to === undefined) {
      this.unanswerable.report(
        `${msg.subject} (no reply subject): ${error.code}: ${error.message}`,
      );
      return;
    }
    try {
      const data = encode({
        v: PROTOCOL_VERSION,
        ok: false,
        host: this.identity.name,
        error,
      });
      this.conn.publish(
        to,
        data,
        this.outbox.headers(verb, "cbor", { [H.error]: error.code }),
      );
    } catch (e2) {
      this.internal.report(`${msg.subject}: cannot send the error reply: ${(e2 as Error).message}`);
    }
  }
}
