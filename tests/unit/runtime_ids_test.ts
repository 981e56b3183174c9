// One id generator for processes, watches and runs.
import { ok } from "node:assert/strict";
import { newId } from "../../protocol/runtime/ids.ts";
import { isToken } from "../../protocol/subjects.ts";

Deno.test("newId: the prefix, then base-36 characters, one subject token, fresh each time", () => {
  const ids = new Set<string>();
  for (let i = 0; i < 10000; i++) {
    const id = newId("p");
    ok(/^p[0-9a-z]{12,}$/.test(id), id);
    ok(isToken(id), id);
    ids.add(id);
  }
  ok(ids.size === 10000, `${10000 - ids.size} repeated ids`);
});
