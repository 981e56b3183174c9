// The layering rules of the code, checked on every import specifier of every file:
// - protocol/ imports nothing of agent/ or controller/, which never import each other;
// - protocol/'s shared folders are not wire, and the wire needs none of them;
// - the controller's user interfaces (the CLI, its renderers, the shell, the dashboard) use the
//   library only through controller/mod.ts, as a script would: whatever they need is public, so
//   mod.ts is proven enough for a library user. And the library never imports them.
import { deepStrictEqual, ok } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

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

/** Every import of every file in `from` (folders or .ts files) that `refuse` objects to, as "file -> import: why". */
async function check(
  from: string | string[],
  refuse: (file: string, spec: string) => string | undefined,
): Promise<string[]> {
  const files = (await Promise.all(
    [from].flat().map((p) => p.endsWith(".ts") ? [p] : tsFiles(p)),
  )).flat();
  const bad: string[] = [];
  for (const file of files) {
    for (const spec of importsOf(file, await Deno.readTextFile(`${ROOT}${file}`))) {
      const why = refuse(file, spec);
      if (why !== undefined) bad.push(`${file} -> ${spec}: ${why}`);
    }
  }
  return bad;
}

/** Files under `from` that import anything under one of `forbidden`, as "file -> import". */
async function violations(from: string, forbidden: string[]): Promise<string[]> {
  return (await check(from, (_file, spec) => {
    const dir = forbidden.find((d) => spec.startsWith(`${d}/`));
    return dir === undefined ? undefined : `${dir}/ is out of bounds`;
  })).map((line) => line.replace(/: [^:]*$/, ""));
}

// ---------------------------------------------------------------- protocol, agent, controller

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
  "protocol/alerts",
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

// ---------------------------------------------------------------- the controller's interfaces

/** The controller's user interfaces: the folders, and the CLI's entry and option table. */
const UI_DIRS = ["controller/cli", "controller/render", "controller/shell", "controller/dashboard"];
const UI_FILES = ["controller/main.ts", "controller/options.ts"];
/** The library's whole public surface. */
const MOD = "controller/mod.ts";

function isUi(path: string): boolean {
  return UI_FILES.includes(path) || UI_DIRS.some((dir) => path.startsWith(`${dir}/`));
}

/** The bare names deno.json maps to packages (`cbor-x`, `@nats-io/nats-core`, ...). */
const PACKAGES = Object.keys(
  JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).imports as Record<string, string>,
);

/**
 * Why a user interface may not import `spec` (as importsOf resolves it), or undefined when it
 * may: the library through mod.ts, the other interfaces, protocol/ (the wire and the helpers
 * both sides share, as any library user could), packages and runtime built-ins.
 */
function uiRefuses(spec: string): string | undefined {
  if (/^(npm|jsr|node):/.test(spec) || PACKAGES.includes(spec)) return undefined;
  if (spec === MOD || isUi(spec) || spec.startsWith("protocol/")) return undefined;
  if (spec.startsWith("controller/")) return `a controller internal: import it from ${MOD}`;
  return "neither the library, an interface, protocol/ nor a package";
}

Deno.test("uiRefuses allows mod.ts, the interfaces, protocol/ and packages, and nothing else", () => {
  for (
    const spec of [
      MOD,
      "controller/render/live.ts",
      "controller/shell/backend.ts",
      "controller/dashboard/client/dom.ts",
      "controller/cli/run.ts",
      "controller/main.ts",
      "controller/options.ts",
      "protocol/selector.ts",
      "protocol/cli/argv.ts",
      "cbor-x",
      "@nats-io/transport-node",
      "node:buffer",
      "npm:left-pad@1",
    ]
  ) deepStrictEqual(uiRefuses(spec), undefined, spec);
  for (
    const spec of [
      "controller/events.ts",
      "controller/controller.ts",
      "controller/broadcast/presence.ts",
      "controller/renderer.ts", // a name that merely starts like an interface folder
      "controller/mod_extra.ts",
      "agent/main.ts",
      "tests/integration/harness.ts",
      "deno.json",
      "some-unmapped-package",
    ]
  ) ok(uiRefuses(spec) !== undefined, `${spec} is refused`);
});

Deno.test("layering: the CLI, its renderers, the shell and the dashboard use only controller/mod.ts", async () => {
  const files = (await Promise.all(UI_DIRS.map(tsFiles))).flat();
  ok(UI_DIRS.every((dir) => files.some((f) => f.startsWith(`${dir}/`))), "each folder has files");
  deepStrictEqual(await check([...UI_DIRS, ...UI_FILES], (_file, spec) => uiRefuses(spec)), []);
});

Deno.test("layering: the controller library never imports its user interfaces", async () => {
  const library = (await tsFiles("controller")).filter((f) => !isUi(f));
  ok(library.includes(MOD), "mod.ts is part of the library");
  const bad: string[] = [];
  for (const file of library) {
    for (const spec of importsOf(file, await Deno.readTextFile(`${ROOT}${file}`))) {
      if (isUi(spec)) bad.push(`${file} -> ${spec}`);
    }
  }
  deepStrictEqual(bad, []);
});
