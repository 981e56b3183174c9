/**
 * One host's output stream as lines prefixed by its name, at the byte level
 * (nothing is decoded, so any encoding passes through unchanged), written
 * into a buffer shared by every host of the stream (`OutBuffer`). Lines are
 * whole: the partial line at the end of a chunk waits for its newline, so
 * two hosts' lines never mix, and `end` finishes it (adding the newline)
 * when its host is done.
 *
 * A line longer than PIECE_BYTES (or one without a newline yet when that
 * much of it has come, like `head -c 1G /dev/zero`) is written in pieces of
 * exactly PIECE_BYTES as they come, so that no line is held in memory:
 * the first piece after `host: `, each following piece after `host+ `
 * (same width), each on a line of its own. The line is the pieces joined;
 * a newline right after a full piece only ends the line.
 *
 *   g5k-1: 0000…(65536 bytes)
 *   g5k-1+ 0000…(the next 65536)
 *   g5k-1+ 0000…(the rest, up to the line's end)
 *
 * Every byte is looked at once, in one loop that copies it and writes the
 * prefixes: cheaper than a call or a view per line when lines are short
 * (`seq` writes 8 bytes a line).
 */
const NL = 0x0a;

export const PIECE_BYTES = 64 * 1024;

/** Bytes to be written: a growing buffer, emptied by `take` (its storage is reused). */
export class OutBuffer {
  #buf = new Uint8Array(64 * 1024);
  #view: DataView | undefined;
  length = 0;

  /** The storage as a DataView (for writes of four bytes at once). */
  view(): DataView {
    return this.#view ??= new DataView(this.#buf.buffer);
  }

  /** The storage, with room for `more` bytes past `length`. */
  room(more: number): Uint8Array {
    const need = this.length + more;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.length));
      this.#buf = grown;
      this.#view = undefined;
    }
    return this.#buf;
  }

  write(data: Uint8Array): void {
    this.room(data.length).set(data, this.length);
    this.length += data.length;
  }

  /** The bytes so far, as a view valid until the next write; the buffer is empty after. */
  take(): Uint8Array {
    const data = this.#buf.subarray(0, this.length);
    this.length = 0;
    return data;
  }
}

export class PrefixedLines {
  readonly #prefix: Uint8Array;
  readonly #more: Uint8Array;
  /** The prefixes as two little-endian words each (when 8 bytes at most). */
  readonly #prefixWords: [number, number];
  readonly #moreWords: [number, number];
  /** The start of a line whose newline has not come, fewer than PIECE_BYTES. */
  #pending: Uint8Array | undefined;
  #pendingBytes = 0;
  /** The current line has had a piece written: the next piece is `host+ `. */
  #continued = false;

  constructor(host: string, private readonly out: OutBuffer, private readonly piece = PIECE_BYTES) {
    const enc = new TextEncoder();
    this.#prefix = enc.encode(`${host}: `);
    this.#more = enc.encode(`${host}+ `);
    this.#prefixWords = words(this.#prefix);
    this.#moreWords = words(this.#more);
  }

  push(data: Uint8Array): void {
    const last = data.lastIndexOf(NL);
    if (last >= 0) this.#lines(data, last + 1);
    if (last + 1 < data.length) this.#hold(data, last + 1);
  }

  /** Ends a pending partial line with a newline (its host is done, or a note follows). */
  end(): void {
    if (this.#pendingBytes > 0) {
      const n = this.#pendingBytes;
      this.#pendingBytes = 0;
      this.#piece(this.#pending!.subarray(0, n), true);
    }
    this.#continued = false;
  }

  /** A line of the view's own (`[5 bytes of stdout missing: ...]`), after ending the pending one. */
  note(text: string): void {
    this.end();
    this.#piece(new TextEncoder().encode(text), true);
  }

  /** Writes one piece of a line with its prefix and a newline. */
  #piece(bytes: Uint8Array, last: boolean): void {
    const p = this.#continued ? this.#more : this.#prefix;
    const buf = this.out.room(p.length + bytes.length + 1);
    let o = this.out.length;
    buf.set(p, o);
    o += p.length;
    buf.set(bytes, o);
    o += bytes.length;
    buf[o++] = NL;
    this.out.length = o;
    this.#continued = !last;
  }

  /** Keeps `data[from..]`, which has no newline; writes each full piece. */
  #hold(data: Uint8Array, from: number): void {
    while (from < data.length) {
      const n = Math.min(data.length - from, this.piece - this.#pendingBytes);
      if (this.#pendingBytes === 0 && n === this.piece) {
        this.#piece(data.subarray(from, from + n), false);
      } else {
        this.#pending ??= new Uint8Array(this.piece);
        this.#pending.set(data.subarray(from, from + n), this.#pendingBytes);
        this.#pendingBytes += n;
        if (this.#pendingBytes === this.piece) {
          this.#pendingBytes = 0;
          this.#piece(this.#pending, false);
        }
      }
      from += n;
    }
  }

  /** Writes `data[0, end)`, which ends with a newline, after the pending bytes. */
  #lines(data: Uint8Array, end: number): void {
    const out = this.out;
    const piece = this.piece;
    const prefix = this.#prefix;
    const more = this.#more;
    const plen = prefix.length;
    let o = out.length;
    let continued = this.#continued;
    /** Bytes the current piece may still take; 0 between pieces. */
    let room = 0;
    let i = 0;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // Room for the worst case once, rather than a check per line: every byte a line of its
    // own (a prefix, the byte, a newline), after the pending start of a line; and 8 bytes for
    // the last prefix's two words.
    const n = this.#pendingBytes;
    const buf = out.room(plen + n + end * (plen + 2) + 8);
    const ov = out.view();
    if (n > 0) {
      // The pending start of the line, then the loop goes on with the rest of it.
      room = piece - n;
      buf.set(continued ? more : prefix, o);
      o += plen;
      buf.set(this.#pending!.subarray(0, n), o);
      o += n;
      this.#pendingBytes = 0;
    }
    while (i < end) {
      if (room === 0) {
        if (continued && data[i] === NL) {
          // The line ended right after a full piece: nothing more to write.
          continued = false;
          i++;
          continue;
        }
        room = piece;
        // By hand: a call to set() per line would cost more than the line's bytes. A prefix
        // of 8 bytes at most is two words; what they write past it is free room, written over
        // next (the worst case reserved above leaves room for it).
        if (plen <= 8) {
          const words = continued ? this.#moreWords : this.#prefixWords;
          ov.setUint32(o, words[0], true);
          ov.setUint32(o + 4, words[1], true);
        } else {
          const p = continued ? more : prefix;
          for (let k = 0; k < plen; k++) buf[o + k] = p[k];
        }
        o += plen;
      }
      // Copy up to the newline, or to the end of the piece: four bytes at a time while none of
      // them is a newline (the classic test for a zero byte, on the word XOR newlines).
      const stop = end - i < room ? end : i + room;
      const from = i;
      if (stop - i >= 8) {
        while (i + 4 <= stop) {
          const w = dv.getUint32(i, true);
          const x = w ^ 0x0a0a0a0a;
          if ((((x - 0x01010101) & ~x) & 0x80808080) !== 0) break;
          ov.setUint32(o, w, true);
          i += 4;
          o += 4;
        }
      }
      let b = 0;
      while (i < stop) {
        b = data[i++];
        buf[o++] = b;
        if (b === NL) break;
      }
      if (b === NL) {
        continued = false;
        room = 0;
      } else if ((room -= i - from) === 0) {
        buf[o++] = NL;
        continued = true;
      }
    }
    out.length = o;
    this.#continued = continued;
  }
}

/** The first 8 bytes of `b` (zeros past its end) as two little-endian words. */
function words(b: Uint8Array): [number, number] {
  const eight = new Uint8Array(8);
  eight.set(b.subarray(0, 8));
  const v = new DataView(eight.buffer);
  return [v.getUint32(0, true), v.getUint32(4, true)];
}
