/**
 * A view of a run: it sees every event, then the summary. Views are
 * independent consumers of the library's event stream; the CLI picks a few
 * and feeds them the same events.
 */
import type { RunEvent, RunSummary } from "../mod.ts";

export interface RunView {
  event(e: RunEvent): void;
  /** The end of a burst: no more events are waiting. A view that buffers writes now. */
  flush?(): void;
  end(summary: RunSummary): void;
}

/**
 * Feeds a run's events to every view, tells them when a burst of events is
 * over (the run has no more waiting: `queued` is 0), then gives them the
 * summary; resolves with it.
 */
export async function present(
  run: AsyncIterable<RunEvent> & { done: Promise<RunSummary>; queued?: number },
  views: RunView[],
): Promise<RunSummary> {
  for await (const e of run) {
    for (const v of views) v.event(e);
    if (!run.queued) { for (const v of views) v.flush?.(); }
  }
  const summary = await run.done;
  for (const v of views) v.end(summary);
  return summary;
}
