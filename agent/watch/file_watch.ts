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
 * (so that nothing happening in between is missed) and at every event on the
 * path; `modified` is an event: a create, write, metadata change or rename
 * onto the path after the watch started.
 */
import type { FileCondition } from "../../protocol/watch_messages.ts";
import { BaseWatch, seconds } from "./watch.ts";

export class FileWatch extends BaseWatch {
  /** Absolute and normalised, as `Deno.watchFs` reports paths. */
  readonly path: string;
  /** The directory watched now, null when none (for tests: nothing left open). */
  watching: string | null = null;
  private readonly event: FileCondition["event"];
  private initial: FileIdentity | null = null;

  constructor(condition: FileCondition, timeoutMs: number, cwd = Deno.cwd()) {
    super(condition, timeoutMs);
    this.path = absolute(condition.path, cwd);
    this.event = condition.event;
  }

  protected async run(): Promise<void> {
    this.initial = identity(this.path);
    for (;;) {
      if (this.done) return;
      const dir = nearestDirectory(this.path);
      if (typeof dir !== "string") {
        if (this.event === "removed") return this.finish("met", `${this.path} does not exist`);
        return this.finish("failed", `${dir.path} is not a directory: ${this.path} cannot appear`);
      }
      const watcher = Deno.watchFs(dir, { recursive: false });
      const release = this.hold(() => watcher.close());
      this.watching = dir;
      let moved = false;
      try {
        // Checked after the watcher is in place: a change just before it is seen here, one after
        // it comes as an event.
        if (this.check(null) || this.done) return;
        for await (const ev of watcher) {
          if (!ev.paths.some((p) => this.concerns(p))) continue;
          if (this.check(ev) || this.done) return;
          // A deeper directory appeared, or the watched one went away (even if it is back: the
          // watch was on the old one): watch again from the nearest existing directory.
          const self = ev.paths.some((p) => p === dir || dir.startsWith(p + "/"));
          if (self || nearestDirectory(this.path) !== dir) {
            moved = true;
            break;
          }
        }
      } finally {
        this.watching = null;
        await release();
      }
      if (this.done) return; // the watcher was closed because the watch is over
      if (!moved) throw new Error(`the watch on ${dir} ended unexpectedly`);
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

  /** An event path is about the target or one of its missing ancestors. */
  private concerns(p: string): boolean {
    return p === this.path || this.path.startsWith(p + "/");
  }

  /** Ends the watch when the condition holds; true if it did. */
  private check(ev: Deno.FsEvent | null): boolean {
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
        const onPath = ev !== null && ev.paths.includes(this.path);
        const byEvent = onPath &&
          (ev.kind === "create" || ev.kind === "modify" || (ev.kind === "rename" && now !== null));
        // Without an event on the path itself (first check, a directory that appeared, `other`
        // events), compare with what was there when the watch started.
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
