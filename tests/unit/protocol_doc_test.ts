// PROTOCOL.md is the contract for people writing other controllers; its error table must say
// exactly what protocol/errors.ts says. And the layering rule of the code: protocol/ imports
// nothing of agent/ or controller/, which never import each other.
import { deepStrictEqual, ok } from "node:assert/strict";
import { ERROR_CODES } from "../../protocol/errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The rows of the first Markdown table after `heading`, as arrays of trimmed cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split("\n");
  const at = lines.findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`no "${heading}" heading`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 1)) {
    if (/^#{1,6} /.test(line)) break; // the next section
    if (!line.trim().startsWith("|")) {
      if (rows.length > 0) break; // the table ended
      continue;
    }
    rows.push(line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim()));
  }
  if (rows.length < 2 || !rows[1].every((c) => /^:?-+:?$/.test(c))) {
    throw new Error(`no Markdown table after "${heading}"`);
  }
  return [rows[0], ...rows.slice(2)];
}

Deno.test("PROTOCOL.md's error table lists exactly ERROR_CODES, in order, with their meanings", async () => {
  const md = await Deno.readTextFile(`${ROOT}protocol/PROTOCOL.md`);
  const [header, ...rows] = tableAfter(md, "## Error codes");
  deepStrictEqual(header, ["code", "meaning"]);
  const documented = rows.map(([code, meaning]) => [code.replace(/^`|`$/g, ""), meaning]);
  deepStrictEqual(documented, Object.entries(ERROR_CODES));
});

Deno.test("tableAfter reads a table and stops at the next section", () => {
  const md = "## A\n\n| x | y |\n| - | :-: |\n| `1` | one |\n\n## B\n| z |\n| - |\n";
  deepStrictEqual(tableAfter(md, "## A"), [["x", "y"], ["`1`", "one"]]);
});

// ---------------------------------------------------------------- layering

/** Every .ts file under `dir` (relative to the repository), recursively. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${ROOT}${dir}`)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(path));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/**
 * The module specifiers a file imports: static `import`/`export ... from`, bare
 * `import "x"`, and dynamic `import("x")` with a literal, resolved against the file's folder.
 */
function importsOf(path: string, source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of source.matchAll(re)) found.push(m[1]);
  }
  const base = new URL(path, `file://${ROOT}`);
  return found.map((spec) =>
    spec.startsWith(".") ? new URL(spec, base).pathname.slice(ROOT.length) : spec
  );
}

Deno.test("importsOf finds static, multi-line, re-exported and dynamic imports", () => {
  const src = [
    'import { a } from "./x.ts";',
    "import {",
    "  b,",
    '} from "../agent/y.ts";',
    'export { c } from "../controller/z.ts";',
    'import type { D } from "cbor-x";',
    'import "./side.ts";',
    'const m = await import("../agent/lazy.ts");',
    '// a comment that mentions import from "nowhere" is not at the start of a line',
  ].join("\n");
  deepStrictEqual(importsOf("protocol/f.ts", src).sort(), [
    "agent/lazy.ts",
    "agent/y.ts",
    "cbor-x",
    "controller/z.ts",
    "protocol/side.ts",
    "protocol/x.ts",
  ]);
});

/** Files under `from` that import anything under one of `forbidden`, as "file -> import". */
async function violations(from: string, forbidden: string[]): Promise<string[]> {
  const bad: string[] = [];
  for (const file of await tsFiles(from)) {
    for (const spec of importsOf(file, await Deno.readTextFile(`${ROOT}${file}`))) {
      if (forbidden.some((dir) => spec.startsWith(`${dir}/`))) bad.push(`${file} -> ${spec}`);
    }
  }
  return bad;
}

Deno.test("layering: protocol/ imports nothing of agent/ or controller/", async () => {
  ok((await tsFiles("protocol")).length > 5, "protocol/ has its files");
  deepStrictEqual(await violations("protocol", ["agent", "controller", "tests", "bench"]), []);
});

/** protocol/'s folders for what both sides share but is not wire (see protocol/README.md). */
const SHARED_NOT_WIRE = [
  "protocol/connection",
  "protocol/text",
  "protocol/cli",
  "protocol/runtime",
];

Deno.test("layering: protocol/'s shared folders import nothing of agent/ or controller/", async () => {
  const present = (await Promise.all(SHARED_NOT_WIRE.map(tsFiles))).map((f) => f.length);
  ok(present.every((n) => n > 0), `each of ${SHARED_NOT_WIRE.join(", ")} has its files`);
  for (const dir of SHARED_NOT_WIRE) {
    deepStrictEqual(await violations(dir, ["agent", "controller", "tests", "bench"]), [], dir);
  }
});

Deno.test("layering: the wire (protocol/*.ts) needs none of protocol/'s shared folders", async () => {
  const wire = (await tsFiles("protocol")).filter((f) =>
    !f.slice("protocol/".length).includes("/")
  );
  ok(wire.length > 5, "protocol/ has its wire files");
  const bad: string[] = [];
  for (const file of wire) {
    for (const spec of importsOf(file, await Deno.readTextFile(`${ROOT}${file}`))) {
      if (SHARED_NOT_WIRE.some((dir) => spec.startsWith(`${dir}/`))) bad.push(`${file} -> ${spec}`);
    }
  }
  deepStrictEqual(bad, []);
});

Deno.test("layering: agent/ never imports controller/", async () => {
  deepStrictEqual(await violations("agent", ["controller", "tests", "bench"]), []);
});

Deno.test("layering: controller/ never imports agent/", async () => {
  deepStrictEqual(await violations("controller", ["agent", "tests", "bench"]), []);
});
