/**
 * Globs, for host names in selectors and for label values in `where`.
 *
 * - `*` matches any run of characters, empty included; `?` exactly one.
 * - `[abc]`, `[a-z]`, `[!abc]` or `[^abc]`: one character in (not in) the class.
 * - A bracket holding only digits, commas, dashes and `/` is a node-set range,
 *   not a class (the rule that tells `g5k-[1-12]` from `web-[ab]`): it matches
 *   a run of digits that is one of its indexes, with the same padding rules as
 *   node sets. `web-*-[1-12]` matches `web-a-12`; `n[01-10]` matches `n07`, not
 *   `n7`.
 * - In label values (any characters), `\` makes the next character literal.
 *
 * Matching backtracks with memoisation, so it is linear in the pattern times
 * the quadratic worst case of the name length, and names are short.
 */
import { badSyntax, type Source } from "./nodeset_syntax.ts";
import { type Fail, MAX_DIGITS, parseRanges, RangeSet } from "./rangeset.ts";

/** `host`: host-name characters only; `label`: any character, with `\` escapes. */
export type GlobMode = "host" | "label";

type Token =
  | { t: "lit"; s: string }
  | { t: "star" }
  | { t: "one" }
  | { t: "class"; negate: boolean; ranges: [number, number][] }
  | { t: "num"; set: RangeSet };

const NAME_CHAR = /^[A-Za-z0-9_-]$/;

/** Whether a bracket's content is a node-set range (digits `,` `-` `/`) rather than a glob class. */
export function isRangeBracket(content: string): boolean {
  return /^[0-9,/-]*$/.test(content);
}

/** Whether a host pattern (one selector element) is a glob: `*`, `?` or a class bracket. */
export function isHostGlob(text: string): boolean {
  if (text.includes("*") || text.includes("?")) return true;
  for (const m of text.matchAll(/\[([^\]]*)\]/g)) if (!isRangeBracket(m[1])) return true;
  return false;
}

export class Glob {
  readonly #tokens: Token[];
  constructor(readonly source: string, tokens: Token[]) {
    this.#tokens = tokens;
  }

  /** Memory footprint, for bounded caches. */
  get weight(): number {
    return this.#tokens.reduce((n, t) => n + (t.t === "num" ? t.set.weight : 1), 1);
  }

  test(s: string): boolean {
    const tokens = this.#tokens;
    const failed = new Set<number>();
    const width = s.length + 1;
    const go = (ti: number, pos: number): boolean => {
      if (ti === tokens.length) return pos === s.length;
      const key = ti * width + pos;
      if (failed.has(key)) return false;
      const tok = tokens[ti];
      let ok = false;
      switch (tok.t) {
        case "lit":
          ok = s.startsWith(tok.s, pos) && go(ti + 1, pos + tok.s.length);
          break;
        case "one":
          ok = pos < s.length && go(ti + 1, pos + 1);
          break;
        case "class":
          ok = pos < s.length && inClass(tok, s.charCodeAt(pos)) && go(ti + 1, pos + 1);
          break;
        case "star":
          for (let p = pos; p <= s.length && !ok; p++) ok = go(ti + 1, p);
          break;
        case "num":
          for (let e = pos + 1; e <= s.length && e - pos <= MAX_DIGITS && !ok; e++) {
            const c = s.charCodeAt(e - 1);
            if (c < 48 || c > 57) break;
            ok = tok.set.has(s.slice(pos, e)) && go(ti + 1, e);
          }
          break;
      }
      if (!ok) failed.add(key);
      return ok;
    };
    return go(0, 0);
  }
}

function inClass(tok: Extract<Token, { t: "class" }>, c: number): boolean {
  return tok.ranges.some(([lo, hi]) => c >= lo && c <= hi) !== tok.negate;
}

/**
 * Compiles `text`, found at index `start` of `src.text` (for error columns).
 * Throws `EBADSEL` naming the column of a bad character or bracket.
 */
export function compileGlob(src: Source, text: string, start: number, mode: GlobMode): Glob {
  const fail: Fail = (reason, index) => {
    throw badSyntax(src, reason, index);
  };
  const tokens: Token[] = [];
  const literal = (c: string) => {
    const last = tokens[tokens.length - 1];
    if (last?.t === "lit") last.s += c;
    else tokens.push({ t: "lit", s: c });
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "*") {
      if (tokens[tokens.length - 1]?.t !== "star") tokens.push({ t: "star" });
    } else if (c === "?") {
      tokens.push({ t: "one" });
    } else if (c === "[") {
      const close = text.indexOf("]", i + 1);
      if (close < 0) fail(`unclosed "["`, start + i);
      const content = text.slice(i + 1, close);
      if (isRangeBracket(content)) {
        if (content === "") fail(`empty brackets "[]"`, start + i);
        tokens.push({
          t: "num",
          set: RangeSet.fromSpecs(parseRanges(content, start + i + 1, fail).specs),
        });
      } else {
        tokens.push(parseClass(content, start + i + 1, mode, fail));
      }
      i = close;
    } else if (mode === "label") {
      if (c === "\\") {
        if (i + 1 === text.length) fail(`"\\" at the end escapes nothing`, start + i);
        literal(text[++i]);
      } else {
        literal(c);
      }
    } else if (NAME_CHAR.test(c)) {
      literal(c);
    } else {
      fail(`${JSON.stringify(c)} is not allowed in a host pattern`, start + i);
    }
  }
  return new Glob(text, tokens);
}

function parseClass(content: string, at: number, mode: GlobMode, fail: Fail): Token {
  let k = 0;
  const negate = content[0] === "!" || content[0] === "^";
  if (negate) k++;
  if (k === content.length) fail("empty character class", at - 1);
  const ranges: [number, number][] = [];
  for (; k < content.length; k++) {
    const c = content[k];
    // Commas can never occur in a host name: `[a,b]` reads as `[ab]`.
    if (mode === "host" && c !== "," && !NAME_CHAR.test(c)) {
      fail(`${JSON.stringify(c)} is not allowed in a character class`, at + k);
    }
    if (content[k + 1] === "-" && k + 2 < content.length) {
      const d = content[k + 2];
      if (mode === "host" && !NAME_CHAR.test(d)) {
        fail(`${JSON.stringify(d)} is not allowed in a character class`, at + k + 2);
      }
      if (d.charCodeAt(0) < c.charCodeAt(0)) fail(`reversed class range "${c}-${d}"`, at + k);
      ranges.push([c.charCodeAt(0), d.charCodeAt(0)]);
      k += 2;
    } else {
      ranges.push([c.charCodeAt(0), c.charCodeAt(0)]);
    }
  }
  return { t: "class", negate, ranges };
}
