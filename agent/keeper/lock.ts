/**
 * `<state-dir>/keeper.lock`: flock(2)ed by the keeper of a state directory
 * for as long as it serves (a process of its own, or embedded in its agent),
 * so that there is one keeper, and so one agent, per directory. It holds the
 * pid of whoever took it, for people (and tests) looking for the keeper.
 */
import { keeperPaths } from "./paths.ts";

/** The lock, taken (close it to release); null when another keeper holds it. */
export function takeKeeperLock(stateDir: string): Deno.FsFile | null {
  Deno.mkdirSync(stateDir, { recursive: true });
  const lock = Deno.openSync(keeperPaths(stateDir).lock, {
    read: true,
    write: true,
    create: true,
  });
  if (!lock.tryLockSync(true)) {
    lock.close();
    return null;
  }
  lock.truncateSync(0);
  lock.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));
  return lock;
}
