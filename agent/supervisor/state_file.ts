/**
 * What survives an agent killed with SIGKILL: `<state-dir>/supervisor.json`
 * lists every running process (pid = process group, its start time in
 * /proc, its stop signal and stoptime, its definition), rewritten whenever
 * a run begins or ends; `<state-dir>/supervisor.lock` is flock(2)ed while a
 * supervisor runs, so two agents can never supervise from one state dir.
 *
 * When an agent starts and finds processes left running by its killed
 * predecessor, it STOPS them (stop signal to the group, SIGKILL after
 * stoptime) and then starts them afresh, instead of re-adopting them:
 * - their stdout and stderr were pipes to the dead agent: the next write
 *   gets EPIPE or SIGPIPE (which kills most programs), and the agent cannot
 *   get the other end back, so output would be lost and the process would
 *   likely die at a random moment anyway;
 * - they are not its children: it could not learn their exit status, so the
 *   states, exitcodes and autorestart would be guesses.
 * A process that was running (whatever its `autostart`) is started again by
 * the first configuration load if its definition is unchanged; otherwise the
 * usual autostart rule applies. Old processes are gone before new ones are
 * started: two copies never run.
 *
 * The start time guards against pid reuse: a pid whose /proc start time
 * differs belongs to someone else and is left alone. A recorded pid that no
 * longer exists may still name a group whose members outlived the leader; no
 * other group can have that id while they live (a new group's id is its
 * leader's pid, and the kernel does not hand out a pid in use as a group id),
 * so the group is stopped.
 */
import { TuttiError } from "../../protocol/errors.ts";
import type { SignalName } from "../../protocol/signals.ts";
import { groupAlive, startTicks, stopGroup } from "./process_group.ts";

export interface RunRecord {
  process: string;
  program: string;
  pid: number;
  startTicks: number | null;
  /** ms since the epoch. */
  started: number;
  stopsignal: SignalName;
  /** Seconds. */
  stoptime: number;
  /** The definition (diff.ts specKey), to restart it only if unchanged. */
  spec: string;
}

interface FileContent {
  version: 1;
  agentPid: number;
  runs: RunRecord[];
}

export class StateFile {
  private constructor(
    readonly path: string,
    private readonly lock: Deno.FsFile,
  ) {}

  /** Takes the state dir's lock; throws when another supervisor holds it. */
  static acquire(stateDir: string): StateFile {
    Deno.mkdirSync(stateDir, { recursive: true });
    const lockPath = `${stateDir}/supervisor.lock`;
    const lock = Deno.openSync(lockPath, { read: true, write: true, create: true });
    if (!lock.tryLockSync(true)) {
      lock.close();
      throw new TuttiError(
        "EEXIST",
        `another agent supervises programs from ${stateDir} (${lockPath} is locked)`,
      );
    }
    return new StateFile(`${stateDir}/supervisor.json`, lock);
  }

  /** The runs recorded by the last writer; [] when there is no usable file. */
  read(): RunRecord[] {
    try {
      const content = JSON.parse(Deno.readTextFileSync(this.path)) as FileContent;
      return Array.isArray(content.runs) ? content.runs : [];
    } catch {
      return [];
    }
  }

  /** Replaces the file atomically (a crash mid-write leaves the old one). */
  write(runs: RunRecord[]): void {
    const content: FileContent = { version: 1, agentPid: Deno.pid, runs };
    const tmp = `${this.path}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(content, null, 1) + "\n");
    Deno.renameSync(tmp, this.path);
  }

  release(): void {
    try {
      this.lock.unlockSync();
      this.lock.close();
    } catch {
      // already released
    }
  }
}

export interface Leftover {
  record: RunRecord;
  outcome: "gone" | "stopped" | "killed" | "stuck" | "pid reused" | "not permitted";
}

/** Stops every recorded group that still lives, all at once; answers what happened to each. */
export function stopLeftovers(records: RunRecord[]): Promise<Leftover[]> {
  return Promise.all(records.map(async (record): Promise<Leftover> => {
    const ticks = startTicks(record.pid);
    if (ticks !== null && ticks !== record.startTicks) return { record, outcome: "pid reused" };
    if (ticks === null && !groupAlive(record.pid)) return { record, outcome: "gone" };
    try {
      const outcome = await stopGroup(record.pid, record.stopsignal, record.stoptime * 1000);
      return { record, outcome };
    } catch {
      return { record, outcome: "not permitted" };
    }
  }));
}
