// PROTOCOL.md is the contract for people writing other controllers; its error table must say
// exactly what protocol/errors.ts says. (The layering rules of the code are in layering_test.ts.)
import { deepStrictEqual } from "node:assert/strict";
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
