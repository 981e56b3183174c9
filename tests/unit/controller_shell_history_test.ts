/**
 * The shell's persistent history: appended as commands are entered, kept
 * across shells, bounded, and never in the way when the file cannot be
 * written.
 */
import assert from "node:assert/strict";
import { History, HISTORY_FILE } from "../../controller/shell/history.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tutti-history-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("history: entries survive to the next shell, oldest first", async () => {
  await withDir(async (dir) => {
    const state = `${dir}/state`; // created on the first write
    const h = await History.load(state);
    assert.deepEqual(h.entries, []);
    await h.add("status");
    await h.add("start web");
    const again = await History.load(state);
    assert.deepEqual(again.entries, ["status", "start web"]);
    assert.equal(await Deno.readTextFile(`${state}/${HISTORY_FILE}`), "status\nstart web\n");
    assert.equal(h.problem, null);
    assert.equal((await Deno.stat(`${state}/${HISTORY_FILE}`)).mode! & 0o777, 0o600);
  });
});

Deno.test("history: blank lines and immediate repeats are not recorded; lines are trimmed", async () => {
  await withDir(async (dir) => {
    const h = await History.load(dir);
    for (const line of ["status", "  ", "status", " status ", "hosts", "status"]) await h.add(line);
    assert.deepEqual(h.entries, ["status", "hosts", "status"]);
    assert.deepEqual((await History.load(dir)).entries, ["status", "hosts", "status"]);
  });
});

Deno.test("history: bounded in memory, and cut back in the file on load", async () => {
  await withDir(async (dir) => {
    const h = await History.load(dir, 3);
    for (let i = 1; i <= 5; i++) await h.add(`cmd ${i}`);
    assert.deepEqual(h.entries, ["cmd 3", "cmd 4", "cmd 5"]);
    const file = `${dir}/${HISTORY_FILE}`;
    assert.equal((await Deno.readTextFile(file)).split("\n").length - 1, 5, "appended as entered");
    const next = await History.load(dir, 3);
    assert.deepEqual(next.entries, ["cmd 3", "cmd 4", "cmd 5"]);
    assert.equal(await Deno.readTextFile(file), "cmd 3\ncmd 4\ncmd 5\n");
  });
});

Deno.test("history: two shells at once both keep their commands", async () => {
  await withDir(async (dir) => {
    const a = await History.load(dir);
    const b = await History.load(dir);
    await a.add("status");
    await b.add("hosts");
    await a.add("stop web");
    assert.deepEqual((await History.load(dir)).entries, ["status", "hosts", "stop web"]);
  });
});

Deno.test("history: a file that cannot be read or written is one problem, not a failure", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const unreadable = await History.load(`${dir}/file`);
    assert.match(unreadable.problem ?? "", /^cannot read the history .*file\/shell_history: /);
    await unreadable.add("status");
    assert.deepEqual(unreadable.entries, ["status"]);

    const h = await History.load(`${dir}/later`);
    assert.equal(h.problem, null, "no file yet is no problem");
    await Deno.writeTextFile(`${dir}/later`, ""); // the state directory's place is taken
    await h.add("status");
    await h.add("hosts");
    assert.deepEqual(h.entries, ["status", "hosts"]);
    assert.match(h.problem ?? "", /^cannot write the history .*later\/shell_history: /);
  });
});

Deno.test("history: memory only touches no file", async () => {
  const h = History.memory(2);
  await h.add("a");
  await h.add("b");
  await h.add("c");
  assert.deepEqual(h.entries, ["b", "c"]);
  assert.equal(h.path, null);
});
