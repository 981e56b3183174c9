/**
 * "Did you mean": the closest known word to a misspelt one, for the
 * configuration and plan readers' unknown-key errors.
 */

/** The closest of `keys` within two edits of `key` (case ignored), or null. */
export function suggest(key: string, keys: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of keys) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
