/**
 * File watches on real files. `start()` returns with the inotify watcher in
 * place, so a change made right after it is an event the watch must see; the
 * watch's own timeout is the deadline. Deno's resource sanitizer fails any
 * test that leaves a watcher open.
 */
import { FileWatch } from "../../agent/watch/file_watch.ts";
import type { FileCondition } from "../../protocol/watch_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function watch(path: string, event: FileCondition["event"], timeoutMs = 5000): FileWatch {
  return new FileWatch({ kind: "file", path, event }, timeoutMs);
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tutti-watch-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("exists: fires when the file is created", () =>
  inTempDir(async (dir) => {
    const w = watch(`${dir}/ready`, "exists");
    const result = w.start();
    assert(w.watching === dir, `watching the parent: ${w.watching}`);
    await Deno.writeTextFile(`${dir}/ready`, "1");
    const r = await result;
    assert(r.status === "met", `status ${r.status}: ${r.detail}`);
    assert(r.detail === `${dir}/ready exists`, r.detail);
    assert(w.watching === null, "the watcher is closed");
  }));

Deno.test("exists: met at once when the file is already there", () =>
  inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ready`, "1");
    const r = await watch(`${dir}/ready`, "exists").start();
    assert(r.status === "met", r.detail);
  }));

Deno.test("exists: walks down from the nearest existing ancestor as directories appear", () =>
  inTempDir(async (dir) => {
    const w = watch(`${dir}/a/b/ready`, "exists");
    const result = w.start();
    assert(w.watching === dir, `watching the nearest ancestor: ${w.watching}`);
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a/b/ready`, "1");
    const r = await result;
    assert(r.status === "met", `${r.status}: ${r.detail}`);
  }));

Deno.test("exists: a relative path is taken from the working directory given", () =>
  inTempDir(async (dir) => {
    const w = new FileWatch({ kind: "file", path: "./sub/../x", event: "exists" }, 5000, dir);
    assert(w.path === `${dir}/x`, w.path);
    const result = w.start();
    await Deno.writeTextFile(`${dir}/x`, "");
    assert((await result).status === "met", "met");
  }));

Deno.test("exists: fails when an ancestor is a file", () =>
  inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/plain`, "");
    const r = await watch(`${dir}/plain/ready`, "exists").start();
    assert(r.status === "failed", r.status);
    assert(r.detail.includes("is not a directory"), r.detail);
  }));

Deno.test("modified: fires on a write", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/log`;
    await Deno.writeTextFile(path, "one\n");
    const w = watch(path, "modified");
    const result = w.start();
    await Deno.readTextFile(path); // an access event, which is not a modification
    await Deno.writeTextFile(path, "two\n", { append: true });
    const r = await result;
    assert(r.status === "met", r.detail);
    assert(r.detail === `${path} was modified`, r.detail);
  }));

Deno.test("modified: fires when another file is renamed onto the path", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "old");
    const result = watch(path, "modified").start();
    await Deno.writeTextFile(`${dir}/config.tmp`, "new");
    await Deno.rename(`${dir}/config.tmp`, path);
    const r = await result;
    assert(r.status === "met", r.detail);
  }));

Deno.test("modified: creation counts when the file did not exist", () =>
  inTempDir(async (dir) => {
    const result = watch(`${dir}/new`, "modified").start();
    await Deno.writeTextFile(`${dir}/new`, "x");
    const r = await result;
    assert(r.status === "met" && r.detail.endsWith("was created"), r.detail);
  }));

Deno.test("removed: fires on delete", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/lock`;
    await Deno.writeTextFile(path, "");
    const result = watch(path, "removed").start();
    await Deno.remove(path);
    const r = await result;
    assert(r.status === "met", r.detail);
    assert(r.detail === `${path} was removed`, r.detail);
  }));

Deno.test("removed: met at once when the file is absent", () =>
  inTempDir(async (dir) => {
    const r = await watch(`${dir}/none/deeper`, "removed").start();
    assert(r.status === "met" && r.detail.includes("does not exist"), r.detail);
  }));

Deno.test("timeout: nothing happens, the watch says what it waited for", () =>
  inTempDir(async (dir) => {
    const w = watch(`${dir}/never`, "exists", 300);
    const r = await w.start();
    assert(r.status === "timeout", r.status);
    assert(r.detail === `${dir}/never did not appear within 300ms`, r.detail);
    assert(r.elapsed >= 290, `elapsed ${r.elapsed}`);
    assert(w.watching === null, "no watcher after a timeout");
  }));

Deno.test("cancel: the watcher is closed and the outcome is cancelled", () =>
  inTempDir(async (dir) => {
    const w = watch(`${dir}/never`, "exists", 60_000);
    const result = w.start();
    assert(w.watching === dir, "watching");
    await w.cancel();
    assert(w.watching === null, "the watchFs iterator ended");
    const r = await result;
    assert(r.status === "cancelled", r.status);
    // A second cancel and a late start are harmless and answer the same outcome.
    await w.cancel();
    assert((await w.start()) === r, "one outcome");
  }));

Deno.test("only the first outcome counts: a file created after the timeout changes nothing", () =>
  inTempDir(async (dir) => {
    const w = watch(`${dir}/late`, "exists", 100);
    const r = await w.start();
    await Deno.writeTextFile(`${dir}/late`, "");
    assert(r.status === "timeout" && (await w.start()).status === "timeout", "still timeout");
  }));

Deno.test("exists: the parent directory removed and made again is watched anew", () =>
  inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/d`);
    const w = watch(`${dir}/d/ready`, "exists");
    const result = w.start();
    assert(w.watching === `${dir}/d`, `${w.watching}`);
    await Deno.remove(`${dir}/d`);
    await Deno.mkdir(`${dir}/d`);
    await Deno.writeTextFile(`${dir}/d/ready`, "");
    const r = await result;
    assert(r.status === "met", `${r.status}: ${r.detail}`);
  }));
