/**
 * The dashboard page's script is written in controller/dashboard/client/ and
 * committed bundled, as page_script.gen.ts: it must be what the sources give
 * today, and carry the bundle unchanged.
 */
import assert from "node:assert/strict";
import {
  bundlePageScript,
  GENERATED,
  pageScriptModule,
} from "../../controller/dashboard/build_page_script.ts";
import { PAGE_SCRIPT } from "../../controller/dashboard/page_script.gen.ts";
import { pageHtml } from "../../controller/dashboard/page.ts";

Deno.test("page_script.gen.ts is the bundle of client/ as it is now", async () => {
  const js = await bundlePageScript();
  const committed = await Deno.readTextFile(new URL(`../../${GENERATED}`, import.meta.url));
  assert.ok(
    committed === pageScriptModule(js),
    `${GENERATED} is stale: run \`deno task bundle\` and commit it`,
  );
  assert.equal(PAGE_SCRIPT, js);
  assert.match(js, /^"use strict";\n\(\(\) => \{\n/, "one classic script, strict, in an IIFE");
  assert.doesNotMatch(js, /^\s*(import|export)\b/m, "nothing left for a module loader");
});

Deno.test("the generated module carries any text unchanged", async () => {
  const tricky = "a`b${c}\\d\\`e\n\\${f}";
  const mod = await import(
    "data:application/typescript," + encodeURIComponent(pageScriptModule(tricky))
  );
  assert.equal(mod.PAGE_SCRIPT, tricky);
});

Deno.test("the page inlines the script under the response's nonce", () => {
  const html = pageHtml("ab12", "cd34");
  assert.ok(html.includes(`<script nonce="cd34">${PAGE_SCRIPT}</script>`));
});
