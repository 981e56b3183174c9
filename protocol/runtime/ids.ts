/**
 * Fresh ids for processes, watches and runs, chosen by whichever side starts
 * them: a one-letter prefix, the time in base 36 and four random base-36
 * characters. Short, one valid subject token, and unlikely to meet an id of
 * another controller or of an earlier run of the same agent.
 */
export function newId(prefix: string): string {
  const rand = Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, "0");
  return `${prefix}${Date.now().toString(36)}${rand}`;
}
