/**
 * File conditions through inotify (`Deno.watchFs`), never by polling.
 *
 * The watch is on the file's directory, not on the file: a file that does not
 * exist yet cannot be watched, and editors and tools often replace a file by
 * renaming another onto it. When the directory itself does not exist yet,
 * the nearest existing ancestor is watched instead and the watch moves down
 * as the missing directories appear (`/tmp/exp1/ready` while `/tmp/exp1` is
 * still to be created is common in experiment scripts). An ancestor that
 * exists but is not a directory makes `exists` and `modified` fail: the path
 * can never appear.
 *
 * `exists` and `removed` are states, checked once the watcher is in place
 * (so that nothing happening in between is missed) and whenever anything
 * happens in the directory (events can be lost: see directory_watchers.ts);
 * `modified` is an event: a create, write, metadata change or rename onto
 * the path after the watch started, or, when its event was lost, a file that
 * is no longer the one seen at the start (inode, size, mtime, ctime).
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { FileCondition } from "../../protocol/watch_messages.ts";
import {
  type DirectoryListener,
  type DirectoryWatchers,
  directoryWatchers,
} from "./directory_watchers.ts";
import { BaseWatch, seconds } from "./watch.ts";

/** Directories that vanish between finding and watching them, in a row, before giving up. */
const MAX_RELOCATIONS = 100;

export class FileWatch extends BaseWatch implements DirectoryListener {
  /** Absolute and normalised, as `Deno.watchFs` reports paths. */
  readonly path: string;
  /** The directory watched now, null when none (for tests: nothing left open). */
  watching: string | null = null;
  private readonly event: FileCondition["event"];
  private initial: FileIdentity | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    condition: FileCondition,
    timeoutMs: number,
    cwd = Deno.cwd(),
    private readonly dirs: DirectoryWatchers = directoryWatchers,
  ) {
    super(condition, timeoutMs);
    this.path = absolute(condition.path, cwd);
    this.event = condition.event;
  }

  /** Takes the directory's watcher before the reply: a kernel limit is the reply's error. */
  protected override prepare(): void {
    this.initial = identity(this.path);
    const dir = nearestDirectory(this.path);
    if (typeof dir === "string") this.watch(dir);
  }

  protected run(): void {
    // Checked after the watcher is in place: a change just before it is seen here, one after
    // it wakes `changed`.
    this.settle([], false);
  }

  changed(events: readonly Deno.FsEvent[], stale: boolean): void {
    try {
      this.settle(events, stale);
    } catch (e) {
      this.finish("failed", e instanceof Error ? e.message : String(e));
    }
  }

  protected timeoutDetail(): string {
    const what = this.event === "exists"
      ? "did not appear"
      : this.event === "removed"
      ? "was not removed"
      : "was not modified";
    return `${this.path} ${what} within ${seconds(this.timeoutMs)}`;
  }

  /**
   * Checks the condition; when it does not hold and the directory to watch
   * changed (a missing one appeared, the watched one went away, or its
   * watcher did), watches the right one and checks again.
   */
  private settle(events: readonly Deno.FsEvent[], stale: boolean): void {
    for (let i = 0; i < MAX_RELOCATIONS; i++) {
      if (this.done || this.check(events)) return;
      const dir = nearestDirectory(this.path);
      if (!stale && dir === this.watching) return;
      stale = false;
      void this.unwatch();
      if (typeof dir !== "string") {
        if (this.event === "removed") return this.finish("met", `${this.path} does not exist`);
        return this.finish(
          "failed",
          `${dir.path} is not a directory: ${this.path} cannot appear`,
        );
      }
      try {
        this.watch(dir);
      } catch (e) {
        // Gone between finding it and watching it: look again.
        if (e instanceof TuttiError && e.code === "ENOENT") continue;
        const err = e instanceof TuttiError ? `${e.code} ${e.message}` : String(e);
        return this.finish("failed", err);
      }
      events = [];
    }
    this.finish("failed", `${this.path}: its directories kept changing while being watched`);
  }

  private watch(dir: string): void {
    const unsubscribe = this.dirs.subscribe(dir, this);
    this.watching = dir;
    this.unsubscribe = this.hold(() => {
      unsubscribe();
      if (this.watching === dir) this.watching = null;
    });
  }

  private async unwatch(): Promise<void> {
    const u = this.unsubscribe;
    this.unsubscribe = null;
    this.watching = null;
    if (u) await u();
  }

  /** Ends the watch when the condition holds; true if it did. */
  private check(events: readonly Deno.FsEvent[]): boolean {
    const now = identity(this.path);
    switch (this.event) {
      case "exists":
        if (now === null) return false;
        this.finish("met", `${this.path} exists`);
        return true;
      case "removed":
        if (now !== null) return false;
        this.finish(
          "met",
          `${this.path} ${this.initial === null ? "does not exist" : "was removed"}`,
        );
        return true;
      case "modified": {
        const byEvent = events.some((ev) =>
          ev.paths.includes(this.path) &&
          (ev.kind === "create" || ev.kind === "modify" || (ev.kind === "rename" && now !== null))
        );
        // Without an event on the path itself (first check, a directory that appeared, events
        // that were lost), compare with what was there when the watch started.
        if (!byEvent && sameIdentity(now, this.initial)) return false;
        if (now === null && !byEvent) return false; // removed is not modified
        this.finish("met", `${this.path} was ${this.initial === null ? "created" : "modified"}`);
        return true;
      }
    }
  }
}

/** What tells a file's versions apart without reading it. */
interface FileIdentity {
  ino: number | null;
  size: number;
  mtime: number | null;
  ctime: number | null;
}

function identity(path: string): FileIdentity | null {
  try {
    const st = Deno.statSync(path);
    return {
      ino: st.ino,
      size: st.size,
      mtime: st.mtime?.getTime() ?? null,
      ctime: st.ctime?.getTime() ?? null,
    };
  } catch {
    return null;
  }
}

function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ino === b.ino && a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime;
}

/** The closest existing ancestor directory of `path`, or the ancestor that is not a directory. */
function nearestDirectory(path: string): string | { path: string } {
  let dir = parent(path);
  for (;;) {
    try {
      const st = Deno.statSync(dir);
      return st.isDirectory ? dir : { path: dir };
    } catch {
      if (dir === "/") return "/";
      dir = parent(dir);
    }
  }
}

function parent(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** `rel` against `cwd`, with `.`, `..` and repeated or trailing slashes resolved. */
export function absolute(rel: string, cwd: string): string {
  const parts: string[] = [];
  for (const p of (rel.startsWith("/") ? rel : `${cwd}/${rel}`).split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}
