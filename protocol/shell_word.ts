/**
 * Shell words: which need no quoting, and how to quote the others, for
 * command lines that `/bin/sh` reads (queue tasks, the keeper's zygote).
 */

/** A word that needs no quoting and expands to itself: no `~`, globs, `$`, quotes or spaces. */
export const PLAIN_SHELL_WORD = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;

/** One shell word: as is when it is plain, else in single quotes. */
export function shellQuote(s: string): string {
  if (PLAIN_SHELL_WORD.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
