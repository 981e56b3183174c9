/**
 * One inotify watcher per directory for all the file watches of the agent,
 * and a re-check of every condition of a directory whenever anything happens
 * in it.
 *
 * Why: Deno keeps one inotify instance per process and hands every event of
 * a directory to every `Deno.watchFs` on it through a small bounded queue
 * that drops what does not fit. 200 watches on one directory each received
 * every event of the 200 files (600 events to filter) and lost most of them:
 * watches ended "did not appear" with their file present. Even a single
 * watcher loses events while the agent is busy (5000 files created in a
 * burst: 2 events delivered). Events are therefore only a wake-up: a dropped
 * event happens while the queue is full, so an event still queued is read
 * after it, and the re-check that follows (a `stat` of each condition's path)
 * sees what the dropped event was about. The same holds for the kernel's own
 * queue overflow (`rescan`) and for the watcher's errors.
 */
import { TuttiError } from "../../protocol/errors.ts";

export interface DirectoryListener {
  /**
   * Something happened in the directory. `events` are those since the last
   * call (possibly none of this listener's: events may have been lost), and
   * `stale` is true when the directory's watcher is gone (the directory was
   * removed or renamed, or the watcher failed): the listener must subscribe
   * again, from wherever its path now is.
   */
  changed(events: readonly Deno.FsEvent[], stale: boolean): void;
}

/** Events kept between two re-checks; past this, listeners compare states only. */
const MAX_PENDING_EVENTS = 4096;

class Directory {
  readonly listeners = new Set<DirectoryListener>();
  private pending: Deno.FsEvent[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly watcher: Deno.FsWatcher,
    private readonly onStale: (d: Directory, why: string) => void,
  ) {
    void this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.watcher.close();
    } catch {
      // Already closed.
    }
  }

  private async pump(): Promise<void> {
    let why = "its watcher ended";
    try {
      for await (const ev of this.watcher) {
        if (this.pending.length < MAX_PENDING_EVENTS) this.pending.push(ev);
        // The directory itself removed or renamed: its inotify watch is gone with it.
        if (ev.paths.includes(this.path) && (ev.kind === "remove" || ev.kind === "rename")) {
          why = `${this.path} was ${ev.kind === "remove" ? "removed" : "renamed"}`;
          break;
        }
        this.schedule();
      }
    } catch (e) {
      why = `its watcher failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (this.closed) return;
    this.close();
    this.onStale(this, why);
    const events = this.pending.splice(0);
    for (const l of [...this.listeners]) l.changed(events, true);
  }

  /** One re-check for a burst of events: they come one by one, each a task of its own. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      if (this.closed) return;
      const events = this.pending.splice(0);
      for (const l of [...this.listeners]) {
        if (this.listeners.has(l)) l.changed(events, false);
      }
    }, 0);
  }
}

export class DirectoryWatchers {
  private readonly dirs = new Map<string, Directory>();

  /** Directories watched now (for tests: one watcher per directory, none left). */
  get watched(): string[] {
    return [...this.dirs.keys()];
  }

  /**
   * Adds `listener` to the watcher of `dir`, making one if none; returns the
   * unsubscribe function (the watcher is closed with its last listener).
   * Throws ENOSPC or EMFILE when an inotify limit is reached, naming its sysctl.
   */
  subscribe(dir: string, listener: DirectoryListener): () => void {
    let d = this.dirs.get(dir);
    if (!d) {
      let watcher: Deno.FsWatcher;
      try {
        watcher = Deno.watchFs(dir, { recursive: false });
      } catch (e) {
        throw watchError(dir, e);
      }
      d = new Directory(dir, watcher, (stale) => {
        if (this.dirs.get(stale.path) === stale) this.dirs.delete(stale.path);
      });
      this.dirs.set(dir, d);
    }
    const entry = d;
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0) {
        entry.close();
        if (this.dirs.get(dir) === entry) this.dirs.delete(dir);
      }
    };
  }
}

/** The agent's one registry: every file watch of the process shares it. */
export const directoryWatchers = new DirectoryWatchers();

/**
 * A failed `Deno.watchFs` as a wire error: a kernel limit names its sysctl and
 * its current value; anything else keeps the system's words.
 */
export function watchError(dir: string, e: unknown): TuttiError {
  const raw = e instanceof Error ? e.message : String(e);
  if (/os error 28\b|no space left|watch limit/i.test(raw)) {
    return new TuttiError(
      "ENOSPC",
      `cannot watch ${dir}: the inotify watch limit is reached (fs.inotify.max_user_watches = ` +
        `${sysctl("max_user_watches")}); raise it, e.g. sysctl fs.inotify.max_user_watches=524288`,
      { cause: e },
    );
  }
  if (/os error 24\b|too many open files/i.test(raw)) {
    return new TuttiError(
      "EMFILE",
      `cannot watch ${dir}: the inotify instance limit is reached (fs.inotify.max_user_instances = ` +
        `${sysctl("max_user_instances")}), or this process's open file limit (ulimit -n); raise ` +
        `it, e.g. sysctl fs.inotify.max_user_instances=1024`,
      { cause: e },
    );
  }
  if (e instanceof Deno.errors.NotFound) {
    return new TuttiError("ENOENT", `cannot watch ${dir}: it no longer exists`, { cause: e });
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new TuttiError("EACCES", `cannot watch ${dir}: permission denied`, { cause: e });
  }
  return new TuttiError("EIO", `cannot watch ${dir}: ${raw}`, { cause: e });
}

function sysctl(name: string): string {
  try {
    return Deno.readTextFileSync(`/proc/sys/fs/inotify/${name}`).trim();
  } catch {
    return "unknown";
  }
}
