/**
 * A view of a run: it sees every event, then the summary. Views are
 * independent consumers of the library's event stream; the CLI picks a few
 * and feeds them the same events.
 */
import type { RunEvent, RunSummary } from "../mod.ts";

export interface RunView {
  event(e: RunEvent): void;
  end(summary: RunSummary): void;
}

/** Feeds a run's events to every view, then its summary; resolves with the summary. */
export async function present(
  run: AsyncIterable<RunEvent> & { done: Promise<RunSummary> },
  views: RunView[],
): Promise<RunSummary> {
  for await (const e of run) for (const v of views) v.event(e);
  const summary = await run.done;
  for (const v of views) v.end(summary);
  return summary;
}
