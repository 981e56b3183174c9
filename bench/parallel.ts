/**
 * N copies of one command with at most `width` running at once, like pdsh's
 * fan-out: how the ssh peer is measured. The arguments may differ by copy
 * (a function of its index, 0 to N-1: e.g. one destination per host). Timed from the first spawn to the
 * last exit status; past the deadline every remaining copy is killed.
 */
import { start, type Started } from "./child.ts";
import type { Scope } from "./scope.ts";

export interface ParallelRun {
  ms: number;
  failed: number;
  /** The output of the first failure, if any. */
  error: string;
}

export async function parallel(
  scope: Scope,
  n: number,
  width: number,
  cmd: string,
  args: string[] | ((i: number) => string[]),
  timeoutMs: number,
): Promise<ParallelRun> {
  const running = new Set<Started>();
  let next = 0;
  let failed = 0;
  let error = "";
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    for (const s of running) {
      try {
        s.child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }
  }, timeoutMs);

  const t0 = performance.now();
  const lane = async () => {
    while (next < n && !late) {
      const i = next++;
      const s = start(scope, cmd, typeof args === "function" ? args(i) : args);
      running.add(s);
      const status = await s.child.status;
      running.delete(s);
      if (!status.success) {
        failed++;
        await s.stderr.done;
        error ||= `exit ${status.code}: ${String(s.stderr).trim()}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
  const ms = performance.now() - t0;
  clearTimeout(timer);
  if (late) {
    failed += n - next;
    error ||= `not finished within ${timeoutMs} ms`;
  }
  return { ms, failed, error };
}
