// Selectors (node sets and globs), targets with labels, host files, and the bounded cache.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { TuttiError } from "../../protocol/errors.ts";
import type { Target } from "../../protocol/messages.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import {
  fold,
  matchTarget,
  parseHostFile,
  parseSelector,
  resolveHostFiles,
  selectorFromArgs,
  targetCacheStats,
} from "../../protocol/selector.ts";

function errorOf(fn: () => unknown): TuttiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TuttiError) return e;
    throw e;
  }
  throw new Error("expected a TuttiError, nothing was thrown");
}

// ---------------------------------------------------------------- matches

/** Selector, host, selected? */
const MATCHES: [string, string, boolean][] = [
  // node sets
  ["g5k-[1-100,120]", "g5k-1", true],
  ["g5k-[1-100,120]", "g5k-100", true],
  ["g5k-[1-100,120]", "g5k-120", true],
  ["g5k-[1-100,120]", "g5k-101", false],
  ["g5k-[1-100,120]", "g5k-01", false],
  ["node[001-064]", "node001", true],
  ["node[001-064]", "node1", false],
  ["node[001-064]", "node065", false],
  ["n[1-10/2]", "n9", true],
  ["n[1-10/2]", "n10", false],
  ["rack[1-2]-n[1-8]", "rack2-n8", true],
  ["rack[1-2]-n[1-8]", "rack3-n8", false],
  ["frontend", "frontend", true],
  ["frontend", "frontend2", false],
  ["a,b[1-3]", "b2", true],
  ["a,b[1-3]", "a", true],
  ["a,b[1-3]", "c", false],
  ["n[1-1000000]", "n777777", true],
  // globs
  ["*", "anything", true],
  ["*", "g5k-1", true],
  ["g5k-*", "g5k-1", true],
  ["g5k-*", "g5k-", true],
  ["g5k-*", "g5k", false],
  ["g5k-*", "xg5k-1", false],
  ["*-ipmi", "n1-ipmi", true],
  ["*-ipmi", "n1-ipmi2", false],
  ["*5k*", "g5k-12", true],
  ["g?k-1", "g5k-1", true],
  ["g?k-1", "g55k-1", false],
  ["web-?", "web-a", true],
  ["web-?", "web-", false],
  ["web-??", "web-ab", true],
  ["web-[ab]", "web-a", true],
  ["web-[ab]", "web-b", true],
  ["web-[ab]", "web-c", false],
  ["web-[ab]", "web-ab", false],
  ["web-[a-c]", "web-c", true],
  ["web-[a-c]", "web-d", false],
  ["web-[!a]", "web-b", true],
  ["web-[!a]", "web-a", false],
  ["web-[^a]", "web-a", false],
  ["web-[^a]", "web-1", true],
  ["web-[a,b]", "web-b", true],
  ["web-[a-z0-9]", "web-7", true],
  ["web-[_-]", "web--", true],
  ["web-[_-]", "web-_", true],
  ["web-[-a]", "web--", true],
  // numeric brackets inside globs are ranges, not classes
  ["web-*-[1-12]", "web-a-12", true],
  ["web-*-[1-12]", "web-a-13", false],
  ["web-*-[1-12]", "web-a-012", false],
  ["n*[01-10]", "nx07", true],
  ["n*[01-10]", "nx7", false],
  ["n*[01-10]", "n107", true], // `*` takes "1"
  ["n[1-3]*", "n12", true],
  ["n[1-3]*", "n4", false],
  ["*[100-200]", "n150", true],
  ["*[100-200]", "n250", false],
  ["[1-3]?", "1a", true],
  // mixed lists
  ["g5k-[1-3],web-*", "g5k-2", true],
  ["g5k-[1-3],web-*", "web-front", true],
  ["g5k-[1-3],web-*", "g5k-4", false],
  // not a host name: never selected
  ["*", "a.b", false],
  ["*", "", false],
  ["*", "x".repeat(129), false],
];

for (const [expr, host, want] of MATCHES) {
  Deno.test(`selector ${expr} ${want ? "matches" : "does not match"} ${JSON.stringify(host)}`, () => {
    strictEqual(parseSelector(expr).matches(host), want);
  });
}

// ---------------------------------------------------------------- explicit lists

const EXPLICIT: [string, string[] | null][] = [
  ["n[1-3]", ["n1", "n2", "n3"]],
  ["n[3,1]", ["n1", "n3"]],
  ["n[1-2],m", ["m", "n1", "n2"]],
  ["n1,n1", ["n1"]],
  ["node[01-02],node[1-2]", ["node1", "node2", "node01", "node02"]],
  ["rack[1-2]-n1", ["rack1-n1", "rack2-n1"]],
  ["n[1-3],web-*", null],
  ["web-?", null],
  ["web-[ab]", null],
  ["*", null],
];

for (const [expr, want] of EXPLICIT) {
  Deno.test(`explicit ${expr}`, () => {
    const sel = parseSelector(expr);
    deepStrictEqual(sel.explicit(), want);
    strictEqual(sel.source, expr);
    if (want) { for (const h of want) strictEqual(sel.matches(h), true); }
  });
}

Deno.test("nodeSet() holds the node-set elements even next to globs", () => {
  strictEqual(parseSelector("n[1-3],web-*").nodeSet().toString(), "n[1-3]");
  strictEqual(parseSelector("web-*").nodeSet().size, 0);
});

// ---------------------------------------------------------------- errors

const ERRORS: [string, string][] = [
  ["", `bad selector "": empty selector`],
  [" ", `bad selector " ": empty selector`],
  ["g5k-[1-", `bad selector "g5k-[1-": unclosed "[" at column 5`],
  ["web-[ab", `bad selector "web-[ab": unclosed "[" at column 5`],
  ["web-*]", `bad selector "web-*]": "]" without "[" at column 6`],
  ["n[1-3],,m", `bad selector "n[1-3],,m": nothing before "," at column 8`],
  ["n[1-3],", `bad selector "n[1-3],": nothing after "," at column 7`],
  ["n[5-1]", `bad selector "n[5-1]": reversed range "5-1" at column 3`],
  ["web-*,n[5-1]", `bad selector "web-*,n[5-1]": reversed range "5-1" at column 9`],
  ["web-*-[5-1]", `bad selector "web-*-[5-1]": reversed range "5-1" at column 8`],
  [
    "n[01-100]",
    `bad selector "n[01-100]": padding mismatch in "01-100": zero-padded bounds need the same width at column 3`,
  ],
  ["web-[]", `bad selector "web-[]": empty range "[]" at column 5`],
  ["web-*[]", `bad selector "web-*[]": empty brackets "[]" at column 6`],
  ["web-[!]", `bad selector "web-[!]": empty character class at column 5`],
  ["web-[z-a]", `bad selector "web-[z-a]": reversed class range "z-a" at column 6`],
  ["web-[a.]", `bad selector "web-[a.]": "." is not allowed in a character class at column 7`],
  ["web-[a-.]", `bad selector "web-[a-.]": "." is not allowed in a character class at column 8`],
  ["web-*.lan", `bad selector "web-*.lan": "." is not allowed in a host pattern at column 6`],
  ["a.b", `bad selector "a.b": "." is not allowed in a host name at column 2`],
  [
    "n[1-999999999]",
    `bad selector "n[1-999999999]": 999999999 names, more than the limit of 1000000`,
  ],
  [
    "n[1-600000],m[1-600000],x*",
    `bad selector "n[1-600000],m[1-600000],x*": 1200000 names, more than the limit of 1000000`,
  ],
  [
    "@nodes.txt",
    `bad selector "@nodes.txt": host file "@nodes.txt" must be read by the controller, it cannot be matched by agents`,
  ],
];

for (const [expr, message] of ERRORS) {
  Deno.test(`selector error ${JSON.stringify(expr)}`, () => {
    const e = errorOf(() => parseSelector(expr));
    strictEqual(e.code, "EBADSEL");
    strictEqual(e.message, message);
  });
}

// ---------------------------------------------------------------- targets

const LABELS = { cluster: "gros", site: "nancy", rack: "12", gpu: "", arch: "x86_64" };

/** Target, host, selected? (labels are LABELS) */
const TARGETS: [Target | undefined, string, boolean][] = [
  [undefined, "g5k-1", true],
  [{}, "g5k-1", true],
  [{ hosts: "g5k-[1-4]" }, "g5k-3", true],
  [{ hosts: "g5k-[1-4]" }, "g5k-5", false],
  [{ hosts: "g5k-*" }, "g5k-5", true],
  [{ exclude: "g5k-3" }, "g5k-3", false],
  [{ exclude: "g5k-3" }, "g5k-4", true],
  [{ hosts: "g5k-[1-4]", exclude: "g5k-3" }, "g5k-3", false],
  [{ hosts: "g5k-[1-4]", exclude: "g5k-3" }, "g5k-2", true],
  [{ hosts: "g5k-*", exclude: "g5k-[1-2]" }, "g5k-2", false],
  [{ hosts: "g5k-*", exclude: "g5k-[1-2]" }, "g5k-20", true],
  [{ hosts: "*", exclude: "*" }, "g5k-1", false],
  [{ where: { cluster: "gros" } }, "g5k-1", true],
  [{ where: { cluster: "grimoire" } }, "g5k-1", false],
  [{ where: { cluster: "gr*" } }, "g5k-1", true],
  [{ where: { cluster: "g?os" } }, "g5k-1", true],
  [{ where: { cluster: "[fg]ros" } }, "g5k-1", true],
  [{ where: { cluster: "[!g]ros" } }, "g5k-1", false],
  [{ where: { cluster: "*" } }, "g5k-1", true],
  [{ where: { cluster: "" } }, "g5k-1", false],
  [{ where: { gpu: "" } }, "g5k-1", true],
  [{ where: { gpu: "*" } }, "g5k-1", true],
  [{ where: { missing: "*" } }, "g5k-1", false],
  [{ where: { missing: "" } }, "g5k-1", false],
  [{ where: { rack: "[10-15]" } }, "g5k-1", true],
  [{ where: { rack: "[1-9]" } }, "g5k-1", false],
  [{ where: { rack: "1?" } }, "g5k-1", true],
  [{ where: { arch: "x86_64" } }, "g5k-1", true],
  [{ where: { arch: "x86_*" } }, "g5k-1", true],
  [{ where: { cluster: "gros", site: "nancy" } }, "g5k-1", true],
  [{ where: { cluster: "gros", site: "lyon" } }, "g5k-1", false],
  [{ hosts: "g5k-*", where: { cluster: "gros" } }, "g5k-1", true],
  [{ hosts: "g5k-*", where: { cluster: "gros" } }, "web-1", false],
  [{ hosts: "g5k-[1-2]", exclude: "g5k-2", where: { site: "n*" } }, "g5k-1", true],
  [{ where: { constructor: "*" } }, "g5k-1", false],
  [{ where: { toString: "*" } }, "g5k-1", false],
];

for (const [target, host, want] of TARGETS) {
  Deno.test(`matchTarget ${JSON.stringify(target)} ${host} → ${want}`, () => {
    strictEqual(matchTarget(target, host, LABELS), want);
    // Cached the second time: same answer.
    strictEqual(matchTarget(target, host, LABELS), want);
  });
}

Deno.test("matchTarget: label values with glob characters can be escaped", () => {
  const labels = { note: "a*b", q: "why?", br: "[x]" };
  strictEqual(matchTarget({ where: { note: "a\\*b" } }, "h", labels), true);
  strictEqual(matchTarget({ where: { note: "a\\*b" } }, "h", { note: "axb" }), false);
  strictEqual(matchTarget({ where: { q: "why\\?" } }, "h", labels), true);
  strictEqual(matchTarget({ where: { br: "\\[x]" } }, "h", labels), true);
  strictEqual(matchTarget({ where: { note: "a.b" } }, "h", { note: "a.b" }), true);
  strictEqual(matchTarget({ where: { note: "a.b" } }, "h", { note: "axb" }), false);
});

const BAD_TARGETS: [Target, string][] = [
  [{ hosts: "" }, `bad selector "": empty selector`],
  [{ hosts: "g5k-[1-" }, `bad selector "g5k-[1-": unclosed "[" at column 5`],
  [{ exclude: "n[3-1]" }, `bad selector "n[3-1]": reversed range "3-1" at column 3`],
  // Every part is checked, even when an earlier one already decides.
  [
    { hosts: "nomatch", exclude: "n[3-1]" },
    `bad selector "n[3-1]": reversed range "3-1" at column 3`,
  ],
  [
    { hosts: "nomatch", where: { cluster: "[" } },
    `bad label condition "cluster=[": unclosed "[" at column 9`,
  ],
  [
    { where: { cluster: "gr[z-a]" } },
    `bad label condition "cluster=gr[z-a]": reversed class range "z-a" at column 12`,
  ],
  [
    { where: { cluster: "a\\" } },
    `bad label condition "cluster=a\\\\": "\\" at the end escapes nothing at column 10`,
  ],
  [
    { where: { rack: "[5-1]" } },
    `bad label condition "rack=[5-1]": reversed range "5-1" at column 7`,
  ],
  [{ hosts: "@file" }, "must be read by the controller"],
];

for (const [target, message] of BAD_TARGETS) {
  Deno.test(`matchTarget throws EBADSEL for ${JSON.stringify(target)}`, () => {
    for (let i = 0; i < 2; i++) { // the second time from the cache
      const e = errorOf(() => matchTarget(target, "g5k-1", LABELS));
      strictEqual(e.code, "EBADSEL");
      strictEqual(e.message.includes(message), true, `${e.message} lacks ${message}`);
    }
  });
}

Deno.test("matchTarget's cache stays bounded in entries and weight", () => {
  for (let i = 0; i < 1000; i++) {
    strictEqual(matchTarget({ hosts: `n[1-${i + 1}]` }, "n1", {}), true);
    strictEqual(matchTarget({ where: { k: `v${i}*` } }, "n1", { k: `v${i}` }), true);
  }
  const { entries, weight } = targetCacheStats();
  strictEqual(entries <= 64, true, `${entries} entries`);
  strictEqual(weight <= 2_000_000, true, `weight ${weight}`);
  // Heavy selectors (a step range holds one interval per index) evict others
  // to stay under the weight budget.
  for (let i = 0; i < 3; i++) {
    strictEqual(matchTarget({ hosts: `n[1-${1_999_999 - 2 * i}/2]` }, "n3", {}), true);
    const stats = targetCacheStats();
    strictEqual(stats.weight <= 2_000_000, true, `weight ${stats.weight} after ${i}`);
  }
});

// ---------------------------------------------------------------- selectorFromArgs

Deno.test("selectorFromArgs: hosts minus exclude, with the wire target", () => {
  const s = selectorFromArgs({ hosts: "g5k-[1-5]", exclude: "g5k-[2,4]" });
  deepStrictEqual(s.explicit(), ["g5k-1", "g5k-3", "g5k-5"]);
  strictEqual(s.matches("g5k-2"), false);
  strictEqual(s.matches("g5k-3"), true);
  strictEqual(s.source, "g5k-[1-5]");
  deepStrictEqual(s.target, { hosts: "g5k-[1-5]", exclude: "g5k-[2,4]" });

  const globbed = selectorFromArgs({ hosts: "g5k-[1-5]", exclude: "g5k-*" });
  deepStrictEqual(globbed.explicit(), []);

  const all = selectorFromArgs({});
  strictEqual(all.explicit(), null);
  strictEqual(all.matches("anything"), true);
  deepStrictEqual(all.target, {});

  const allBut = selectorFromArgs({ exclude: "web-*" });
  strictEqual(allBut.matches("web-1"), false);
  strictEqual(allBut.matches("db-1"), true);
  deepStrictEqual(allBut.target, { exclude: "web-*" });

  strictEqual(errorOf(() => selectorFromArgs({ hosts: "" })).code, "EBADSEL");
  strictEqual(errorOf(() => selectorFromArgs({ hosts: "a", exclude: "" })).code, "EBADSEL");
});

// ---------------------------------------------------------------- fold

const FOLDS: [string[], string][] = [
  [[], ""],
  [["g5k-7", "g5k-1", "g5k-2", "g5k-3"], "g5k-[1-3,7]"],
  [["node001", "node002", "node003"], "node[001-003]"],
  [["g5k-17", "g5k-42"], "g5k-[17,42]"],
  [["g5k-88"], "g5k-88"],
  [["a", "a", "a"], "a"],
  [["n1", "x.y", "n2", "a b", "x.y"], "n[1-2],a b,x.y"],
  [["weird!"], "weird!"],
];

for (const [hosts, want] of FOLDS) {
  Deno.test(`fold ${JSON.stringify(hosts)}`, () => strictEqual(fold(hosts), want));
}

// ---------------------------------------------------------------- host files

Deno.test("parseHostFile: one host per line, comments, blanks, duplicates, domains", () => {
  const oar = "g5k-1.nancy.grid5000.fr\n".repeat(4) + "g5k-2.nancy.grid5000.fr\n".repeat(4);
  deepStrictEqual(parseHostFile(oar), ["g5k-1", "g5k-2"]);
  deepStrictEqual(parseHostFile("# nodes\n\nb\n  a  \r\nb # again\n\t\nc\n"), ["b", "a", "c"]);
  deepStrictEqual(parseHostFile(""), []);
  deepStrictEqual(parseHostFile("# only comments\n\n"), []);
  deepStrictEqual(parseHostFile("host.example.org."), ["host"]);
  deepStrictEqual(parseHostFile("n10\nn9\nn10"), ["n10", "n9"]);
});

const BAD_FILES: [string, string][] = [
  ["a\nb c\n", `host file line 2: "b c" is not a host name`],
  ["a\n\n# x\nn[1-3]\n", `host file line 4: "n[1-3]" is not a host name`],
  ["x..y", `host file line 1: "x..y" is not a host name`],
  [".x", `host file line 1: ".x" is not a host name`],
  ["a@b", `host file line 1: "a@b" is not a host name`],
  ["x".repeat(129), `host file line 1: "${"x".repeat(129)}" is not a host name`],
];

for (const [text, message] of BAD_FILES) {
  Deno.test(`parseHostFile rejects ${JSON.stringify(text.slice(0, 20))}`, () => {
    const e = errorOf(() => parseHostFile(text));
    strictEqual(e.code, "EBADSEL");
    strictEqual(e.message.startsWith(message), true, e.message);
  });
}

Deno.test("resolveHostFiles replaces @FILE elements by their folded hosts", () => {
  const files: Record<string, string> = {
    "nodes.txt": "g5k-3\ng5k-1\ng5k-2\ng5k-1\n",
    "empty.txt": "# nothing\n",
    "bad.txt": "ok\nnot ok\n",
  };
  const read = (path: string) => {
    if (!(path in files)) throw new Error(`no such file: ${path}`);
    return files[path];
  };
  strictEqual(resolveHostFiles("@nodes.txt", read), "g5k-[1-3]");
  strictEqual(resolveHostFiles("@nodes.txt,extra-1", read), "g5k-[1-3],extra-1");
  strictEqual(resolveHostFiles("web-*, @nodes.txt", read), "web-*,g5k-[1-3]");
  strictEqual(resolveHostFiles("n[1-3]", read), "n[1-3]");
  strictEqual(parseSelector(resolveHostFiles("@nodes.txt,web-*", read)).matches("g5k-2"), true);

  const cases: [string, string][] = [
    ["@missing.txt", `host file "missing.txt" cannot be read: no such file: missing.txt`],
    ["@empty.txt", `host file "empty.txt" lists no hosts`],
    ["@bad.txt", `host file "bad.txt" line 2: "not ok" is not a host name`],
    ["a,@", `bad selector "a,@": "@" needs a file name`],
  ];
  for (const [expr, message] of cases) {
    const e = errorOf(() => resolveHostFiles(expr, read));
    strictEqual(e.code, "EBADSEL");
    strictEqual(e.message.startsWith(message), true, e.message);
  }
});

// ---------------------------------------------------------------- properties

function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("property: globs agree with an equivalent regular expression", () => {
  const rand = prng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const atoms: [string, string][] = [
    ["*", ".*"],
    ["?", "."],
    ["a", "a"],
    ["b", "b"],
    ["-", "-"],
    ["[ab]", "[ab]"],
    ["[!a]", "[^a]"],
    ["[a-c]", "[a-c]"],
    ["[x_]", "[x_]"],
  ];
  const alphabet = ["a", "b", "c", "-", "x", "_"];
  for (let round = 0; round < 500; round++) {
    const parts = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(atoms));
    const glob = parts.map((p) => p[0]).join("");
    const re = new RegExp(`^(?:${parts.map((p) => p[1]).join("")})$`);
    const sel = parseSelector(glob);
    for (let k = 0; k < 20; k++) {
      const host = Array.from({ length: 1 + Math.floor(rand() * 7) }, () => pick(alphabet)).join(
        "",
      );
      strictEqual(sel.matches(host), re.test(host), `${glob} vs ${host}`);
    }
  }
});

Deno.test("property: a folded list selects exactly its hosts", () => {
  const rand = prng(3);
  for (let round = 0; round < 200; round++) {
    const hosts = Array.from(
      { length: 1 + Math.floor(rand() * 40) },
      () =>
        `${rand() < 0.5 ? "n" : "rack" + Math.floor(rand() * 4) + "-n"}${Math.floor(rand() * 30)}`,
    );
    const sel = parseSelector(fold(hosts));
    deepStrictEqual(sel.explicit(), [...new Set(hosts)].sort(compareHosts));
    for (let k = 0; k < 30; k++) {
      const probe = `n${Math.floor(rand() * 40)}`;
      strictEqual(sel.matches(probe), hosts.includes(probe), probe);
    }
  }
});
