/**
 * At most `perMinute` alerts of each kind in any 60 s: a program crashing in
 * a loop must not flood a pager or a webhook. What is left out is counted and
 * carried by the next alert of that kind (`suppressed`).
 */
const WINDOW_MS = 60_000;

export class AlertRateLimit {
  private readonly sent = new Map<string, number[]>();
  private readonly dropped = new Map<string, number>();

  constructor(readonly perMinute: number, private readonly now = () => Date.now()) {}

  /** The count of suppressed alerts to report if this one may go, else null (it is counted). */
  admit(kind: string): number | null {
    const t = this.now();
    const times = (this.sent.get(kind) ?? []).filter((x) => t - x < WINDOW_MS);
    this.sent.set(kind, times);
    if (times.length >= this.perMinute) {
      this.dropped.set(kind, (this.dropped.get(kind) ?? 0) + 1);
      return null;
    }
    times.push(t);
    const suppressed = this.dropped.get(kind) ?? 0;
    this.dropped.delete(kind);
    return suppressed;
  }
}
