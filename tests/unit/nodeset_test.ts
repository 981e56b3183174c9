// Node sets and range sets, case by case (after ClusterShell's NodeSetTest/RangeSetTest),
// then property checks on random host lists.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { TuttiError } from "../../protocol/errors.ts";
import { compareHosts, MAX_NAMES, NodeSet, shapeOf } from "../../protocol/nodeset.ts";
import { parseRanges, RangeSet } from "../../protocol/rangeset.ts";

const seq = (prefix: string, from: number, to: number, pad = 0, suffix = "") =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => prefix + String(from + i).padStart(pad, "0") + suffix,
  );

/** The TuttiError that `fn` throws (fails if it returns or throws something else). */
function errorOf(fn: () => unknown): TuttiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TuttiError) return e;
    throw e;
  }
  throw new Error("expected a TuttiError, nothing was thrown");
}

/** Asserts that `fn` throws EBADSEL with a message containing `fragment`. */
function assertBadSel(fn: () => unknown, fragment: string) {
  const e = errorOf(fn);
  strictEqual(e.code, "EBADSEL");
  strictEqual(
    e.message.includes(fragment),
    true,
    `${JSON.stringify(e.message)} lacks ${JSON.stringify(fragment)}`,
  );
}

// ---------------------------------------------------------------- expand

const EXPAND: [string, string[]][] = [
  ["n1", ["n1"]],
  ["frontend", ["frontend"]],
  ["n[1]", ["n1"]],
  ["n[1-3]", ["n1", "n2", "n3"]],
  ["n[0-3]", ["n0", "n1", "n2", "n3"]],
  ["n[3,1,2]", ["n1", "n2", "n3"]],
  ["n[1-3,2-4]", ["n1", "n2", "n3", "n4"]],
  ["n[1-3,7]", ["n1", "n2", "n3", "n7"]],
  ["g5k-[1-3,7]", ["g5k-1", "g5k-2", "g5k-3", "g5k-7"]],
  ["n[8-11]", ["n8", "n9", "n10", "n11"]],
  ["n[98-101]", ["n98", "n99", "n100", "n101"]],
  ["n[9,10,100]", ["n9", "n10", "n100"]],
  ["n[01-03]", ["n01", "n02", "n03"]],
  ["n[001-003]", ["n001", "n002", "n003"]],
  ["n[08-11]", ["n08", "n09", "n10", "n11"]],
  ["n[098-101]", ["n098", "n099", "n100", "n101"]],
  ["n[00-02]", ["n00", "n01", "n02"]],
  ["n[0-2]", ["n0", "n1", "n2"]],
  ["n[000]", ["n000"]],
  ["n007", ["n007"]],
  ["n[1-3],n[01-03]", ["n1", "n2", "n3", "n01", "n02", "n03"]],
  ["n[1-10],n[01-10]", [...seq("n", 1, 9), ...seq("n", 1, 10, 2)]],
  ["n[01,001,1]", ["n1", "n01", "n001"]],
  ["n[1-10/2]", ["n1", "n3", "n5", "n7", "n9"]],
  ["n[1-10/3]", ["n1", "n4", "n7", "n10"]],
  ["n[0-20/5]", ["n0", "n5", "n10", "n15", "n20"]],
  ["n[1-1/4]", ["n1"]],
  ["n[1-3/1]", ["n1", "n2", "n3"]],
  ["n[01-10/3]", ["n01", "n04", "n07", "n10"]],
  ["n[1-9/4,2]", ["n1", "n2", "n5", "n9"]],
  ["n[1-5/2,2-6/2]", ["n1", "n2", "n3", "n4", "n5", "n6"]],
  ["rack[1-2]-n[1-2]", ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]],
  ["r[1-2]c[1-2]n[1-2]", [
    "r1c1n1",
    "r1c1n2",
    "r1c2n1",
    "r1c2n2",
    "r2c1n1",
    "r2c1n2",
    "r2c2n1",
    "r2c2n2",
  ]],
  ["x[1-2]-ipmi", ["x1-ipmi", "x2-ipmi"]],
  ["cluster[50-52]-ipmi", ["cluster50-ipmi", "cluster51-ipmi", "cluster52-ipmi"]],
  ["[1-3]", ["1", "2", "3"]],
  ["[1-2]abc", ["1abc", "2abc"]],
  ["a,b[1-3]", ["a", "b1", "b2", "b3"]],
  ["b[1-3],a", ["a", "b1", "b2", "b3"]],
  ["a,a,a", ["a"]],
  ["n1,n1,n[1-1]", ["n1"]],
  ["n10,n9,n1", ["n1", "n9", "n10"]],
  ["b,a-1,a", ["a", "a-1", "b"]],
  ["n_1,n-1", ["n-1", "n_1"]],
  ["A1,a1", ["A1", "a1"]],
  [" a , b ", ["a", "b"]],
  ["a,\tb", ["a", "b"]],
  // Digits glued to a bracket belong to its number.
  ["n1[0-3]", ["n10", "n11", "n12", "n13"]],
  ["n0[1-3]", ["n01", "n02", "n03"]],
  ["n[1-3]0", ["n10", "n20", "n30"]],
  ["n1[0-1]1", ["n101", "n111"]],
  ["node0[0]", ["node00"]],
  ["node1[0]", ["node10"]],
  ["node01[0-1]", ["node010", "node011"]],
  ["prod-100[040-042]", ["prod-100040", "prod-100041", "prod-100042"]],
  ["node-1[0-48/16]", ["node-10", "node-116", "node-132", "node-148"]],
  ["node-1[00-48/16]", ["node-100", "node-116", "node-132", "node-148"]],
  ["nova[1-4]56", ["nova156", "nova256", "nova356", "nova456"]],
  ["0[3-9/2]abc", ["03abc", "05abc", "07abc", "09abc"]],
  ["x22[0-1]y000z03[0-1]", ["x220y000z030", "x220y000z031", "x221y000z030", "x221y000z031"]],
  // A digit run longer than 15 characters is text, not a number.
  ["n1234567890123456", ["n1234567890123456"]],
  ["n[1-2]-1234567890123456", ["n1-1234567890123456", "n2-1234567890123456"]],
  ["n[999999999999998-999999999999999]", ["n999999999999998", "n999999999999999"]],
];

for (const [expr, want] of EXPAND) {
  Deno.test(`expand ${expr}`, () => {
    const set = NodeSet.parse(expr);
    deepStrictEqual(set.expand(), want);
    strictEqual(set.size, want.length);
    deepStrictEqual([...set], want);
    for (const name of want) strictEqual(set.has(name), true, name);
  });
}

Deno.test("expand of large ranges keeps order and padding", () => {
  deepStrictEqual(NodeSet.parse("n[1-500]").expand(), seq("n", 1, 500));
  deepStrictEqual(NodeSet.parse("node[0001-0100]").expand(), seq("node", 1, 100, 4));
  deepStrictEqual(NodeSet.parse("node[0034-8127]").expand(), seq("node", 34, 8127, 4));
  deepStrictEqual(NodeSet.parse("c[0001,0002,1555-1559]-ipmi").expand(), [
    ...seq("c", 1, 2, 4, "-ipmi"),
    ...seq("c", 1555, 1559, 4, "-ipmi"),
  ]);
  const big = NodeSet.parse("big[1-1000000]");
  strictEqual(big.size, 1_000_000);
  strictEqual(big.has("big1000000"), true);
  strictEqual(big.has("big1000001"), false);
  const names = big.expand();
  strictEqual(names.length, 1_000_000);
  strictEqual(names[0], "big1");
  strictEqual(names[999_999], "big1000000");
});

// ---------------------------------------------------------------- fold

/** Expression → its folded form (the shortest ClusterShell form, without steps). */
const FOLD: [string, string][] = [
  ["n1", "n1"],
  ["frontend", "frontend"],
  ["n1,n2,n3", "n[1-3]"],
  ["n3,n2,n1", "n[1-3]"],
  ["n1,n2,n3,n7", "n[1-3,7]"],
  ["g5k-1,g5k-2,g5k-3,g5k-7", "g5k-[1-3,7]"],
  ["n[1-3],n[4-6]", "n[1-6]"],
  ["n[1-3],n[5-6]", "n[1-3,5-6]"],
  ["n9,n10", "n[9-10]"],
  ["n[1-100],n120", "n[1-100,120]"],
  ["n[99-101]", "n[99-101]"],
  ["n[1]", "n1"],
  ["n[1-1]", "n1"],
  ["n001,n002,n003", "n[001-003]"],
  ["node[001-064]", "node[001-064]"],
  ["n[08-11]", "n[08-11]"],
  ["n[098-101]", "n[098-101]"],
  ["n08,n09,n10", "n[08-10]"],
  ["n09,n10,n11", "n[09-11]"],
  ["n9,n10,n11", "n[9-11]"],
  ["n[01-10],n[1-10]", "n[1-9,01-10]"],
  ["n[1-3],n[01-03]", "n[1-3,01-03]"],
  ["n1,n01,n001", "n[1,01,001]"],
  ["n[0-10]", "n[0-10]"],
  ["n[00-10]", "n[00-10]"],
  ["n0,n00", "n[0,00]"],
  ["n[1-9],n[010-012]", "n[1-9,010-012]"],
  ["n[90-99],n[100-105]", "n[90-105]"],
  ["n[090-099],n[100-105]", "n[090-105]"],
  ["n[08-09],n[10-12],n[100-101]", "n[08-12,100-101]"],
  ["n[09-99],n100", "n[09-99,100]"],
  ["n[099-999],n1000", "n[099-999,1000]"],
  ["n[9-99],n100", "n[9-100]"],
  ["n[1-10/2]", "n[1,3,5,7,9]"],
  ["n[1-9/4,2]", "n[1-2,5,9]"],
  ["rack[1-2]-n[1-8]", "rack[1-2]-n[1-8]"],
  ["rack1-n[1-8],rack2-n[1-8]", "rack[1-2]-n[1-8]"],
  ["rack1-n[1-8],rack2-n[1-4]", "rack1-n[1-8],rack2-n[1-4]"],
  ["rack[1-3]-n[1-2],rack4-n[1-2]", "rack[1-4]-n[1-2]"],
  ["rack[1-2]-n[1-2],rack[1-2]-n[3-4]", "rack[1-2]-n[1-4]"],
  ["r[1-2]c[1-2]n[1-2]", "r[1-2]c[1-2]n[1-2]"],
  ["r1c1n1,r2c2n2", "r1c1n1,r2c2n2"],
  ["a[1-2]b[1-2],a3b1", "a[1-2]b[1-2],a3b1"],
  ["a,b,c", "a,b,c"],
  ["c,b,a", "a,b,c"],
  ["a,b[1-3]", "a,b[1-3]"],
  ["b[1-3],a", "a,b[1-3]"],
  ["n[1-3],m[1-3]", "m[1-3],n[1-3]"],
  ["n[1-2],n[1-2]-ipmi", "n[1-2],n[1-2]-ipmi"],
  ["n1-ipmi,n2-ipmi", "n[1-2]-ipmi"],
  ["n1,n2x", "n1,n2x"],
  ["g5k-1,g6k-1", "g[5-6]k-1"],
  ["g5k-1,g5k-2,g6k-1,g6k-2", "g[5-6]k-[1-2]"],
  ["[1-3]", "[1-3]"],
  ["1,2,3", "[1-3]"],
  ["0[3-9/2]abc", "[03,05,07,09]abc"],
  ["n1[0-5]", "n[10-15]"],
  ["node01[0-1]", "node[010-011]"],
  ["prod-02[10-20]", "prod-[0210-0220]"],
  // ClusterShell prints prod-[210-2320] here, which also names prod-300…prod-2099.
  ["prod-2[10-320]", "prod-[210-299,2100-2320]"],
  ["prod-000[1-9]", "prod-[0001-0009]"],
  ["prod-10[01,05,09-15,40-50,52]", "prod-[1001,1005,1009-1015,1040-1050,1052]"],
  ["prod-0[040-042],sysgrp-00[01-02]", "prod-[0040-0042],sysgrp-[0001-0002]"],
  ["x01[0-1]y01[0-1]z01[0-1]", "x[010-011]y[010-011]z[010-011]"],
  ["x22[0-1]0y03[0-1]0-ipmi", "x[2200,2210]y[0300,0310]-ipmi"],
  ["nova16[1-4]56c", "nova[16156,16256,16356,16456]c"],
  ["n1234567890123456,n1234567890123457", "n1234567890123456,n1234567890123457"],
];

for (const [expr, want] of FOLD) {
  Deno.test(`fold ${expr}`, () => {
    const set = NodeSet.parse(expr);
    strictEqual(set.toString(), want);
    strictEqual(String(set), want);
    strictEqual(NodeSet.fold(set.expand()), want);
    strictEqual(NodeSet.fold(set.expand().reverse()), want);
    // The folded form parses back to the same set.
    deepStrictEqual(NodeSet.parse(want).expand(), set.expand());
    strictEqual(NodeSet.parse(want).equals(set), true);
  });
}

Deno.test("fold of an empty list is the empty string", () => {
  strictEqual(NodeSet.fold([]), "");
  strictEqual(NodeSet.EMPTY.toString(), "");
  strictEqual(NodeSet.EMPTY.size, 0);
  strictEqual(NodeSet.EMPTY.isEmpty, true);
  deepStrictEqual(NodeSet.EMPTY.expand(), []);
});

Deno.test("fold rejects names that are not host names", () => {
  assertBadSel(() => NodeSet.fold(["a.b"]), `bad host name "a.b"`);
  assertBadSel(() => NodeSet.fold([""]), `bad host name ""`);
  assertBadSel(() => NodeSet.fold(["n[1]"]), `bad host name "n[1]"`);
  assertBadSel(() => NodeSet.fold(["x".repeat(129)]), "bad host name");
});

// ---------------------------------------------------------------- membership

const HAS: [string, string, boolean][] = [
  ["n[1-10]", "n1", true],
  ["n[1-10]", "n10", true],
  ["n[1-10]", "n11", false],
  ["n[1-10]", "n0", false],
  ["n[1-10]", "n01", false],
  ["n[1-10]", "n", false],
  ["n[1-10]", "m1", false],
  ["n[1-10]", "n1x", false],
  ["n[01-10]", "n01", true],
  ["n[01-10]", "n1", false],
  ["n[01-10]", "n10", true],
  ["n[001-010]", "n10", false],
  ["n[001-010]", "n010", true],
  ["n[0-10]", "n0", true],
  ["n[0-10]", "n00", false],
  ["n[1-10/3]", "n4", true],
  ["n[1-10/3]", "n5", false],
  ["rack[1-2]-n[1-8]", "rack2-n8", true],
  ["rack[1-2]-n[1-8]", "rack3-n1", false],
  ["rack[1-2]-n[1-8]", "rack1-n9", false],
  ["rack[1-2]-n[1-8]", "rack1-n", false],
  ["rack[1-2]-n[1-8]", "rack-n1", false],
  ["frontend,n[1-2]", "frontend", true],
  ["frontend,n[1-2]", "frontend1", false],
  ["n[1-999999]", "n999999", true],
  ["n[1-999999]", "n1000000", false],
  ["n1234567890123456", "n1234567890123456", true],
  ["n1234567890123456", "n1234567890123457", false],
  ["a", "a.b", false],
  ["a", "", false],
  ["n[1-2]", "n1\0", false],
];

for (const [expr, name, want] of HAS) {
  Deno.test(`has ${expr} ${JSON.stringify(name)} is ${want}`, () => {
    strictEqual(NodeSet.parse(expr).has(name), want);
  });
}

// ---------------------------------------------------------------- set operations

const OPS: [string, "union" | "intersection" | "difference", string, string][] = [
  ["n[1-5]", "union", "n[6-10]", "n[1-10]"],
  ["n[1-5]", "union", "n[3-8]", "n[1-8]"],
  ["n[1-5]", "union", "m[1-5]", "m[1-5],n[1-5]"],
  ["n[1-5]", "union", "n[01-05]", "n[1-5,01-05]"],
  ["a", "union", "b", "a,b"],
  ["rack1-n[1-4]", "union", "rack2-n[1-4]", "rack[1-2]-n[1-4]"],
  ["n[1-10]", "intersection", "n[5-15]", "n[5-10]"],
  ["n[1-10]", "intersection", "n[11-15]", ""],
  ["n[1-10]", "intersection", "n[01-10]", "n10"],
  ["n[1-10]", "intersection", "m[1-10]", ""],
  ["a,b,c", "intersection", "b,c,d", "b,c"],
  ["rack[1-2]-n[1-8]", "intersection", "rack2-n[4-12]", "rack2-n[4-8]"],
  ["n[1-10/2]", "intersection", "n[1-10/3]", "n[1,7]"],
  ["n[1-10]", "difference", "n[3-5]", "n[1-2,6-10]"],
  ["n[1-10]", "difference", "n[1-10]", ""],
  ["n[1-10]", "difference", "n[0-20]", ""],
  ["n[1-10]", "difference", "m[1-10]", "n[1-10]"],
  ["n[1-10]", "difference", "n[01-10]", "n[1-9]"],
  ["n[1-10]", "difference", "n[2-10/2]", "n[1,3,5,7,9]"],
  ["a,b,c", "difference", "b", "a,c"],
  ["rack[1-2]-n[1-8]", "difference", "rack1-n[1-8]", "rack2-n[1-8]"],
  ["rack[1-2]-n[1-8]", "difference", "rack[1-2]-n8", "rack[1-2]-n[1-7]"],
  ["rack[1-2]-n[1-8]", "difference", "rack1-n1", "rack1-n[2-8],rack2-n[1-8]"],
  ["g5k-[1-100]", "difference", "g5k-[17,42]", "g5k-[1-16,18-41,43-100]"],
  ["n[1-1000000]", "difference", "n[2-999999]", "n[1,1000000]"],
];

for (const [a, op, b, want] of OPS) {
  Deno.test(`${a} ${op} ${b}`, () => {
    const x = NodeSet.parse(a);
    const y = NodeSet.parse(b);
    const got = x[op](y);
    strictEqual(got.toString(), want);
    strictEqual(got.size, want === "" ? 0 : NodeSet.parse(want).size);
    // Operands are values: unchanged.
    strictEqual(x.toString(), NodeSet.parse(a).toString());
    strictEqual(y.toString(), NodeSet.parse(b).toString());
  });
}

// ---------------------------------------------------------------- errors

/** Bad expression → exact error message. */
const ERRORS: [string, string][] = [
  ["", `bad node set "": empty node set`],
  ["  ", `bad node set "  ": empty node set`],
  ["g5k-[1-", `bad node set "g5k-[1-": unclosed "[" at column 5`],
  ["n[1-3", `bad node set "n[1-3": unclosed "[" at column 2`],
  ["n[1-3],m[", `bad node set "n[1-3],m[": unclosed "[" at column 9`],
  ["nova[3-59/2,102", `bad node set "nova[3-59/2,102": unclosed "[" at column 5`],
  ["n]", `bad node set "n]": "]" without "[" at column 2`],
  ["n[1-4]]", `bad node set "n[1-4]]": "]" without "[" at column 7`],
  ["x[1-30]p4-9]", `bad node set "x[1-30]p4-9]": "]" without "[" at column 12`],
  ["xa[[zer[1-30]", `bad node set "xa[[zer[1-30]": "[" inside brackets at column 4`],
  ["n[]", `bad node set "n[]": empty range "[]" at column 2`],
  ["n[1-2],m[]", `bad node set "n[1-2],m[]": empty range "[]" at column 9`],
  ["n[a]", `bad node set "n[a]": "a" in a range at column 3`],
  ["n[1-a]", `bad node set "n[1-a]": "a" in a range at column 5`],
  ["n[1 - 3]", `bad node set "n[1 - 3]": " " in a range at column 4`],
  ["n[-]", `bad node set "n[-]": bad range "-" (expected N, N-M or N-M/STEP) at column 3`],
  ["n[-5]", `bad node set "n[-5]": bad range "-5" (expected N, N-M or N-M/STEP) at column 3`],
  ["n[5-]", `bad node set "n[5-]": bad range "5-" (expected N, N-M or N-M/STEP) at column 3`],
  [
    "n[1-2-3]",
    `bad node set "n[1-2-3]": bad range "1-2-3" (expected N, N-M or N-M/STEP) at column 3`,
  ],
  ["n[1,,2]", `bad node set "n[1,,2]": empty item in range "1,,2" at column 5`],
  ["n[1,]", `bad node set "n[1,]": empty item in range "1," at column 5`],
  ["n[,1]", `bad node set "n[,1]": empty item in range ",1" at column 3`],
  ["n[5-1]", `bad node set "n[5-1]": reversed range "5-1" at column 3`],
  ["n[1-3,10-9]", `bad node set "n[1-3,10-9]": reversed range "10-9" at column 7`],
  ["nova[004-002]", `bad node set "nova[004-002]": reversed range "004-002" at column 6`],
  ["n[4-3/2]", `bad node set "n[4-3/2]": reversed range "4-3" at column 3`],
  ["n[3/2]", `bad node set "n[3/2]": a step needs a range, as in "1-9/2", not "3/2" at column 3`],
  ["n[1-5/0]", `bad node set "n[1-5/0]": step must be 1 or more in "1-5/0" at column 7`],
  ["n[1-5/]", `bad node set "n[1-5/]": bad step "" in "1-5/" at column 7`],
  ["n[1-5/2/2]", `bad node set "n[1-5/2/2]": bad step "2/2" in "1-5/2/2" at column 7`],
  ["n[1-5/-2]", `bad node set "n[1-5/-2]": bad step "-2" in "1-5/-2" at column 7`],
  ["n[3-/2]", `bad node set "n[3-/2]": bad range "3-/2" (expected N, N-M or N-M/STEP) at column 3`],
  [
    "n[01-100]",
    `bad node set "n[01-100]": padding mismatch in "01-100": zero-padded bounds need the same width at column 3`,
  ],
  [
    "n[1-010]",
    `bad node set "n[1-010]": padding mismatch in "1-010": zero-padded bounds need the same width at column 3`,
  ],
  [
    "n[001-44]",
    `bad node set "n[001-44]": padding mismatch in "001-44": zero-padded bounds need the same width at column 3`,
  ],
  [
    "n[0-9,001-44]",
    `bad node set "n[0-9,001-44]": padding mismatch in "001-44": zero-padded bounds need the same width at column 7`,
  ],
  [
    "n[1-2][3-4]",
    `bad node set "n[1-2][3-4]": two ranges in one number (put a non-digit between them) at column 7`,
  ],
  [
    "n[1-4]0[3-4]",
    `bad node set "n[1-4]0[3-4]": two ranges in one number (put a non-digit between them) at column 8`,
  ],
  [
    "[1-30][4-9]p",
    `bad node set "[1-30][4-9]p": two ranges in one number (put a non-digit between them) at column 7`,
  ],
  ["a,,b", `bad node set "a,,b": nothing before "," at column 3`],
  [",a", `bad node set ",a": nothing before "," at column 1`],
  ["a,", `bad node set "a,": nothing after "," at column 2`],
  ["a, ,b", `bad node set "a, ,b": nothing before "," at column 4`],
  [",", `bad node set ",": nothing before "," at column 1`],
  [
    "n*",
    `bad node set "n*": "*" is not allowed in a host name (globs belong in selectors, not node sets) at column 2`,
  ],
  [
    "n?",
    `bad node set "n?": "?" is not allowed in a host name (globs belong in selectors, not node sets) at column 2`,
  ],
  ["a.b", `bad node set "a.b": "." is not allowed in a host name at column 2`],
  ["n[1-2],a b", `bad node set "n[1-2],a b": " " is not allowed in a host name at column 9`],
  ["@nodes", `bad node set "@nodes": "@" is not allowed in a host name at column 1`],
  ["n!", `bad node set "n!": "!" is not allowed in a host name at column 2`],
  ["nœud1", `bad node set "nœud1": "œ" is not allowed in a host name at column 2`],
  [
    "n[1-9999999999999999]",
    `bad node set "n[1-9999999999999999]": index "9999999999999999" has more than 15 digits at column 3`,
  ],
  ["n12[00000000000000-00000000000001]", "number longer than 15 digits at column 4"],
  [
    "n[1-999999999]",
    `bad node set "n[1-999999999]": 999999999 names, more than the limit of 1000000`,
  ],
  [
    "n[1-600000],m[1-600000]",
    `bad node set "n[1-600000],m[1-600000]": 1200000 names, more than the limit of 1000000`,
  ],
  [
    "r[1-2000]-n[1-2000]",
    `bad node set "r[1-2000]-n[1-2000]": 4000000 names, more than the limit of 1000000`,
  ],
  [
    "x".repeat(129),
    `bad node set "${"x".repeat(129)}": names longer than 128 characters at column 1`,
  ],
  ["a," + "x".repeat(126) + "[1-100]", "names longer than 128 characters at column 3"],
];

for (const [expr, message] of ERRORS) {
  const label = expr.length > 40 ? expr.slice(0, 40) + "…" : expr;
  Deno.test(`parse error ${JSON.stringify(label)}`, () => {
    const e = errorOf(() => NodeSet.parse(expr));
    strictEqual(e.code, "EBADSEL");
    // Whole messages where given; a fragment for the long ones.
    if (message.startsWith("bad ")) strictEqual(e.message, message);
    else strictEqual(e.message.includes(message), true, e.message);
  });
}

Deno.test("the name limit is exact and configurable", () => {
  strictEqual(NodeSet.parse(`n[1-${MAX_NAMES}]`).size, MAX_NAMES);
  assertBadSel(() => NodeSet.parse(`n[1-${MAX_NAMES + 1}]`), `${MAX_NAMES + 1} names`);
  strictEqual(NodeSet.parse("n[1-10]", { limit: 10 }).size, 10);
  assertBadSel(
    () => NodeSet.parse("n[1-10],m", { limit: 10 }),
    "11 names, more than the limit of 10",
  );
  // Steps count what they name, not the span.
  strictEqual(NodeSet.parse("n[1-1999999/2]").size, 1_000_000);
  // A 128-character name is fine.
  strictEqual(NodeSet.parse("x".repeat(125) + "[100-101]").size, 2);
});

// ---------------------------------------------------------------- range sets

const RANGES: [string, string, number][] = [
  ["1", "1", 1],
  ["1-3", "1-3", 3],
  ["3,1,2", "1-3", 3],
  ["0-10", "0-10", 11],
  ["00-10", "00-10", 11],
  ["1-10/2", "1,3,5,7,9", 5],
  ["0-8/2,1-9/2", "0-9", 10],
  ["1-5,3-8", "1-8", 8],
  ["1-5,6-8", "1-8", 8],
  ["1-5,7-8", "1-5,7-8", 7],
  ["001-100", "001-100", 100],
  ["0003-0143,0360-1000", "0003-0143,0360-1000", 782],
  ["5,10-42", "5,10-42", 34],
  ["1-9,01-10", "1-9,01-10", 19],
  ["01-10,1-10", "1-9,01-10", 19],
  ["9,10,09", "9,09-10", 3],
  ["99,100,099", "99,099-100", 3],
  ["0,00,000", "0,00,000", 3],
  ["999999999999999", "999999999999999", 1],
  ["000000000000001", "000000000000001", 1],
];

for (const [text, folded, size] of RANGES) {
  Deno.test(`range set [${text}]`, () => {
    const fail = (reason: string, index: number): never => {
      throw new Error(`${reason} at ${index}`);
    };
    const set = RangeSet.fromSpecs(parseRanges(text, 0, fail).specs);
    strictEqual(set.toString(), folded);
    strictEqual(set.size, size);
    const back = RangeSet.fromSpecs(parseRanges(folded, 0, fail).specs);
    strictEqual(back.equals(set), true);
    deepStrictEqual([...RangeSet.fromStrings([...set])], [...set]);
  });
}

Deno.test("range set operations", () => {
  const r = (s: string) => RangeSet.fromStrings(s.split(" "));
  strictEqual(r("1 2 3").union(r("5")).toString(), "1-3,5");
  strictEqual(r("1 2 3").union(r("4")).toString(), "1-4");
  strictEqual(r("1 2 3").intersection(r("2 3 4")).toString(), "2-3");
  strictEqual(r("1 2 3").difference(r("2")).toString(), "1,3");
  strictEqual(r("01 1").difference(r("1")).toString(), "01");
  strictEqual(r("01 1").intersection(r("01")).toString(), "01");
  strictEqual(RangeSet.unionAll([r("1"), r("3"), r("2"), r("07")]).toString(), "1-3,07");
  strictEqual(RangeSet.EMPTY.size, 0);
  strictEqual(RangeSet.EMPTY.first(), undefined);
  strictEqual(RangeSet.EMPTY.maxLength(), 0);
  strictEqual(r("9 10 010").first(), "9");
  strictEqual(r("9 10 010").maxLength(), 3);
  strictEqual(r("1 2").has("01"), false);
  strictEqual(r("1 2").has("x"), false);
  strictEqual(r("1 2").has(""), false);
});

// ---------------------------------------------------------------- order and shapes

const ORDER: [string, string][] = [
  ["n1", "n2"],
  ["n2", "n10"],
  ["n9", "n10"],
  ["n9", "n01"],
  ["n01", "n10"],
  ["n09", "n10"],
  ["n1", "n001"],
  ["a", "a1"],
  ["a", "b"],
  ["a1", "a1-b"],
  ["a1-b", "a2"],
  ["rack1-n10", "rack2-n1"],
  ["A", "a"],
  ["n-1", "n_1"],
  ["n2x", "n10"],
];

for (const [a, b] of ORDER) {
  Deno.test(`order ${a} < ${b}`, () => {
    strictEqual(compareHosts(a, b) < 0, true);
    strictEqual(compareHosts(b, a) > 0, true);
    strictEqual(compareHosts(a, a), 0);
  });
}

Deno.test("shapes: names as patterns and numbers", () => {
  deepStrictEqual(shapeOf("rack2-n07"), {
    key: "rack\0-n\0",
    lits: ["rack", "-n", ""],
    nums: ["2", "07"],
  });
  deepStrictEqual(shapeOf("frontend").nums, []);
  deepStrictEqual(shapeOf("42").lits, ["", ""]);
  deepStrictEqual(shapeOf("n1234567890123456").nums, []);
});

// ---------------------------------------------------------------- properties

/** Small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHosts(rand: () => number): string[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const num = () => {
    const v = Math.floor(rand() * pick([3, 12, 120, 1200]));
    const pad = pick([0, 0, 0, 2, 3]);
    return String(v).padStart(pad, "0");
  };
  const shapes = [
    () => `n${num()}`,
    () => `g5k-${num()}`,
    () => `rack${num()}-n${num()}`,
    () => `r${num()}c${num()}n${num()}`,
    () => `${num()}abc`,
    () => num(),
    () => pick(["frontend", "web", "db-a", "db_b", "x-", "-y"]),
    () => `n${num()}-ipmi`,
    () => `a${num()}b`,
    () => `n1234567890123456${pick(["", "-", "x"])}${num()}`,
  ];
  const family = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(shapes));
  const hosts = Array.from({ length: Math.floor(rand() * 60) }, () => pick(family)());
  // Contiguous runs across decades and paddings (n[08-12], n[95-105]) exercise folding.
  for (let r = Math.floor(rand() * 3); r > 0; r--) {
    const start = pick([0, 5, 90, 95, 990]) + Math.floor(rand() * 10);
    const pad = pick([0, 2, 3]);
    const prefix = pick(["n", "m-", "rack2-n"]);
    const length = Math.floor(rand() * pick([25, 120]));
    for (let v = start; v < start + length; v++) hosts.push(prefix + String(v).padStart(pad, "0"));
  }
  return hosts;
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort(compareHosts);

Deno.test("property: parse(fold(list)).expand() is the sorted unique list", () => {
  const rand = prng(20240601);
  for (let round = 0; round < 400; round++) {
    const hosts = randomHosts(rand);
    const folded = NodeSet.fold(hosts);
    const back = hosts.length === 0 ? [] : NodeSet.parse(folded).expand();
    deepStrictEqual(
      back,
      sortedUnique(hosts),
      `round ${round}: ${JSON.stringify(hosts)} → ${folded}`,
    );
    // Folding is canonical: the order of the input does not matter.
    strictEqual(NodeSet.fold([...hosts].reverse()), folded);
  }
});

Deno.test("property: set operations agree with plain sets", () => {
  const rand = prng(7);
  for (let round = 0; round < 300; round++) {
    const a = randomHosts(rand);
    const b = rand() < 0.5 ? randomHosts(rand) : a.filter(() => rand() < 0.5);
    const x = NodeSet.fromNames(a);
    const y = NodeSet.fromNames(b);
    const sb = new Set(b);
    const sa = new Set(a);
    const ctx = `round ${round}: ${x} / ${y}`;
    deepStrictEqual(x.union(y).expand(), sortedUnique([...a, ...b]), ctx);
    deepStrictEqual(x.intersection(y).expand(), sortedUnique(a.filter((h) => sb.has(h))), ctx);
    deepStrictEqual(x.difference(y).expand(), sortedUnique(a.filter((h) => !sb.has(h))), ctx);
    strictEqual(x.size, sa.size, ctx);
    for (const h of [...a, ...b]) strictEqual(x.has(h), sa.has(h), `${ctx}: has ${h}`);
  }
});

Deno.test("property: natural order is a total order consistent with expand", () => {
  const rand = prng(99);
  for (let round = 0; round < 100; round++) {
    const hosts = sortedUnique(randomHosts(rand));
    for (let i = 1; i < hosts.length; i++) {
      strictEqual(compareHosts(hosts[i - 1], hosts[i]) < 0, true);
    }
    deepStrictEqual(NodeSet.fromNames(hosts).expand(), hosts);
  }
});
