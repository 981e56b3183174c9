/**
 * Sets of node indexes: the numbers between the brackets of a node set
 * (`[1-10,20]`, `[001-064]`, `[1-9/2]`), after ClusterShell's RangeSet.
 *
 * An index is a string of digits, not a number: `7`, `07` and `007` name three
 * different hosts. As in ClusterShell (1.9 and later), one set may hold indexes
 * of several paddings, and indexes are ordered by length, then by digits
 * (`1 … 9, 01 … 09, 10 … 99, 100 …`), which is numeric order when nothing is
 * zero-padded.
 *
 * Internally the indexes are grouped in classes, each a sorted list of
 * intervals of numbers, so `[1-999999]` costs two numbers, not a million
 * strings:
 * - class 0 holds unpadded indexes (`0`, `7`, `10`): one number each;
 * - class w (w ≥ 2) holds zero-padded indexes of exactly w characters whose
 *   value has fewer than w digits (`07` is value 7 in class 2).
 *   `%02d` of 10 is `10`, an unpadded index, so it goes to class 0: every
 *   string has exactly one place, and equal sets have equal contents.
 *
 * Parse errors go through a `fail` callback so that the caller can name the
 * whole expression and the column (see nodeset.ts).
 */

/** Longest digit run handled as an index; longer runs stay plain text (15 digits are exact in a double). */
export const MAX_DIGITS = 15;

const POW10: readonly number[] = Array.from({ length: MAX_DIGITS + 2 }, (_, i) => 10 ** i);

/** Reports a syntax error at `index` (0-based, in the caller's source) and never returns. */
export type Fail = (reason: string, index: number) => never;

/** One `lo-hi/step` item of a bracket, as parsed; `pad` is the zero-padded width, 0 if none. */
export interface RangeSpec {
  lo: number;
  hi: number;
  step: number;
  pad: number;
}

const DIGITS = /^[0-9]+$/;

/**
 * Parses the inside of a bracket (`1-10/2,20,001-005`). `at` is the index of
 * the first character of `content` in the caller's source, for error columns.
 * Answers the items and how many indexes they name (duplicates counted), so
 * that the caller can refuse an oversized set before building anything.
 */
export function parseRanges(
  content: string,
  at: number,
  fail: Fail,
): { specs: RangeSpec[]; count: number } {
  const specs: RangeSpec[] = [];
  let count = 0;
  let offset = 0;
  for (const item of content.split(",")) {
    const where = at + offset;
    offset += item.length + 1;
    if (item === "") fail(`empty item in range "${content}"`, where);
    const slash = item.indexOf("/");
    const base = slash < 0 ? item : item.slice(0, slash);
    let step = 1;
    if (slash >= 0) {
      const stepText = item.slice(slash + 1);
      if (!DIGITS.test(stepText)) fail(`bad step "${stepText}" in "${item}"`, where + slash + 1);
      step = Number(stepText);
      if (step < 1) fail(`step must be 1 or more in "${item}"`, where + slash + 1);
    }
    const bounds = base.split("-");
    if (bounds.length > 2 || !bounds.every((b) => DIGITS.test(b))) {
      fail(`bad range "${item}" (expected N, N-M or N-M/STEP)`, where);
    }
    if (bounds.length === 1 && slash >= 0) {
      fail(`a step needs a range, as in "1-9/2", not "${item}"`, where);
    }
    const [first, last = first] = bounds;
    for (const b of bounds) {
      if (b.length > MAX_DIGITS) fail(`index "${b}" has more than ${MAX_DIGITS} digits`, where);
    }
    const firstPadded = first.length > 1 && first[0] === "0";
    const lastPadded = last.length > 1 && last[0] === "0";
    if ((firstPadded || lastPadded) && first.length !== last.length) {
      fail(`padding mismatch in "${base}": zero-padded bounds need the same width`, where);
    }
    const lo = Number(first);
    const hi = Number(last);
    if (lo > hi) fail(`reversed range "${base}"`, where);
    specs.push({ lo, hi, step, pad: firstPadded ? first.length : 0 });
    count += Math.floor((hi - lo) / step) + 1;
  }
  return { specs, count };
}

/** Flat list of sorted, disjoint, non-adjacent inclusive intervals: `[lo0, hi0, lo1, hi1, …]`. */
type Intervals = number[];

/** Ordered piece of a set: indexes `lo..hi`, all of the same length; `width` > 0 if zero-padded. */
interface Segment {
  lo: number;
  hi: number;
  width: number;
}

/** An immutable set of indexes. */
export class RangeSet {
  readonly #classes: ReadonlyMap<number, Intervals>;
  /** Number of indexes. */
  readonly size: number;
  #folded?: string;

  private constructor(classes: Map<number, Intervals>) {
    let size = 0;
    for (const [w, iv] of classes) {
      if (iv.length === 0) classes.delete(w);
      for (let i = 0; i < iv.length; i += 2) size += iv[i + 1] - iv[i] + 1;
    }
    this.#classes = classes;
    this.size = size;
  }

  static readonly EMPTY: RangeSet = new RangeSet(new Map());

  /** The one way in: raw (unsorted, overlapping) intervals per class. */
  static #build(raw: Map<number, number[]>): RangeSet {
    const classes = new Map<number, Intervals>();
    for (const [w, list] of raw) classes.set(w, normalize(list));
    return new RangeSet(classes);
  }

  /** The set named by parsed bracket items. */
  static fromSpecs(specs: readonly RangeSpec[]): RangeSet {
    const raw = new Map<number, number[]>();
    for (const { lo, hi, step, pad } of specs) {
      if (step === 1) addRun(raw, lo, hi, pad);
      else for (let v = lo; v <= hi; v += step) addRun(raw, v, v, pad);
    }
    return RangeSet.#build(raw);
  }

  /** The set of these indexes; each must be 1 to MAX_DIGITS digits. */
  static fromStrings(indexes: Iterable<string>): RangeSet {
    const raw = new Map<number, number[]>();
    for (const s of indexes) {
      const v = Number(s);
      push(raw, classOf(s), v, v);
    }
    return RangeSet.#build(raw);
  }

  /** The union of many sets at once (cheaper than folding `union`). */
  static unionAll(sets: readonly RangeSet[]): RangeSet {
    if (sets.length === 1) return sets[0];
    const raw = new Map<number, number[]>();
    for (const set of sets) {
      for (const [w, iv] of set.#classes) {
        for (let i = 0; i < iv.length; i += 2) push(raw, w, iv[i], iv[i + 1]);
      }
    }
    return RangeSet.#build(raw);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /** Memory footprint, in intervals. */
  get weight(): number {
    let n = 0;
    for (const iv of this.#classes.values()) n += iv.length / 2;
    return n;
  }

  has(index: string): boolean {
    if (index.length === 0 || index.length > MAX_DIGITS || !DIGITS.test(index)) return false;
    const iv = this.#classes.get(classOf(index));
    if (!iv) return false;
    const v = Number(index);
    // Binary search for the last interval starting at or before v.
    let lo = 0;
    let hi = iv.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (iv[2 * mid] <= v) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && v <= iv[2 * hi + 1];
  }

  union(other: RangeSet): RangeSet {
    return this.#combine(other, unionIntervals, true);
  }

  intersection(other: RangeSet): RangeSet {
    return this.#combine(other, intersectIntervals, false);
  }

  difference(other: RangeSet): RangeSet {
    const out = new Map<number, Intervals>();
    for (const [w, iv] of this.#classes) {
      const theirs = other.#classes.get(w);
      out.set(w, theirs ? subtractIntervals(iv, theirs) : iv);
    }
    return new RangeSet(out);
  }

  equals(other: RangeSet): boolean {
    return this.size === other.size && this.toString() === other.toString();
  }

  /** The smallest index, or undefined when empty. */
  first(): string | undefined {
    for (const s of this.#segments()) return format(s.lo, s.width);
    return undefined;
  }

  /** Length of the longest index (0 when empty). */
  maxLength(): number {
    let last: Segment | undefined;
    for (const s of this.#segments()) last = s;
    return last ? format(last.hi, last.width).length : 0;
  }

  /** The indexes, in order. */
  *[Symbol.iterator](): Generator<string> {
    for (const { lo, hi, width } of this.#segments()) {
      for (let v = lo; v <= hi; v++) yield format(v, width);
    }
  }

  /**
   * The folded form without brackets, as ClusterShell prints it (no steps):
   * `1-3,7`, `001-064`, and for mixed paddings `1-9,01-10`. Parsing it gives
   * the same set back.
   */
  toString(): string {
    if (this.#folded !== undefined) return this.#folded;
    const parts: string[] = [];
    let run: Segment | undefined;
    const flush = (r: Segment) =>
      parts.push(
        r.lo === r.hi ? format(r.lo, r.width) : `${format(r.lo, r.width)}-${format(r.hi, r.width)}`,
      );
    for (const seg of this.#segments()) {
      // A padded run may go on into unpadded indexes of its own width (`08-12`);
      // an unpadded run goes on into longer unpadded indexes (`9-10`).
      if (
        run && seg.lo === run.hi + 1 && seg.width === 0 &&
        (run.width === 0 || digits(seg.hi) === run.width)
      ) {
        run.hi = seg.hi;
        continue;
      }
      if (run) flush(run);
      run = { ...seg };
    }
    if (run) flush(run);
    return this.#folded = parts.join(",");
  }

  /** Segments in index order: by length, and within a length padded ones (leading 0) first. */
  *#segments(): Generator<Segment> {
    const plain = this.#classes.get(0) ?? [];
    let i = 0;
    let cur = plain[0];
    for (let len = 1; len <= MAX_DIGITS; len++) {
      const padded = len >= 2 ? this.#classes.get(len) : undefined;
      if (padded) {
        for (let j = 0; j < padded.length; j += 2) {
          yield { lo: padded[j], hi: padded[j + 1], width: len };
        }
      }
      const top = POW10[len] - 1;
      while (i < plain.length && cur <= top) {
        const hi = Math.min(plain[i + 1], top);
        yield { lo: cur, hi, width: 0 };
        if (hi === plain[i + 1]) {
          i += 2;
          cur = plain[i];
        } else {
          cur = top + 1;
        }
      }
    }
  }

  #combine(
    other: RangeSet,
    op: (a: Intervals, b: Intervals) => Intervals,
    keepOneSided: boolean,
  ): RangeSet {
    const out = new Map<number, Intervals>();
    for (const w of new Set([...this.#classes.keys(), ...other.#classes.keys()])) {
      const a = this.#classes.get(w);
      const b = other.#classes.get(w);
      if (a && b) out.set(w, op(a, b));
      else if (keepOneSided) out.set(w, (a ?? b)!);
    }
    return new RangeSet(out);
  }
}

/** Class of an index string: its width if zero-padded, else 0. */
function classOf(s: string): number {
  return s.length > 1 && s.charCodeAt(0) === 48 ? s.length : 0;
}

function digits(v: number): number {
  return v === 0 ? 1 : Math.floor(Math.log10(v)) + 1;
}

function format(v: number, width: number): string {
  return width ? String(v).padStart(width, "0") : String(v);
}

function push(raw: Map<number, number[]>, w: number, lo: number, hi: number): void {
  let list = raw.get(w);
  if (!list) raw.set(w, list = []);
  list.push(lo, hi);
}

/** Adds `lo..hi` formatted with `%0{pad}d`: values that need no zero go to class 0. */
function addRun(raw: Map<number, number[]>, lo: number, hi: number, pad: number): void {
  if (pad >= 2) {
    const limit = POW10[pad - 1];
    if (lo < limit) {
      push(raw, pad, lo, Math.min(hi, limit - 1));
      lo = limit;
    }
    if (lo > hi) return;
  }
  push(raw, 0, lo, hi);
}

/** Sorts and merges overlapping or adjacent intervals. */
function normalize(list: number[]): Intervals {
  const n = list.length / 2;
  let sorted = true;
  for (let i = 2; i < list.length && sorted; i += 2) sorted = list[i - 2] <= list[i];
  const order = Array.from({ length: n }, (_, i) => i);
  if (!sorted) order.sort((a, b) => list[2 * a] - list[2 * b]);
  const out: number[] = [];
  for (const k of order) {
    const lo = list[2 * k];
    const hi = list[2 * k + 1];
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) {
      if (hi > out[last]) out[last] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function unionIntervals(a: Intervals, b: Intervals): Intervals {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let lo: number, hi: number;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      lo = a[i];
      hi = a[i + 1];
      i += 2;
    } else {
      lo = b[j];
      hi = b[j + 1];
      j += 2;
    }
    const last = out.length - 1;
    if (last > 0 && lo <= out[last] + 1) {
      if (hi > out[last]) out[last] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function intersectIntervals(a: Intervals, b: Intervals): Intervals {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i], b[j]);
    const hi = Math.min(a[i + 1], b[j + 1]);
    if (lo <= hi) out.push(lo, hi);
    if (a[i + 1] < b[j + 1]) i += 2;
    else j += 2;
  }
  return out;
}

function subtractIntervals(a: Intervals, b: Intervals): Intervals {
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < a.length; i += 2) {
    let cur = a[i];
    const hi = a[i + 1];
    while (j < b.length && b[j + 1] < cur) j += 2;
    for (let k = j; k < b.length && b[k] <= hi && cur <= hi; k += 2) {
      if (b[k] > cur) out.push(cur, b[k] - 1);
      cur = Math.max(cur, b[k + 1] + 1);
    }
    if (cur <= hi) out.push(cur, hi);
  }
  return out;
}
