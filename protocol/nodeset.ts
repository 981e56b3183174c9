/**
 * Node sets: compact host lists in ClusterShell's syntax, as values.
 *
 * ```
 * g5k-[1-100,120]      ranges and single indexes, comma-separated
 * node[001-064]        zero padding is kept: node001 … node064
 * n[1-10/2]            a step: n1 n3 n5 n7 n9
 * rack[1-2]-n[1-8]     several brackets: the cartesian product (16 hosts)
 * a,b[1-3],c7          comma lists of patterns and plain names
 * ```
 *
 * A host name is seen the way ClusterShell sees it: text with numbers in it
 * (`rack2-n07` is `rack%-n%` with indexes `2` and `07`). A node set stores, for
 * each such pattern, the indexes of its last number per value of the others,
 * as range sets (rangeset.ts): `n[1-999999]` takes a few bytes, and `has` never
 * expands anything. `expand` and the iterator list names in natural order
 * (`compareHosts`); `toString` folds back to the short form.
 *
 * Digits next to a bracket belong to its number: `n1[0-5]` is `n10 … n15`, and
 * a number holds at most one bracket (`n[1-2][3-4]` is an error, as in
 * ClusterShell). Digit runs longer than 15 characters are plain text.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert";
 * import { NodeSet } from "./nodeset.ts";
 *
 * const set = NodeSet.parse("g5k-[1-3,7],node[001-002]");
 * strictEqual(set.size, 6);
 * strictEqual(set.has("node002"), true);
 * strictEqual(set.has("node2"), false);
 * deepStrictEqual(set.expand(), ["g5k-1", "g5k-2", "g5k-3", "g5k-7", "node001", "node002"]);
 * strictEqual(NodeSet.fold(["b2", "b1", "a", "b3"]), "a,b[1-3]");
 * ```
 */
import { TuttiError } from "./errors.ts";
import {
  MAX_NAME_LENGTH,
  MAX_NAMES,
  parseTerm,
  splitElements,
  type Term,
} from "./nodeset_syntax.ts";
import { MAX_DIGITS, RangeSet } from "./rangeset.ts";
import { isToken } from "./subjects.ts";

export { MAX_NAME_LENGTH, MAX_NAMES };

const isDigitCode = (c: number) => c >= 48 && c <= 57;

// ---------------------------------------------------------------- names

/** A name seen as a pattern: `rack2-n07` → key of `["rack", "-n", ""]`, numbers `["2", "07"]`. */
export interface Shape {
  key: string;
  lits: string[];
  nums: string[];
}

/** Pattern key of literal parts; NUL cannot occur in a host name. */
export const patternKey = (lits: readonly string[]): string => lits.join("\0");

export function shapeOf(name: string): Shape {
  const lits: string[] = [""];
  const nums: string[] = [];
  for (const m of name.matchAll(/[0-9]+|[^0-9]+/g)) {
    const s = m[0];
    if (isDigitCode(s.charCodeAt(0)) && s.length <= MAX_DIGITS) {
      nums.push(s);
      lits.push("");
    } else {
      lits[lits.length - 1] += s;
    }
  }
  return { key: patternKey(lits), lits, nums };
}

/**
 * Natural order of host names: numbers compare by length, then digits (so
 * numerically when unpadded: `n2 < n10`; and `n9 < n01 < n10` as in
 * ClusterShell), everything else by character code.
 */
export function compareHosts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigitCode(ca) && isDigitCode(cb)) {
      let ei = i;
      while (ei < a.length && isDigitCode(a.charCodeAt(ei))) ei++;
      let ej = j;
      while (ej < b.length && isDigitCode(b.charCodeAt(ej))) ej++;
      if (ei - i !== ej - j) return (ei - i) - (ej - j);
      for (; i < ei; i++, j++) {
        const d = a.charCodeAt(i) - b.charCodeAt(j);
        if (d !== 0) return d;
      }
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  return (a.length - i) - (b.length - j);
}

// ---------------------------------------------------------------- the value

/** The names of one pattern whose leading numbers are `prefix`: the last number ranges over `last`. */
interface Row {
  prefix: string[];
  last: RangeSet;
}

interface Pattern {
  lits: string[];
  rows: Map<string, Row>;
}

/** An immutable set of host names. */
export class NodeSet {
  /** Names without digits. */
  readonly #plain: ReadonlySet<string>;
  readonly #patterns: ReadonlyMap<string, Pattern>;
  /** Number of names. */
  readonly size: number;

  private constructor(plain: Set<string>, patterns: Map<string, Pattern>) {
    let size = plain.size;
    for (const [key, p] of patterns) {
      for (const [rk, row] of p.rows) {
        if (row.last.isEmpty) p.rows.delete(rk);
        else size += row.last.size;
      }
      if (p.rows.size === 0) patterns.delete(key);
    }
    this.#plain = plain;
    this.#patterns = patterns;
    this.size = size;
  }

  static readonly EMPTY: NodeSet = new NodeSet(new Set(), new Map());

  /**
   * Parses a node set expression. Throws `EBADSEL` with the column of the
   * error, or when it names more than `limit` hosts.
   */
  static parse(expr: string, options: { limit?: number } = {}): NodeSet {
    const src = { text: expr, what: "node set" };
    const limit = options.limit ?? MAX_NAMES;
    const terms: Term[] = [];
    let used = 0;
    for (const el of splitElements(src)) {
      const term = parseTerm(src, el, used, limit);
      used += term.size;
      terms.push(term);
    }
    return NodeSet.fromTerms(terms);
  }

  /** The set of parsed terms (see `parseTerm`). */
  static fromTerms(terms: readonly Term[]): NodeSet {
    const plain = new Set<string>();
    const patterns = new Map<string, Pattern>();
    for (const { lits, dims } of terms) {
      if (dims.length === 0) {
        plain.add(lits[0]);
        continue;
      }
      const rows = patternIn(patterns, lits).rows;
      const last = dims[dims.length - 1];
      for (const prefix of product(dims.slice(0, -1).map((d) => [...d]))) {
        const key = prefix.join(",");
        const row = rows.get(key);
        rows.set(key, { prefix, last: row ? row.last.union(last) : last });
      }
    }
    return new NodeSet(plain, patterns);
  }

  /** The set of these names; each must be a valid host name, else `EBADSEL`. */
  static fromNames(names: Iterable<string>): NodeSet {
    const plain = new Set<string>();
    const collected = new Map<
      string,
      { lits: string[]; rows: Map<string, { prefix: string[]; lasts: string[] }> }
    >();
    for (const name of names) {
      if (!isToken(name)) {
        throw new TuttiError(
          "EBADSEL",
          `bad host name ${
            JSON.stringify(name)
          }: use 1-${MAX_NAME_LENGTH} characters from A-Z a-z 0-9 _ -`,
        );
      }
      const { key, lits, nums } = shapeOf(name);
      if (nums.length === 0) {
        plain.add(name);
        continue;
      }
      let p = collected.get(key);
      if (!p) collected.set(key, p = { lits, rows: new Map() });
      const prefix = nums.slice(0, -1);
      const rk = prefix.join(",");
      let row = p.rows.get(rk);
      if (!row) p.rows.set(rk, row = { prefix, lasts: [] });
      row.lasts.push(nums[nums.length - 1]);
    }
    const patterns = new Map<string, Pattern>();
    for (const [key, { lits, rows }] of collected) {
      const built = new Map<string, Row>();
      for (const [rk, { prefix, lasts }] of rows) {
        built.set(rk, { prefix, last: RangeSet.fromStrings(lasts) });
      }
      patterns.set(key, { lits, rows: built });
    }
    return new NodeSet(plain, patterns);
  }

  /** Folds any list of host names: `NodeSet.fold(["n1", "n2", "n3"])` is `n[1-3]`. */
  static fold(names: Iterable<string>): string {
    return NodeSet.fromNames(names).toString();
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  has(name: string): boolean {
    if (this.#plain.has(name)) return true;
    if (!isToken(name)) return false;
    const { key, nums } = shapeOf(name);
    if (nums.length === 0) return false;
    const row = this.#patterns.get(key)?.rows.get(nums.slice(0, -1).join(","));
    return row !== undefined && row.last.has(nums[nums.length - 1]);
  }

  /** Every name, in natural order (`compareHosts`). */
  expand(): string[] {
    const out: string[] = [...this.#plain];
    for (const { lits, rows } of this.#patterns.values()) {
      const n = lits.length - 1;
      const sorted = [...rows.values()].sort((a, b) => compareIndexes(a.prefix, b.prefix));
      for (const { prefix, last } of sorted) {
        let head = lits[0];
        for (let d = 0; d < n - 1; d++) head += prefix[d] + lits[d + 1];
        const tail = lits[n];
        for (const index of last) out.push(head + index + tail);
      }
    }
    // Each pattern's block is already in order: the sort merges sorted runs.
    return out.sort(compareHosts);
  }

  [Symbol.iterator](): Iterator<string> {
    return this.expand()[Symbol.iterator]();
  }

  union(other: NodeSet): NodeSet {
    const plain = new Set([...this.#plain, ...other.#plain]);
    const patterns = copyPatterns(this.#patterns);
    for (const [key, p] of other.#patterns) {
      const rows = patternIn(patterns, p.lits, key).rows;
      for (const [rk, row] of p.rows) {
        const mine = rows.get(rk);
        rows.set(rk, mine ? { prefix: row.prefix, last: mine.last.union(row.last) } : row);
      }
    }
    return new NodeSet(plain, patterns);
  }

  intersection(other: NodeSet): NodeSet {
    const plain = new Set([...this.#plain].filter((n) => other.#plain.has(n)));
    const patterns = new Map<string, Pattern>();
    for (const [key, p] of this.#patterns) {
      const theirs = other.#patterns.get(key);
      if (!theirs) continue;
      const rows = new Map<string, Row>();
      for (const [rk, row] of p.rows) {
        const t = theirs.rows.get(rk);
        if (t) rows.set(rk, { prefix: row.prefix, last: row.last.intersection(t.last) });
      }
      patterns.set(key, { lits: p.lits, rows });
    }
    return new NodeSet(plain, patterns);
  }

  difference(other: NodeSet): NodeSet {
    const plain = new Set([...this.#plain].filter((n) => !other.#plain.has(n)));
    const patterns = new Map<string, Pattern>();
    for (const [key, p] of this.#patterns) {
      const theirs = other.#patterns.get(key);
      const rows = new Map<string, Row>();
      for (const [rk, row] of p.rows) {
        const t = theirs?.rows.get(rk);
        rows.set(rk, t ? { prefix: row.prefix, last: row.last.difference(t.last) } : row);
      }
      patterns.set(key, { lits: p.lits, rows });
    }
    return new NodeSet(plain, patterns);
  }

  equals(other: NodeSet): boolean {
    return this.size === other.size && this.toString() === other.toString();
  }

  /** Memory footprint (rows and intervals), for bounded caches. */
  get weight(): number {
    let n = this.#plain.size;
    for (const p of this.#patterns.values()) {
      for (const row of p.rows.values()) n += 1 + row.last.weight;
    }
    return n;
  }

  /**
   * The folded form: `g5k-[1-3,7]`, `node[001-003]`, `rack[1-2]-n[1-8]`.
   * Numbers fold from the last one back: names that differ in one number
   * only, with the other numbers' sets equal, share one pattern. Parsing the
   * result gives the same set.
   */
  toString(): string {
    const parts: { first: string; text: string }[] = [];
    for (const name of this.#plain) parts.push({ first: name, text: name });
    for (const { lits, rows } of this.#patterns.values()) {
      let vectors = [...rows.values()].map((
        r,
      ) => [...r.prefix.map((s) => RangeSet.fromStrings([s])), r.last]);
      for (let d = lits.length - 3; d >= 0; d--) vectors = mergeAlong(vectors, d);
      for (const v of vectors) {
        let text = lits[0];
        let first = lits[0];
        v.forEach((set, k) => {
          text += (set.size === 1 ? set.first()! : `[${set}]`) + lits[k + 1];
          first += set.first()! + lits[k + 1];
        });
        parts.push({ first, text });
      }
    }
    return parts.sort((a, b) => compareHosts(a.first, b.first)).map((p) => p.text).join(",");
  }
}

/** Merges vectors that are equal except in dimension `d`. */
function mergeAlong(vectors: RangeSet[][], d: number): RangeSet[][] {
  const groups = new Map<string, { v: RangeSet[]; sets: RangeSet[] }>();
  for (const v of vectors) {
    const key = v.map((s, k) => k === d ? "" : s.toString()).join("\u0001");
    const g = groups.get(key);
    if (g) g.sets.push(v[d]);
    else groups.set(key, { v, sets: [v[d]] });
  }
  return [...groups.values()].map(({ v, sets }) =>
    v.map((s, k) => k === d ? RangeSet.unionAll(sets) : s)
  );
}

function patternIn(
  patterns: Map<string, Pattern>,
  lits: string[],
  key = patternKey(lits),
): Pattern {
  let p = patterns.get(key);
  if (!p) patterns.set(key, p = { lits, rows: new Map() });
  return p;
}

function copyPatterns(patterns: ReadonlyMap<string, Pattern>): Map<string, Pattern> {
  const out = new Map<string, Pattern>();
  for (const [key, p] of patterns) out.set(key, { lits: p.lits, rows: new Map(p.rows) });
  return out;
}

/** Index tuples in the order of `compareHosts`. */
function compareIndexes(a: readonly string[], b: readonly string[]): number {
  for (let k = 0; k < a.length; k++) {
    if (a[k].length !== b[k].length) return a[k].length - b[k].length;
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
}

/** Cartesian product of lists; one empty tuple for no lists. */
function* product(lists: readonly string[][]): Generator<string[]> {
  if (lists.length === 0) {
    yield [];
    return;
  }
  const idx = lists.map(() => 0);
  while (true) {
    yield idx.map((i, k) => lists[k][i]);
    let k = lists.length - 1;
    while (k >= 0 && ++idx[k] === lists[k].length) idx[k--] = 0;
    if (k < 0) return;
  }
}
