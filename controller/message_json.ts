/**
 * Any message under the prefix as plain JSON data: `{subject, headers, body}`
 * with CBOR bodies decoded, output bytes as text, and byte strings inside
 * CBOR (a `logs` reply's data) as text too. What `controller sub` prints, so
 * that live debugging needs no CBOR tool.
 */
import type { Msg } from "@nats-io/transport-node";
import { decode } from "../protocol/codec.ts";
import { H } from "../protocol/headers.ts";

export interface MessageJson {
  subject: string;
  headers: Record<string, string>;
  body: unknown;
}

const text = new TextDecoder();

export function messageJson(m: Msg): MessageJson {
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
    if (m.headers.code !== 0 && m.headers.code !== undefined) {
      headers[":status"] = `${m.headers.code} ${m.headers.description ?? ""}`.trim();
    }
  }
  return { subject: m.subject, headers, body: bodyOf(m.data, headers[H.encoding]) };
}

function bodyOf(data: Uint8Array, encoding: string | undefined): unknown {
  if (data.length === 0) return null;
  if (encoding === "raw") return text.decode(data);
  try {
    return plain(decode(data));
  } catch {
    // Not CBOR: someone else's message under the prefix; show it as well as possible.
    return utf8(data) ?? { base64: base64(data) };
  }
}

/** CBOR values JSON cannot hold, made printable. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return text.decode(x);
  if (typeof x === "bigint") return x.toString();
  if (x instanceof Date) return x.toISOString();
  if (Array.isArray(x)) return x.map(plain);
  if (x instanceof Map) return Object.fromEntries([...x].map(([k, v]) => [String(k), plain(v)]));
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  }
  return x;
}

function utf8(data: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(data);
  } catch {
    return null;
  }
}

function base64(data: Uint8Array): string {
  let s = "";
  for (let i = 0; i < data.length; i += 0x8000) {
    s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
