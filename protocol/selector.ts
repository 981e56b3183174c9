/**
 * Host selectors: which hosts a command is for.
 *
 * A selector is a comma list (commas inside brackets belong to ranges) whose
 * elements are either
 * - node sets in ClusterShell syntax (nodeset.ts): `g5k-[1-100,120]`,
 *   `node[001-064]`, `rack[1-2]-n[1-8]`, plain names; or
 * - globs (glob.ts): `g5k-*`, `web-?`, `web-[ab]`.
 *
 * An element is a glob when it has `*` or `?`, or a bracket holding anything
 * other than digits, `,`, `-` and `/`: `[1-12]` is a range, `[ab]` and
 * `[a-c]` are character classes. A selector without globs names its hosts
 * exactly (`explicit()`), so the controller can report the ones that did not
 * answer; a glob only matches the hosts that show up.
 *
 * `@FILE` elements (one host per line, e.g. an OAR node file) are resolved by
 * the controller before anything goes on the wire (`resolveHostFiles`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert";
 * import { fold, matchTarget, parseSelector } from "./selector.ts";
 *
 * const sel = parseSelector("g5k-[1-3],web-*");
 * strictEqual(sel.matches("g5k-2"), true);
 * strictEqual(sel.matches("web-front"), true);
 * strictEqual(sel.explicit(), null);
 * deepStrictEqual(parseSelector("n[1-2],m").explicit(), ["m", "n1", "n2"]);
 * strictEqual(fold(["g5k-7", "g5k-1", "g5k-2", "g5k-3"]), "g5k-[1-3,7]");
 * strictEqual(matchTarget({ hosts: "g5k-*", where: { cluster: "gr*" } }, "g5k-4", { cluster: "gros" }), true);
 * ```
 */
import { TuttiError } from "./errors.ts";
import { compileGlob, type Glob, isHostGlob } from "./glob.ts";
import type { Target } from "./messages.ts";
import { MAX_NAMES, NodeSet, patternKey, shapeOf } from "./nodeset.ts";
import { parseTerm, type Source, splitElements, type Term } from "./nodeset_syntax.ts";
import { isToken } from "./subjects.ts";

export { MAX_NAMES, NodeSet };

export interface Selector {
  /** The source text, as given. */
  readonly source: string;
  /** Whether `host` is selected. */
  matches(host: string): boolean;
  /** The hosts named exactly when the selector has no glob, else null. */
  explicit(): string[] | null;
}

/** A parsed selector expression. */
class HostSelector implements Selector {
  readonly #terms = new Map<string, Term[]>();
  readonly #allTerms: Term[];
  readonly #globs: Glob[];
  #nodes?: NodeSet;

  constructor(readonly source: string, terms: Term[], globs: Glob[]) {
    this.#allTerms = terms;
    this.#globs = globs;
    for (const term of terms) {
      const key = patternKey(term.lits);
      const list = this.#terms.get(key);
      if (list) list.push(term);
      else this.#terms.set(key, [term]);
    }
  }

  matches(host: string): boolean {
    if (!isToken(host)) return false;
    // Terms are checked in place: a node set of a million names is never expanded here.
    const { key, nums } = shapeOf(host);
    const terms = this.#terms.get(key);
    if (terms?.some((t) => t.dims.every((d, k) => d.has(nums[k])))) return true;
    return this.#globs.some((g) => g.test(host));
  }

  explicit(): string[] | null {
    return this.#globs.length > 0 ? null : this.nodeSet().expand();
  }

  /** The hosts named by the node-set elements (all of them when there is no glob). */
  nodeSet(): NodeSet {
    return this.#nodes ??= NodeSet.fromTerms(this.#allTerms);
  }

  /** Memory footprint, for the bounded cache of `matchTarget`. */
  get weight(): number {
    let n = 1;
    for (const t of this.#allTerms) for (const d of t.dims) n += d.weight;
    for (const g of this.#globs) n += g.weight;
    return n;
  }
}

/**
 * Parses a selector. Throws `EBADSEL` for an empty string, bad syntax (with
 * its column), `@FILE` (see `resolveHostFiles`) or more than `MAX_NAMES`
 * names in its node sets.
 */
export function parseSelector(expr: string): Selector & { nodeSet(): NodeSet } {
  return parseHostSelector(expr);
}

function parseHostSelector(expr: string): HostSelector {
  const src: Source = { text: expr, what: "selector" };
  const terms: Term[] = [];
  const globs: Glob[] = [];
  let used = 0;
  for (const el of splitElements(src)) {
    if (el.text.startsWith("@")) {
      throw new TuttiError(
        "EBADSEL",
        `bad selector ${JSON.stringify(expr)}: host file ${JSON.stringify(el.text)} must be read ` +
          `by the controller, it cannot be matched by agents`,
      );
    }
    if (isHostGlob(el.text)) {
      globs.push(compileGlob(src, el.text, el.start, "host"));
    } else {
      const term = parseTerm(src, el, used);
      used += term.size;
      terms.push(term);
    }
  }
  return new HostSelector(expr, terms, globs);
}

/** Folds host names for display: `g5k-[1-3,7]`. Names that are not valid host names are listed as they are, last. */
export function fold(hosts: Iterable<string>): string {
  const valid: string[] = [];
  const odd = new Set<string>();
  for (const h of hosts) {
    if (isToken(h)) valid.push(h);
    else odd.add(h);
  }
  const folded = NodeSet.fromNames(valid).toString();
  return [...(folded ? [folded] : []), ...[...odd].sort()].join(",");
}

/** A selector from the CLI's `--hosts` and `--exclude`, with the `Target` to send. */
export interface HostArgs {
  /** Omitted: every host. */
  hosts?: string;
  exclude?: string;
}

/**
 * `--hosts SEL --exclude SEL` as one selector: `source` is `hosts` (or `*`),
 * `explicit()` lists the named hosts minus the excluded ones (null when
 * `hosts` has a glob), and `target` is the wire form.
 */
export function selectorFromArgs(args: HostArgs): Selector & { readonly target: Target } {
  const include = parseHostSelector(args.hosts ?? "*");
  const exclude = args.exclude === undefined ? undefined : parseHostSelector(args.exclude);
  const target: Target = {};
  if (args.hosts !== undefined) target.hosts = args.hosts;
  if (args.exclude !== undefined) target.exclude = args.exclude;
  return {
    source: include.source,
    target,
    matches: (host) => include.matches(host) && !exclude?.matches(host),
    explicit: () => {
      const named = include.explicit();
      return named && exclude ? named.filter((h) => !exclude.matches(h)) : named;
    },
  };
}

// ---------------------------------------------------------------- targets

/** Parsed selectors and label globs by source string, bounded in entries and in weight. */
const CACHE_ENTRIES = 64;
const CACHE_WEIGHT = 2_000_000;

interface CacheEntry {
  value: HostSelector | Glob | TuttiError;
  weight: number;
}

const cache = new Map<string, CacheEntry>();
let cacheWeight = 0;

function cached<T extends HostSelector | Glob>(key: string, make: () => T): T {
  let entry = cache.get(key);
  if (entry) {
    cache.delete(key); // re-inserted below: Map order is the LRU order
  } else {
    let value: HostSelector | Glob | TuttiError;
    try {
      value = make();
    } catch (e) {
      if (!(e instanceof TuttiError)) throw e;
      value = e; // a bad target is usually broadcast again: remember the verdict too
    }
    const weight = Math.ceil(key.length / 16) + (value instanceof TuttiError ? 1 : value.weight);
    entry = { value, weight };
    cacheWeight += weight;
  }
  cache.set(key, entry);
  for (const [k, e] of cache) {
    if (cache.size <= CACHE_ENTRIES && cacheWeight <= CACHE_WEIGHT) break;
    if (k === key) continue; // never evict what is being answered
    cache.delete(k);
    cacheWeight -= e.weight;
  }
  if (entry.value instanceof TuttiError) throw entry.value;
  return entry.value as T;
}

/** Entries and weight of the `matchTarget` cache (for tests and diagnostics). */
export function targetCacheStats(): { entries: number; weight: number } {
  return { entries: cache.size, weight: cacheWeight };
}

function labelGlob(key: string, value: string): Glob {
  return cached(`w\0${key}\0${value}`, () => {
    // Errors quote `key=value`, columns counting from the key.
    const src = { text: `${key}=${value}`, what: "label condition" };
    return compileGlob(src, value, key.length + 1, "label");
  });
}

/**
 * Whether an agent named `host` with `labels` is in `target`: every present
 * part must match (`hosts` selects it, `exclude` does not, each `where` label
 * exists and matches its glob). An absent target matches every host. Throws
 * `EBADSEL` when any part does not parse, whether or not it would decide.
 * Parsed parts are kept in a small bounded cache: agents call this on every
 * broadcast.
 */
export function matchTarget(
  target: Target | undefined,
  host: string,
  labels: Record<string, string>,
): boolean {
  if (!target) return true;
  const hosts = target.hosts === undefined
    ? undefined
    : cached(`h\0${target.hosts}`, () => parseHostSelector(target.hosts!));
  const exclude = target.exclude === undefined
    ? undefined
    : cached(`h\0${target.exclude}`, () => parseHostSelector(target.exclude!));
  const where = Object.entries(target.where ?? {}).map(([k, v]) => [k, labelGlob(k, v)] as const);
  if (hosts && !hosts.matches(host)) return false;
  if (exclude?.matches(host)) return false;
  return where.every(([k, glob]) => Object.hasOwn(labels, k) && glob.test(labels[k]));
}

// ---------------------------------------------------------------- host files

/**
 * Hosts of a host file: one per line, `#` starts a comment, blank lines are
 * skipped, duplicates are dropped keeping the first (OAR node files list a
 * host once per core). A fully qualified name counts as its first label
 * (`gros-12.nancy.grid5000.fr` → `gros-12`), as agents are named by the short
 * host name. A line that is not a host name is an `EBADSEL` naming its number.
 */
export function parseHostFile(text: string, name = "host file"): string[] {
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const hash = lines[n].indexOf("#");
    const line = (hash < 0 ? lines[n] : lines[n].slice(0, hash)).trim();
    if (line === "") continue;
    const host = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(line) ? line.split(".")[0] : line;
    if (!isToken(host)) {
      throw new TuttiError(
        "EBADSEL",
        `${name} line ${n + 1}: ${JSON.stringify(line)} is not a host name ` +
          `(1-128 characters from A-Z a-z 0-9 _ -, optionally followed by a domain)`,
      );
    }
    seen.add(host);
  }
  return [...seen];
}

/**
 * Replaces each `@FILE` element of a selector by the folded hosts of that
 * file, read with `readFile` (the controller passes `Deno.readTextFileSync`):
 * `@nodes.txt,extra-1` → `g5k-[1-4],extra-1`. Other elements are kept as
 * they are. A file that cannot be read or lists no host is an `EBADSEL`.
 */
export function resolveHostFiles(expr: string, readFile: (path: string) => string): string {
  if (!expr.includes("@")) return expr;
  const src: Source = { text: expr, what: "selector" };
  return splitElements(src).map((el) => {
    if (!el.text.startsWith("@")) return el.text;
    const path = el.text.slice(1);
    if (path === "") {
      throw new TuttiError(
        "EBADSEL",
        `bad selector ${JSON.stringify(expr)}: "@" needs a file name`,
      );
    }
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      throw new TuttiError(
        "EBADSEL",
        `host file ${JSON.stringify(path)} cannot be read: ${e instanceof Error ? e.message : e}`,
      );
    }
    const hosts = parseHostFile(text, `host file ${JSON.stringify(path)}`);
    if (hosts.length === 0) {
      throw new TuttiError("EBADSEL", `host file ${JSON.stringify(path)} lists no hosts`);
    }
    return fold(hosts);
  }).join(",");
}
