/**
 * The agent's diagnostics on stderr. Anything a remote peer can trigger goes
 * through a `RateLimitedLog`, so a flood of bad messages cannot turn into a
 * flood of log lines (or of CPU spent writing them).
 */
const encoder = new TextEncoder();

export function log(message: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`agent: ${message}\n`));
  } catch {
    // stderr closed: nowhere left to say it.
  }
}

/** Logs at most one line per interval; the next line says how many were suppressed. */
export class RateLimitedLog {
  private last = -Infinity;
  private suppressed = 0;

  constructor(private readonly intervalMs = 1000) {}

  report(message: string): void {
    const now = performance.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const more = this.suppressed > 0 ? ` (${this.suppressed} similar messages suppressed)` : "";
    this.suppressed = 0;
    log(message + more);
  }
}
