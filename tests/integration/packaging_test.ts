/**
 * Packaging: `compile.sh --bundle-only` writes two self-contained bundles that run with a plain
 * `deno run -A --no-config` from an empty directory (no deno.json, no node_modules), print their
 * usage on --help, and answer a wrong mode, verb or flag with a one-line error and status 2.
 * The bundles go to a temporary directory: other tests run dist/ at the same time.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();
const opts = { sanitizeResources: false, sanitizeOps: false };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `args` with this Deno in `cwd`; a process that hangs is killed after a minute. */
async function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    // compile.sh runs the same Deno as the tests.
    env: { PATH: `${DENO.slice(0, DENO.lastIndexOf("/"))}:${Deno.env.get("PATH") ?? ""}` },
    clearEnv: false,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** `deno run -A --no-config BUNDLE args...` from `cwd`. */
function runBundle(bundle: string, args: string[], cwd: string): Promise<Run> {
  return run(DENO, ["run", "-A", "--no-config", bundle, ...args], cwd);
}

function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Status 2, and stderr is one line naming the culprit (no stack trace), then where help is. */
function assertUsageError(
  r: Run,
  prefix: string,
  culprit: string,
  next: string | RegExp = `see \`${prefix} --help\``,
) {
  strictEqual(r.code, 2, show(r));
  const [first, ...rest] = r.stderr.split("\n");
  ok(first.startsWith(`${prefix}:`), `first line should be "${prefix}: ...":\n${show(r)}`);
  ok(first.includes(culprit), `first line should name ${culprit}:\n${show(r)}`);
  ok(!/^\s+at /m.test(r.stderr), `no stack trace:\n${show(r)}`);
  if (typeof next === "string") strictEqual(rest[0], next, `where help is:\n${show(r)}`);
  else match(rest[0], next, `where help is:\n${show(r)}`);
}

/** Builds the bundles into a fresh directory and hands it, with an empty one, to `fn`. */
async function withBundles(fn: (dir: string, empty: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tutti-bundle-" });
  const empty = await Deno.makeTempDir({ prefix: "tutti-empty-" });
  try {
    const built = await run("bash", [`${ROOT}compile.sh`, "--bundle-only", "-o", dir], ROOT);
    strictEqual(built.code, 0, show(built));
    deepStrictEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["agent.js", "controller.js"],
      "compile.sh --bundle-only writes the two bundles and leaves no temporary files",
    );
    await fn(dir, empty);
    deepStrictEqual([...Deno.readDirSync(empty)], [], "nothing was written to the working dir");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
}

Deno.test("packaging: bundles from compile.sh run from an empty directory", opts, async (t) => {
  await withBundles(async (dir, empty) => {
    for (const mode of ["agent", "controller"]) {
      await t.step(`${mode}.js --help and -h print the usage`, async () => {
        for (const flag of ["--help", "-h"]) {
          const r = await runBundle(`${dir}/${mode}.js`, [flag], empty);
          strictEqual(r.code, 0, show(r));
          match(r.stdout, new RegExp(`usage: *${mode}`, "i"), show(r));
          strictEqual(r.stderr, "", show(r));
        }
      });
    }

    await t.step("agent.js with an unknown flag exits 2", async () => {
      const r = await runBundle(`${dir}/agent.js`, ["--no-such-flag"], empty);
      assertUsageError(r, "agent", "--no-such-flag");
    });

    await t.step("controller.js with an unknown flag or verb exits 2", async () => {
      const flag = await runBundle(`${dir}/controller.js`, ["--no-such-flag"], empty);
      assertUsageError(flag, "controller", "--no-such-flag");
      const verb = await runBundle(`${dir}/controller.js`, ["no-such-verb"], empty);
      assertUsageError(verb, "controller", "no-such-verb");
    });

    await t.step("under another name the bundle needs a mode word", async () => {
      await Deno.copyFile(`${dir}/agent.js`, `${dir}/tutti.js`);
      const r = await runBundle(`${dir}/tutti.js`, ["no-such-mode"], empty);
      assertUsageError(r, "tutti", "no-such-mode", /^usage: main\.ts agent/);
      const asked = await runBundle(`${dir}/tutti.js`, ["--help"], empty);
      strictEqual(asked.code, 0, show(asked));
      match(asked.stdout, /usage:.*agent[\s\S]*controller/, show(asked));
    });

    await t.step("a mode word overrides the bundle's name", async () => {
      const r = await runBundle(`${dir}/agent.js`, ["controller", "--help"], empty);
      strictEqual(r.code, 0, show(r));
      match(r.stdout, /usage: *controller/i, show(r));
    });
  });
});
