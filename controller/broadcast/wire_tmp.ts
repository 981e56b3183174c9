// Stand-ins for protocol/ parsers, replaced on merge.
import { TuttiError, type WireError } from "../../protocol/errors.ts";
import type { DroppedEvent, PingReply, PresenceType, ProcInfo } from "../../protocol/messages.ts";
import { isErrorCode } from "../../protocol/errors.ts";

export interface Presence extends Partial<PingReply> {
  type: PresenceType;
  host: string;
}
export type HostReply<T> =
  | ({ host: string; ok: true } & T)
  | { host: string; ok: false; error: WireError };

export function parsePresence(b: Record<string, unknown>): Presence {
  if (b.type !== "hello" && b.type !== "beat" && b.type !== "bye") {
    throw new TuttiError("EBADMSG", "presence: type");
  }
  if (typeof b.host !== "string") throw new TuttiError("EBADMSG", "presence: host");
  if (b.heartbeat !== undefined && typeof b.heartbeat !== "number") {
    throw new TuttiError("EBADMSG", "presence: heartbeat");
  }
  const { v: _v, ...rest } = b;
  return rest as unknown as Presence;
}

export function parseReply<T>(
  body: Record<string, unknown>,
  parseOk: (f: Record<string, unknown>) => T,
): HostReply<T> {
  const host = body.host;
  if (typeof host !== "string") throw new TuttiError("EBADMSG", "reply: host");
  if (body.ok === true) {
    const { v: _v, ok: _ok, host: _host, ...rest } = body;
    return { host, ok: true, ...parseOk(rest) };
  }
  return { host, ok: false, error: parseWireError(body.error) };
}

export function parseWireError(x: unknown): WireError {
  const e = x as { code?: unknown; message?: unknown } | undefined;
  const code = isErrorCode(e?.code) ? e.code : "EINTERNAL";
  const message = typeof e?.message === "string"
    ? e.message
    : `malformed error reply (${JSON.stringify(e?.code ?? null)})`;
  return { code, message };
}

export function parseProcInfo(x: unknown): ProcInfo {
  const p = x as Partial<ProcInfo> | null;
  if (
    typeof p === "object" && p !== null && typeof p.id === "string" &&
    (p.state === "running" || p.state === "exited") &&
    Number.isSafeInteger(p.stdout) && p.stdout! >= 0 &&
    Number.isSafeInteger(p.stderr) && p.stderr! >= 0
  ) {
    const { v: _v, ...rest } = p as ProcInfo & { v?: number };
    return rest;
  }
  throw new TuttiError("EBADMSG", "malformed process info");
}

export function parseDroppedEvent(b: Record<string, unknown>): DroppedEvent {
  const d = b as unknown as DroppedEvent;
  if (
    (d.stream === "stdout" || d.stream === "stderr") && Number.isSafeInteger(d.offset) &&
    Number.isSafeInteger(d.bytes)
  ) return d;
  throw new TuttiError("EBADMSG", "malformed dropped event");
}

export function looseFields<T>(f: Record<string, unknown>): T {
  return f as unknown as T;
}
