/**
 * The agent's running watches by id: what the `watch` and `unwatch` verbs
 * act on. A retried `watch` with the same id and request answers the running
 * watch instead of starting a second one. Each watch's outcome goes to
 * `onResult` exactly once (for `P.watch.<host>.<id>`), after which its id is
 * free again.
 */
import { TuttiError } from "../../protocol/errors.ts";
import { newId } from "../../protocol/runtime/ids.ts";
import {
  DEFAULT_WATCH_TIMEOUT_S,
  type UnwatchResult,
  type WatchCondition,
  type WatchReply,
  type WatchRequest,
  type WatchResult,
} from "../../protocol/watch_messages.ts";
import { createWatch, type WatchContext } from "./create_watch.ts";
import type { Watch } from "./watch.ts";

interface Entry {
  watch: Watch;
  key: string;
  started: number;
  deadline: number;
}

export interface WatchTableOptions extends WatchContext {
  /** Called once per watch with its outcome; the agent publishes it. */
  onResult(id: string, condition: WatchCondition, result: WatchResult): void;
}

export class WatchTable {
  private readonly watches = new Map<string, Entry>();

  constructor(private readonly opts: WatchTableOptions) {}

  get size(): number {
    return this.watches.size;
  }

  ids(): string[] {
    return [...this.watches.keys()];
  }

  /** Starts a watch (synchronously up to its first resource); throws EEXIST, ESRCH, EINVAL, ENOSYS, ENOSPC, EMFILE. */
  start(req: WatchRequest): WatchReply {
    // Whole ms: `deadline` is an integer on the wire (a timeout may be 0.0015 s).
    const timeoutMs = Math.round((req.timeout ?? DEFAULT_WATCH_TIMEOUT_S) * 1000);
    const key = JSON.stringify([req.condition, timeoutMs]);
    const id = req.id ?? this.newId();
    const old = this.watches.get(id);
    if (old) {
      if (old.key === key) {
        return { watch: id, existing: true, started: old.started, deadline: old.deadline };
      }
      throw new TuttiError("EEXIST", `watch id ${id} is already used by another watch`);
    }
    const watch = createWatch(req.condition, timeoutMs, this.opts);
    const started = Date.now();
    const entry: Entry = { watch, key, started, deadline: started + timeoutMs };
    const outcome = watch.start(); // throws ENOSPC, EMFILE: nothing started
    this.watches.set(id, entry);
    outcome.then((result) => {
      this.watches.delete(id);
      this.opts.onResult(id, req.condition, result);
    });
    return { watch: id, existing: false, started, deadline: entry.deadline };
  }

  /** Cancels watches; each answers once everything it held is released (its outcome is `cancelled`). */
  async cancel(ids: string[]): Promise<UnwatchResult[]> {
    return await Promise.all(ids.map(async (id): Promise<UnwatchResult> => {
      const e = this.watches.get(id);
      if (!e) {
        return {
          watch: id,
          ok: false,
          error: { code: "ESRCH", message: `no running watch ${id} on this host` },
        };
      }
      await e.watch.cancel();
      return { watch: id, ok: true };
    }));
  }

  /** Cancels every watch (the agent is stopping). */
  async close(): Promise<void> {
    await this.cancel(this.ids());
  }

  private newId(): string {
    for (;;) {
      const id = newId("w");
      if (!this.watches.has(id)) return id;
    }
  }
}
