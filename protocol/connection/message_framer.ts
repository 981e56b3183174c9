/**
 * Regroups the bytes a NATS server sends so that a message never spans two
 * frames: what the client's parser is given is the same byte stream, in the
 * same order, cut only between protocol operations.
 *
 * Why: a socket read is 64 KiB, and a message of output (256 KiB) or of a
 * file (1 MiB) spans many reads. The client's parser then gathers its
 * payload in a buffer that it grows by doubling (each growth a new zeroed
 * array and a copy of what came so far), and the message it delivers is a
 * view into the last, up to twice larger, array. That was a third of a
 * controller's CPU while it drained a stream. Here such a message is copied
 * once, into an array of exactly its size; a message within one read is
 * passed on as a view of the read, as before.
 *
 * The framer reads only the control lines: `MSG <subject> <sid> [reply]
 * <size>` and `HMSG ... <header size> <total size>` carry their payload's
 * size as their last word, every other operation is one line. Whatever it
 * misreads, it never drops, adds or reorders a byte: the parser's answer is
 * the same, only its work differs.
 */

import { concatBytes } from "../runtime/bytes.ts";

/** A message larger than this is passed on as it comes, not held whole. */
const MAX_ASSEMBLED = 64 * 1024 * 1024;
/** A control line longer than this (an INFO is a few KiB) is passed on as it comes. */
const MAX_LINE = 1024 * 1024;

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

export class MessageFramer {
  /** A message being gathered whole, and how much of it has come. */
  #whole: Uint8Array | null = null;
  #filled = 0;
  /** The start of a control line that a read cut. */
  #head: Uint8Array | null = null;
  /** Bytes of a message too large to gather, still to pass on unread. */
  #skip = 0;

  constructor(
    private readonly maxAssembled = MAX_ASSEMBLED,
    private readonly maxLine = MAX_LINE,
  ) {}

  /** The frames to hand the parser for one read, in order (maybe none yet). */
  push(frame: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    if (this.#head) {
      pos = this.#completeLine(frame, out);
      if (pos < 0) return out;
    }
    if (this.#whole) {
      const take = Math.min(this.#whole.length - this.#filled, frame.length - pos);
      this.#whole.set(frame.subarray(pos, pos + take), this.#filled);
      this.#filled += take;
      pos += take;
      if (this.#filled < this.#whole.length) return out;
      out.push(this.#whole);
      this.#whole = null;
    } else if (this.#skip > 0) {
      const take = Math.min(this.#skip, frame.length - pos);
      out.push(frame.subarray(pos, pos + take));
      this.#skip -= take;
      pos += take;
      if (this.#skip > 0) return out;
    }
    this.#scan(frame, pos, out);
    return out;
  }

  /** Walks whole operations from `pos`; what goes past the frame's end starts a gathering. */
  #scan(frame: Uint8Array, pos: number, out: Uint8Array[]): void {
    const start = pos;
    while (pos < frame.length) {
      const nl = frame.indexOf(NL, pos);
      if (nl < 0) {
        this.#head = frame.slice(pos);
        break;
      }
      const size = payloadSize(frame, pos, nl);
      const end = size < 0 ? nl + 1 : nl + 1 + size + 2;
      if (end <= frame.length) {
        pos = end;
        continue;
      }
      if (size > this.maxAssembled) {
        this.#skip = end - frame.length;
        pos = frame.length;
        break;
      }
      if (pos > start) out.push(frame.subarray(start, pos));
      this.#gather(end - pos, frame.subarray(pos));
      return;
    }
    if (pos > start) out.push(frame.subarray(start, pos));
  }

  /**
   * Ends a control line cut by the previous read with this one. Returns where
   * the rest of `frame` starts, or -1 when the line goes on past it.
   */
  #completeLine(frame: Uint8Array, out: Uint8Array[]): number {
    const head = this.#head!;
    const nl = frame.indexOf(NL);
    if (nl < 0) {
      this.#head = concatBytes([head, frame]);
      if (this.#head.length > this.maxLine) {
        out.push(this.#head);
        this.#head = null;
      }
      return -1;
    }
    this.#head = null;
    const line = concatBytes([head, frame.subarray(0, nl + 1)]);
    const size = payloadSize(line, 0, line.length - 1);
    if (size < 0) {
      out.push(line);
    } else if (size > this.maxAssembled) {
      out.push(line);
      this.#skip = size + 2;
    } else {
      this.#gather(line.length + size + 2, line);
    }
    return nl + 1;
  }

  #gather(length: number, first: Uint8Array): void {
    this.#whole = new Uint8Array(length);
    this.#whole.set(first);
    this.#filled = first.length;
  }
}

/**
 * The payload size of the control line `frame[from..nl]` when it is a MSG or
 * an HMSG (its last word), else -1.
 */
export function payloadSize(frame: Uint8Array, from: number, nl: number): number {
  let p = from;
  if ((frame[p] | 0x20) === 0x68) p++; // h
  if (
    (frame[p] | 0x20) !== 0x6d || (frame[p + 1] | 0x20) !== 0x73 ||
    (frame[p + 2] | 0x20) !== 0x67 || frame[p + 3] !== SPACE
  ) return -1; // not "msg "
  let e = nl;
  if (e > from && frame[e - 1] === CR) e--;
  let size = 0;
  let scale = 1;
  let q = e - 1;
  for (; q > p + 3 && frame[q] >= 0x30 && frame[q] <= 0x39; q--) {
    size += (frame[q] - 0x30) * scale;
    scale *= 10;
  }
  const spaced = frame[q] === SPACE || frame[q] === TAB;
  return q === e - 1 || q <= p + 3 || !spaced || scale > 1e12 ? -1 : size;
}
