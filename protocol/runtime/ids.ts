/**
 * Fresh ids for processes, watches and runs, chosen by whichever side starts
 * them: a one-letter prefix, a time in base 36 and five random base-36
 * characters. Short, one valid subject token, never repeated within one
 * process (the time part moves forward by one millisecond when two ids are
 * asked for in the same one), and unlikely to meet an id of another
 * controller or of an earlier run of the same agent.
 */
let lastTime = 0;

export function newId(prefix: string): string {
  lastTime = Math.max(Date.now(), lastTime + 1);
  const rand = Math.floor(Math.random() * 36 ** 5).toString(36).padStart(5, "0");
  return `${prefix}${lastTime.toString(36)}${rand}`;
}
