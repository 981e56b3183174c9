/**
 * A run's input (`run` with `stdin: true`, PROTOCOL.md "Input of a run"):
 * the bytes a controller publishes once for every host on `P.stdin.<proc>`,
 * and the progress each agent reports on `P.proc.<host>.<proc>.input`.
 *
 * Input chunks carry the bytes themselves as the payload (no CBOR), their
 * place in the input in `Tutti-Offset`, and `Tutti-Type` `stdin`; the end
 * of the input is an empty message of type `eof` whose offset is the total
 * length. Progress is a CBOR map like every other event.
 */
import { TuttiError, type WireError } from "./errors.ts";
import { Fields } from "./fields.ts";
import { H } from "./headers.ts";
import { PROTOCOL_VERSION } from "./codec.ts";
import { parseWireError } from "./replies.ts";

/** `Tutti-Type` of the messages on `P.stdin.<proc>`. */
export const INPUT_TYPES = ["stdin", "eof"] as const;
export type InputType = typeof INPUT_TYPES[number];

/** One message on `P.stdin.<proc>`. */
export type InputChunk =
  /** Bytes of the input, from `offset` on. */
  | { type: "stdin"; offset: number; data: Uint8Array }
  /** The input ends: `offset` is its length. */
  | { type: "eof"; offset: number };

/**
 * Input an agent holds for one process beyond what is written into its
 * stdin: a chunk that would take it past this is dropped (as if lost on the
 * way, to be sent again). A sender keeps less than this in flight.
 */
export const INPUT_HELD_MAX = 64 * 1024 * 1024;

/** The headers of an input message (a sender's side). */
export function inputHeaders(chunk: InputChunk, proc: string): Record<string, string> {
  return {
    [H.version]: String(PROTOCOL_VERSION),
    [H.type]: chunk.type,
    [H.proc]: proc,
    [H.encoding]: "raw",
    [H.offset]: String(chunk.offset),
  };
}

/**
 * A message of `P.stdin.<proc>` from its headers (`header(name)`: the
 * first value, or undefined) and payload; EPROTO for another version,
 * EBADMSG naming what is wrong otherwise.
 */
export function parseInputChunk(
  header: (name: string) => string | undefined | null,
  data: Uint8Array,
): InputChunk {
  const version = header(H.version);
  if (version !== String(PROTOCOL_VERSION)) {
    throw new TuttiError(
      "EPROTO",
      `input chunk: protocol version ${
        JSON.stringify(version ?? null)
      } is not supported (this peer speaks v${PROTOCOL_VERSION})`,
    );
  }
  const type = header(H.type);
  if (type !== "stdin" && type !== "eof") {
    throw new TuttiError(
      "EBADMSG",
      `input chunk: header ${H.type}: expected "stdin" or "eof", got ${
        JSON.stringify(type ?? null)
      }`,
    );
  }
  const text = header(H.offset) ?? "";
  const offset = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(offset)) {
    throw new TuttiError(
      "EBADMSG",
      `input chunk: header ${H.offset}: expected a byte offset, got ${JSON.stringify(text)}`,
    );
  }
  if (type === "eof") {
    if (data.length > 0) {
      throw new TuttiError(
        "EBADMSG",
        `input eof: expected an empty payload, got ${data.length} bytes`,
      );
    }
    return { type, offset };
  }
  if (data.length === 0) throw new TuttiError("EBADMSG", "input chunk: empty payload");
  return { type, offset, data };
}

/**
 * `P.proc.<host>.<proc>.input`: how far one host has got with the input.
 * `received` only grows, except after the agent restarted (it then starts
 * again from `written`, which the keeper kept).
 */
export interface InputProgress {
  v: number;
  /** Bytes received in order: the offset the agent expects next. */
  received: number;
  /** Bytes written into the process's stdin. */
  written: number;
  /** The end of the input has been received. */
  eof: boolean;
  /** Stdin is closed: after the end of the input, or early (`error`). Nothing more follows. */
  closed: boolean;
  /** A chunk at this offset came while `received` was expected: the bytes between were missed. */
  gap?: number;
  /** Why stdin closed before the end of the input. */
  error?: WireError;
}

export function parseInputProgress(body: Record<string, unknown>): InputProgress {
  const f = Fields.of(body, "input event");
  const received = f.int("received");
  const written = f.int("written");
  if (written > received) f.fail("written", `at most "received" (${received})`);
  const gap = f.optInt("gap");
  if (gap !== undefined && gap <= received) {
    f.fail("gap", `an offset past "received" (${received})`);
  }
  const closed = f.bool("closed");
  return {
    v: PROTOCOL_VERSION,
    received,
    written,
    eof: f.bool("eof"),
    closed,
    ...(gap !== undefined && { gap }),
    ...(f.has("error") && { error: parseWireError(body.error) }),
  };
}
