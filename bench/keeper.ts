/**
 * The keeper an agent starts for its state directory (agent/keeper/): a
 * process of its own, detached from the agent, that the benchmark did not
 * start and so does not track. Found by the pid it writes into
 * `<state-dir>/keeper.lock`; measured beside its agent; made sure to be gone
 * once its agent has stopped.
 */
import { keeperPaths } from "../agent/keeper/paths.ts";
import { cmdline } from "./proc_stat.ts";

/** A keeper asked to leave gets this long to do so before SIGKILL. */
const EXIT_GRACE_MS = 5_000;
const POLL_MS = 50;

export class Keeper {
  private constructor(readonly pid: number, private readonly stateDir: string) {}

  /** The keeper of `stateDir`, which its agent has started before saying hello. */
  static of(stateDir: string): Keeper {
    const lock = keeperPaths(stateDir).lock;
    const pid = Number(Deno.readTextFileSync(lock).trim());
    const keeper = new Keeper(pid, stateDir);
    if (!Number.isInteger(pid) || pid <= 0 || !keeper.alive()) {
      throw new Error(`${lock} names no running keeper of ${stateDir}`);
    }
    return keeper;
  }

  /** Still this keeper: a recycled pid runs another command line. */
  alive(): boolean {
    const argv = cmdline(this.pid);
    if (argv === null) return false;
    const at = argv.indexOf("--state-dir");
    return argv.includes("keeper") && at >= 0 && argv[at + 1] === this.stateDir;
  }

  /**
   * Once its agent has stopped cleanly, the keeper leaves by itself when no
   * process is left; it ignores SIGTERM (a stop is its agent's to decide),
   * so one that stays is killed. Its exit cannot be awaited (it is not our
   * child): /proc is polled. Answers whether it had to be killed.
   */
  async gone(): Promise<boolean> {
    const deadline = Date.now() + EXIT_GRACE_MS;
    while (this.alive()) {
      if (Date.now() > deadline) {
        try {
          Deno.kill(this.pid, "SIGKILL");
        } catch { /* exited meanwhile */ }
        return true;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return false;
  }
}
