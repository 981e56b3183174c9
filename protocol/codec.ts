/**
 * CBOR codec for control messages. Plain maps only (no cbor-x records or
 * structured-clone tags) so that any CBOR library can read and write them.
 */
import { Decoder, Encoder } from "cbor-x";
import { quoteValue, TuttiError } from "./errors.ts";

export const PROTOCOL_VERSION = 1;
export const TUTTI_VERSION = "0.1.0";

const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
  variableMapSize: true,
});
// copyBuffers: byte strings and the typed arrays of tags 64-87 are copied out of the payload.
// Without it a typed array is a view of the payload when its bytes happen to be aligned in memory,
// and a copy otherwise, which refuses a length that the view silently truncates: the same message
// decoded or not depending on where the network read had put it.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

export function encode(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes one CBOR item; anything malformed becomes EBADMSG, never a crash. */
export function decode(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new TuttiError("EBADMSG", "empty payload: expected a CBOR map");
  // cbor-x answers a lone "break" code with an empty object instead of an error.
  if (bytes[0] === 0xff) {
    throw new TuttiError("EBADMSG", "payload is not valid CBOR: a break code outside a container");
  }
  try {
    return decoder.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new TuttiError("EBADMSG", `payload is not valid CBOR: ${why}`);
  }
}

/** Decodes a message body that must be a map with a supported version `v`. */
export function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  const value = decode(bytes);
  // Byte strings and tagged items (a Date, a Set) decode to objects too: only a plain object is a map.
  if (
    value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    throw new TuttiError("EBADMSG", `payload is a CBOR ${describe(value)}, expected a map`);
  }
  const map = value as Record<string, unknown>;
  if (map.v !== PROTOCOL_VERSION) {
    throw new TuttiError(
      "EPROTO",
      `protocol version ${
        quoteValue(map.v)
      } is not supported (this peer speaks v${PROTOCOL_VERSION})`,
    );
  }
  return map;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "byte string";
  if (typeof value === "object") return "tagged item";
  return typeof value;
}
