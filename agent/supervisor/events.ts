/**
 * What the supervisor tells the world: every state change of every process,
 * every reload with its diff, and notices (SIGKILL after stoptime, an output
 * file that cannot be written, processes left by an earlier agent). The
 * event log file and `tutti.log.<host>` are both fed from here.
 *
 * `message` reads like supervisord's log (`exited: web:0 (exit status 1;
 * not expected)`), so the event log is readable without a decoder.
 */
import type {
  ProgramEvent,
  ProgramNoticeEvent,
  ProgramReloadEvent,
  ProgramStateEvent,
} from "../../protocol/program_messages.ts";
import { log } from "../log.ts";

// The events are the wire's (`P.log.<host>` carries them as they are): one set of types.
export type StateEvent = ProgramStateEvent;
export type ReloadEvent = ProgramReloadEvent;
export type NoticeEvent = ProgramNoticeEvent;
export type SupervisorEvent = ProgramEvent;

export type EventListener = (e: SupervisorEvent) => void;

/** Fans events out to listeners and async iterators; a listener's exception stays its own. */
export class EventHub {
  private readonly listeners = new Set<EventListener>();

  /** Returns the removal. */
  subscribe(fn: EventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: SupervisorEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        log(`supervisor event listener failed: ${(err as Error).stack ?? err}`);
      }
    }
  }

  /**
   * Every later event until `signal` aborts. Events wait in memory until the
   * loop takes them: iterate promptly.
   */
  async *iterate(signal?: AbortSignal): AsyncGenerator<SupervisorEvent> {
    const queue: SupervisorEvent[] = [];
    let wake: (() => void) | null = null;
    const stop = this.subscribe((e) => {
      queue.push(e);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      while (!signal?.aborted) {
        const e = queue.shift();
        if (e !== undefined) {
          yield e;
          continue;
        }
        await new Promise<void>((r) => wake = r);
        wake = null;
      }
    } finally {
      stop();
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
