/**
 * Everything the agent publishes goes out through here, so every message
 * carries the same readable headers (Tutti-Type, Tutti-Host, Tutti-Version,
 * Tutti-Encoding, and whatever is specific to it) and bodies are encoded in
 * one way.
 */
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { encode, PROTOCOL_VERSION } from "../protocol/codec.ts";
import { H } from "../protocol/headers.ts";
import type { Connection } from "./connection.ts";

const VERSION = String(PROTOCOL_VERSION);

export type Extra = Record<string, string | number>;

export class Outbox {
  constructor(readonly conn: Connection, readonly host: string) {}

  headers(type: string, encoding: "cbor" | "raw", extra?: Extra): MsgHdrs {
    const h = headers();
    // append, not set: these keys are fresh, and set() would search the list first.
    h.append(H.version, VERSION);
    h.append(H.type, type);
    h.append(H.host, this.host);
    h.append(H.encoding, encoding);
    if (extra) { for (const k in extra) h.append(k, String(extra[k])); }
    return h;
  }

  /** A CBOR body (`v` is added in front). */
  cbor(subject: string, type: string, body: object, extra?: Extra): boolean {
    const data = encode({ v: PROTOCOL_VERSION, ...body });
    return this.conn.publish(subject, data, this.headers(type, "cbor", extra));
  }

  /** Raw bytes (process output). */
  raw(subject: string, type: string, data: Uint8Array, extra?: Extra): boolean {
    return this.conn.publish(subject, data, this.headers(type, "raw", extra));
  }
}
