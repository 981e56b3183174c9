/**
 * Summaries of repeated measurements. Medians and nearest-rank percentiles
 * rather than means: a benchmark on a shared 2-core machine has outliers
 * (a GC pause, another process's burst) that a mean would smear into every
 * figure.
 */

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile (`q` in 0..1) of already sorted values. */
function rank(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) {
    return { n: 0, median: NaN, p95: NaN, min: NaN, max: NaN, mean: NaN };
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    n: sorted.length,
    median,
    p95: rank(sorted, 0.95),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** Element-wise sum of equally long series (e.g. per-round raw round trip + spawn). */
export function addSeries(a: number[], b: number[]): number[] {
  const n = Math.min(a.length, b.length);
  return Array.from({ length: n }, (_, i) => a[i] + b[i]);
}
