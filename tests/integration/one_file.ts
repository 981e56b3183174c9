/**
 * Builds the one-file agent for a test (packaging/one_file.sh) from a bundle
 * into a file of the test's own, and reads its header.
 */
import assert from "node:assert/strict";
import { AGENT_JS, DENO } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Builds a one-file agent from `bundle` into `out`; its digest (the cache directory's name). */
export async function buildOneFile(bundle: string, out: string): Promise<string> {
  const r = await new Deno.Command("bash", {
    args: [`${ROOT}packaging/one_file.sh`, "--bundle", bundle, "--runtime", DENO, "-o", out],
    stdin: "null",
  }).output();
  const said = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, said);
  const digest = /^tutti_digest=([0-9a-f]{16})$/m.exec(await oneFileHeader(out))?.[1];
  assert.ok(digest, `a digest in the header of ${out}`);
  return digest;
}

/** The shell header of a one-file agent (its first 16 KiB). */
export async function oneFileHeader(file: string): Promise<string> {
  const f = await Deno.open(file);
  try {
    const buf = new Uint8Array(16384);
    const n = await f.read(buf) ?? 0;
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    f.close();
  }
}

/**
 * A launcher alone (no payload) that claims to hold the runtime for another
 * machine type: what such a file says and does before it unpacks anything.
 */
export async function otherMachineFile(file: string, out: string): Promise<string> {
  const head = await oneFileHeader(file);
  const own = /^tutti_target=(\S+)$/m.exec(head)![1];
  const other = own.startsWith("x86_64") ? "aarch64-unknown-linux-gnu" : "x86_64-unknown-linux-gnu";
  const launcher = head.slice(0, head.indexOf("exit 127\n") + "exit 127\n".length);
  await Deno.writeTextFile(out, launcher.replace(own, other), { mode: 0o755 });
  return other;
}

let shared: Promise<{ file: string; digest: string }> | undefined;

/**
 * One build of dist/agent.js for all the tests of a file that only read it
 * (a build compresses the whole runtime: seconds of CPU); removed when the
 * tests end.
 */
export function sharedOneFile(): Promise<{ file: string; digest: string }> {
  shared ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "tutti-one-file-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const file = `${dir}/tutti-agent`;
    return { file, digest: await buildOneFile(AGENT_JS, file) };
  })();
  return shared;
}
