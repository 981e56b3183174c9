/**
 * The README's library example, run as written against three real agents:
 * the block between `<!-- example:library -->` markers is extracted, its
 * import pointed at this checkout's controller/mod.ts, and run with deno.
 */
import assert from "node:assert/strict";
import { DENO, World } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url);

function exampleFromReadme(readme: string): string {
  const block = /<!-- example:library -->\s*```ts\n([\s\S]*?)```\s*<!-- \/example:library -->/
    .exec(readme);
  assert.ok(block, "README has no example:library block");
  return block[1];
}

Deno.test("the README's library example runs and prints what it promises", {
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["demo-1", "demo-2", "demo-3"]);
    const source = exampleFromReadme(await Deno.readTextFile(new URL("README.md", ROOT)))
      .replace('"./controller/mod.ts"', JSON.stringify(new URL("controller/mod.ts", ROOT).href));
    const file = `${world.dir}/example.ts`;
    await Deno.writeTextFile(file, source);
    const out = await new Deno.Command(DENO, {
      args: ["run", "-A", "--config", new URL("deno.json", ROOT).pathname, file],
      cwd: world.dir,
      env: world.controllerEnv(),
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.deepEqual(lines.slice(0, 3).sort(), [
      "hello from demo-1",
      "hello from demo-2",
      "hello from demo-3",
    ]);
    assert.equal(lines[3], "3 hosts, all ok: true");
  } finally {
    await world.close();
  }
});
