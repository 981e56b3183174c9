/**
 * The grammar of node sets: splitting an expression at its top-level commas,
 * parsing one element into a term (the product of its numbers), and errors
 * that name the expression and the column (`bad node set "g5k-[1-": unclosed
 * "[" at column 5`). nodeset.ts builds values from terms; selector.ts and
 * glob.ts share the splitting and the errors.
 */
import { TuttiError } from "./errors.ts";
import { type Fail, MAX_DIGITS, parseRanges, RangeSet } from "./rangeset.ts";

/** Most names one expression may name (duplicates counted): guards memory against `n[1-999999999]`. */
export const MAX_NAMES = 1_000_000;
/** Host names are single subject tokens (see subjects.ts). */
export const MAX_NAME_LENGTH = 128;

// ---------------------------------------------------------------- errors and elements

/** The expression being parsed and what to call it in errors (`node set`, `selector`). */
export interface Source {
  text: string;
  what: string;
}

/** `bad node set "g5k-[1-": unclosed "[" at column 5` (columns count from 1). */
export function badSyntax(src: Source, reason: string, index?: number): TuttiError {
  const at = index === undefined ? "" : ` at column ${index + 1}`;
  return new TuttiError("EBADSEL", `bad ${src.what} ${JSON.stringify(src.text)}: ${reason}${at}`);
}

/** One comma-separated element of an expression; `start` is its index in the source. */
export interface Element {
  text: string;
  start: number;
}

const isBlank = (c: string) => c === " " || c === "\t";

/**
 * Splits an expression at the commas outside brackets, checking the brackets
 * (`unclosed "["`, `"]" without "["`, nested `[`). Blanks around elements are
 * ignored; an empty element is an error.
 */
export function splitElements(src: Source): Element[] {
  const s = src.text;
  if (s.trim() === "") throw badSyntax(src, `empty ${src.what}`);
  const out: Element[] = [];
  let open = -1;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === "[") {
      if (open >= 0) throw badSyntax(src, `"[" inside brackets`, i);
      open = i;
    } else if (c === "]") {
      if (open < 0) throw badSyntax(src, `"]" without "["`, i);
      open = -1;
    } else if (i === s.length || (c === "," && open < 0)) {
      if (i === s.length && open >= 0) throw badSyntax(src, `unclosed "["`, open);
      let a = start;
      let b = i;
      while (a < b && isBlank(s[a])) a++;
      while (b > a && isBlank(s[b - 1])) b--;
      if (a === b) {
        const comma = i === s.length ? start - 1 : i;
        throw badSyntax(src, i === s.length ? `nothing after ","` : `nothing before ","`, comma);
      }
      out.push({ text: s.slice(a, b), start: a });
      start = i + 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------- terms

/**
 * One parsed pattern element: the product of its numbers. `lits` has one more
 * entry than `dims`; the names are `lits[0] + d0 + lits[1] + d1 + … + lits[n]`.
 */
export interface Term {
  lits: string[];
  dims: RangeSet[];
  size: number;
}

const NAME_CHAR = /^[A-Za-z0-9_-]$/;
const RANGE_CHAR = /^[0-9,/-]$/;
const isDigitCode = (c: number) => c >= 48 && c <= 57;

type Atom =
  | { kind: "text"; s: string }
  | { kind: "digits"; s: string }
  | {
    kind: "range";
    content: string;
    at: number;
    count: number;
    set: () => RangeSet;
    width: number;
  };

/**
 * Parses one element from `splitElements` (its brackets are already checked)
 * into a term. `used` names were already counted by earlier elements; the
 * total may not exceed `limit`.
 */
export function parseTerm(src: Source, el: Element, used = 0, limit = MAX_NAMES): Term {
  const fail: Fail = (reason, index) => {
    throw badSyntax(src, reason, index);
  };
  const t = el.text;
  const atoms: Atom[] = [];
  let lit = "";
  const flush = () => {
    for (const m of lit.matchAll(/[0-9]+|[^0-9]+/g)) {
      atoms.push({ kind: isDigitCode(m[0].charCodeAt(0)) ? "digits" : "text", s: m[0] });
    }
    lit = "";
  };
  for (let i = 0; i < t.length;) {
    const c = t[i];
    if (c === "[") {
      flush();
      const close = t.indexOf("]", i);
      const content = t.slice(i + 1, close);
      const at = el.start + i + 1;
      if (content === "") fail(`empty range "[]"`, el.start + i);
      for (let k = 0; k < content.length; k++) {
        if (!RANGE_CHAR.test(content[k])) fail(`${JSON.stringify(content[k])} in a range`, at + k);
      }
      const { specs, count } = parseRanges(content, at, fail);
      const width = Math.max(...specs.map((r) => Math.max(r.pad, String(r.hi).length)));
      atoms.push({
        kind: "range",
        content,
        at,
        count,
        width,
        set: () => RangeSet.fromSpecs(specs),
      });
      i = close + 1;
    } else if (NAME_CHAR.test(c)) {
      lit += c;
      i++;
    } else {
      const hint = c === "*" || c === "?" ? " (globs belong in selectors, not node sets)" : "";
      fail(`${JSON.stringify(c)} is not allowed in a host name${hint}`, el.start + i);
    }
  }
  flush();

  // Group consecutive digits and brackets into numbers (dimensions).
  const lits: string[] = [""];
  const numbers: Atom[][] = [];
  for (let k = 0; k < atoms.length;) {
    const a = atoms[k];
    if (a.kind === "text") {
      lits[lits.length - 1] += a.s;
      k++;
      continue;
    }
    const group: Atom[] = [];
    while (k < atoms.length && atoms[k].kind !== "text") group.push(atoms[k++]);
    const ranges = group.filter((g) => g.kind === "range");
    if (ranges.length > 1) {
      fail(
        "two ranges in one number (put a non-digit between them)",
        (ranges[1] as { at: number }).at - 1,
      );
    }
    if (ranges.length === 0 && (group[0] as { s: string }).s.length > MAX_DIGITS) {
      lits[lits.length - 1] += (group[0] as { s: string }).s; // too long to be an index: plain text
      continue;
    }
    numbers.push(group);
    lits.push("");
  }

  let size = 1;
  for (const group of numbers) for (const g of group) if (g.kind === "range") size *= g.count;
  if (used + size > limit) {
    throw badSyntax(src, `${used + size} names, more than the limit of ${limit}`);
  }
  const dims = numbers.map((group) => numberSet(group, fail));
  const length = lits.reduce((n, s) => n + s.length, 0) +
    dims.reduce((n, d) => n + d.maxLength(), 0);
  if (length > MAX_NAME_LENGTH) {
    fail(`names longer than ${MAX_NAME_LENGTH} characters`, el.start);
  }
  return { lits, dims, size };
}

/** The index set of one number: a bracket, plain digits, or a bracket with digits glued to it. */
function numberSet(group: Atom[], fail: Fail): RangeSet {
  const i = group.findIndex((g) => g.kind === "range");
  if (i < 0) return RangeSet.fromStrings([(group[0] as { s: string }).s]);
  const range = group[i] as Extract<Atom, { kind: "range" }>;
  if (group.length === 1) return range.set();
  const before = group.slice(0, i).map((g) => (g as { s: string }).s).join("");
  const after = group.slice(i + 1).map((g) => (g as { s: string }).s).join("");
  if (before.length + range.width + after.length > MAX_DIGITS) {
    fail(`number longer than ${MAX_DIGITS} digits`, range.at - 1);
  }
  // `n1[0-5]` is n10…n15 and `n[1-2]0` is n10, n20: expand (bounded by the name limit).
  const strings: string[] = [];
  for (const s of range.set()) strings.push(before + s + after);
  return RangeSet.fromStrings(strings);
}
