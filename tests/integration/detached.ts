/**
 * Processes a test started with `controller run --detach` outlive their agent
 * when the test's world kills it (they lead their own process groups): a test
 * keeps their pids from the `started` lines and ends their groups itself.
 */

/** Pids (= process groups) from `--detach` lines `host: started ID (pid N)`. */
export function startedPids(stdout: string): number[] {
  return [...stdout.matchAll(/^\S+: started \S+ \(pid (\d+)\)$/gm)].map((m) => Number(m[1]));
}

/** SIGKILL to each group; a group already gone is fine. */
export function killGroups(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}
