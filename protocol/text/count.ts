/** A number of things, for people: `1 agent`, `3 agents`, `0 hosts` (plurals with an `s`). */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
