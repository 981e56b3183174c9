/**
 * Quoting for the POSIX shell on the other end of ssh: every value the
 * installer puts in a remote command or script goes through `shQuote`, so a
 * directory or an argument with spaces or quotes stays one word.
 */

/** `it's` → `'it'\''s'`: one word for sh, whatever it holds. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `a=1; b='x y'`: shell assignments, one per line. */
export function shAssign(vars: Record<string, string>): string {
  return Object.entries(vars).map(([k, v]) => `${k}=${shQuote(v)}`).join("\n");
}
