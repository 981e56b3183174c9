/**
 * Many file watches in one directory share one watcher and none misses its
 * file, however the files come: before the watch, while the watches start,
 * after, in a shuffled order, and in a burst that blocks the event loop (so
 * that Deno drops most of the directory's events). Before the fix, each
 * watch had its own `Deno.watchFs`, and with 200 of them most watches lost
 * their file's events and timed out.
 */
import assert from "node:assert/strict";
import { DirectoryWatchers, watchError } from "../../agent/watch/directory_watchers.ts";
import { FileWatch } from "../../agent/watch/file_watch.ts";
import type { WatchResult } from "../../protocol/watch_messages.ts";

const N = 1000;

function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

Deno.test(`${N} exists watches on one directory: every one met, one watcher`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tutti-many-" });
  const dirs = new DirectoryWatchers();
  try {
    const paths = Array.from({ length: N }, (_, i) => `${dir}/f${i}`);
    const order = shuffled(paths);
    const before = order.slice(0, N / 4);
    const during = order.slice(N / 4, N / 2);
    const after = order.slice(N / 2);
    for (const p of before) Deno.writeTextFileSync(p, "");
    const outcomes: Promise<WatchResult>[] = [];
    // Files created while the watches start: one every fourth watch.
    for (const [i, p] of shuffled(paths).entries()) {
      outcomes.push(
        new FileWatch({ kind: "file", path: p, event: "exists" }, 60_000, dir, dirs).start(),
      );
      if (i % 4 === 0 && during.length > 0) Deno.writeTextFileSync(during.pop()!, "");
    }
    for (const p of during) Deno.writeTextFileSync(p, "");
    assert.deepEqual(dirs.watched, [dir], "one watcher for the directory");
    // After: half in a synchronous burst (the event loop blocked: events are dropped), half one
    // by one, each in a task of its own, as separate `touch` processes would.
    const burst = after.slice(0, after.length / 2);
    for (const p of burst) Deno.writeTextFileSync(p, "");
    for (const p of after.slice(after.length / 2)) {
      await Deno.writeTextFile(p, "");
    }
    const results = await Promise.all(outcomes);
    const notMet = results.filter((r) => r.status !== "met");
    assert.equal(notMet.length, 0, `not met: ${JSON.stringify(notMet.slice(0, 3))}`);
    assert.deepEqual(dirs.watched, [], "the watcher is closed with the last watch");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`${N / 2} removed and ${N / 2} modified watches, files changed in a burst`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tutti-many-" });
  const dirs = new DirectoryWatchers();
  try {
    const paths = Array.from({ length: N }, (_, i) => `${dir}/f${i}`);
    for (const p of paths) Deno.writeTextFileSync(p, "x");
    const removed = paths.slice(0, N / 2);
    const modified = paths.slice(N / 2);
    const outcomes = [
      ...removed.map((p) =>
        new FileWatch({ kind: "file", path: p, event: "removed" }, 60_000, dir, dirs).start()
      ),
      ...modified.map((p) =>
        new FileWatch({ kind: "file", path: p, event: "modified" }, 60_000, dir, dirs).start()
      ),
    ];
    for (const p of shuffled(paths)) {
      if (removed.includes(p)) Deno.removeSync(p);
      else Deno.writeTextFileSync(p, "yy", { append: true });
    }
    const results = await Promise.all(outcomes);
    const notMet = results.filter((r) => r.status !== "met");
    assert.equal(notMet.length, 0, `not met: ${JSON.stringify(notMet.slice(0, 3))}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kernel limits are named with their sysctl, other errors keep their code", () => {
  const watches = watchError("/d", new Error('OS file watch limit reached. about ["/d"]'));
  assert.equal(watches.code, "ENOSPC");
  assert.match(
    watches.message,
    /^cannot watch \/d: the inotify watch limit is reached \(fs\.inotify\.max_user_watches = \d+\)/,
  );
  const instances = watchError("/d", new Error("Too many open files (os error 24)"));
  assert.equal(instances.code, "EMFILE");
  assert.match(instances.message, /fs\.inotify\.max_user_instances = \d+/);
  assert.equal(watchError("/d", new Error("No space left on device (os error 28)")).code, "ENOSPC");
  assert.equal(watchError("/d", new Deno.errors.NotFound("x")).code, "ENOENT");
});
