/**
 * CBOR codec for control messages. Plain maps only (no cbor-x records or
 * structured-clone tags) so that any CBOR library can read and write them.
 */
import { Decoder, Encoder } from "cbor-x";
import { quoteValue, TuttiError } from "./errors.ts";
import { nestsDeeperThan } from "./cbor_nesting.ts";

/** No tutti message nests deeper than a few levels; this leaves room and keeps the stack safe. */
const MAX_NESTING = 64;

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
  return encoder.encode(wideIntegers(value));
}

/**
 * cbor-x writes an integral number as a CBOR integer only up to 32 bits and
 * as a float64 beyond (every epoch-millisecond time, a memory size): a client
 * decoding those fields into an int64 would fail. Such numbers become BigInts,
 * which cbor-x writes as 64-bit integers. Maps and arrays are copied only when
 * something in them changes; byte strings are left alone.
 */
function wideIntegers(x: unknown): unknown {
  if (typeof x === "number") {
    return (x > 0xffffffff || x < -0x100000000) && Number.isSafeInteger(x) ? BigInt(x) : x;
  }
  if (typeof x !== "object" || x === null || ArrayBuffer.isView(x)) return x;
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const y = wideIntegers(x[i]);
      if (y !== x[i]) (out ??= x.slice())[i] = y;
    }
    return out ?? x;
  }
  if (Object.getPrototypeOf(x) !== Object.prototype) return x;
  let out: Record<string, unknown> | undefined;
  const m = x as Record<string, unknown>;
  for (const k in m) {
    const y = wideIntegers(m[k]);
    if (y !== m[k]) (out ??= { ...m })[k] = y;
  }
  return out ?? x;
}

/** Decodes one CBOR item; anything malformed becomes EBADMSG, never a crash. */
export function decode(bytes: Uint8Array): unknown {
  if (bytes.length === 0) throw new TuttiError("EBADMSG", "empty payload: expected a CBOR map");
  // cbor-x answers a lone "break" code with an empty object instead of an error.
  if (bytes[0] === 0xff) {
    throw new TuttiError("EBADMSG", "payload is not valid CBOR: a break code outside a container");
  }
  if (nestsDeeperThan(bytes, MAX_NESTING)) {
    throw new TuttiError(
      "EBADMSG",
      `payload is not valid CBOR here: nested deeper than ${MAX_NESTING} levels`,
    );
  }
  try {
    const value = decoder.decode(bytes);
    // 0x1b / 0x3b: the initial byte of a 64-bit integer (the byte may also be data: then the walk
    // finds nothing).
    return bytes.includes(0x1b) || bytes.includes(0x3b) ? narrowIntegers(value, 0) : value;
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

/**
 * cbor-x decodes every 64-bit integer as a BigInt, even 1 or an epoch-millisecond time: those
 * within Number's safe range become numbers, so a field reads the same whatever width the sender
 * chose. (Its `int64AsNumber` option would do it, but it truncates negative ones to 32 bits.)
 * Larger ones stay BigInts, which every field refuses as out of range. Shared-reference tags
 * can make the value cyclic: the walk stops at MAX_DEPTH (no message of this protocol is nearly
 * that deep), which costs no set of visited objects on every message.
 */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_DEPTH = 32;

function narrowIntegers(x: unknown, depth: number): unknown {
  if (typeof x === "bigint") {
    return x <= MAX_SAFE && x >= -MAX_SAFE ? Number(x) : x;
  }
  if (typeof x !== "object" || x === null || ArrayBuffer.isView(x) || depth >= MAX_DEPTH) return x;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) x[i] = narrowIntegers(x[i], depth + 1);
  } else if (Object.getPrototypeOf(x) === Object.prototype) {
    const m = x as Record<string, unknown>;
    for (const k in m) m[k] = narrowIntegers(m[k], depth + 1);
  }
  return x;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "byte string";
  if (typeof value === "object") return "tagged item";
  return typeof value;
}
