/**
 * A command succeeds: it is run, `interval` after the end of the previous run,
 * until it exits 0. Each run (a probe) has its own process group and its own
 * timeout, after which the whole group is killed; when the watch ends, a
 * probe still running is killed with its group and reaped before the outcome
 * is delivered.
 */
import {
  type CommandCondition,
  DEFAULT_PROBE_INTERVAL_S,
  DEFAULT_PROBE_TIMEOUT_S,
} from "../../protocol/watch_messages.ts";
import { setLongTimeout, withTimeout } from "../../protocol/runtime/timers.ts";
import { childExit } from "../child_exit.ts";
import { signalGroup, spawnGroup, type SpawnSpec } from "../spawn.ts";
import { BaseWatch, seconds } from "./watch.ts";

/** The end of a failed probe's output kept for the outcome's detail. */
const TAIL_BYTES = 400;
/** How long a probe's pipes may stay open after its process group is gone. */
const PIPE_GRACE_MS = 200;

export class CommandWatch extends BaseWatch {
  private readonly spec: SpawnSpec;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  private probes = 0;
  private last = "no probe finished";
  /** pid (= process group) of the probe running now, for tests. */
  probePid: number | null = null;

  constructor(readonly command: CommandCondition, timeoutMs: number) {
    super(command, timeoutMs);
    this.spec = {
      argv: command.argv ?? ["/bin/sh", "-c", command.shell!],
      cwd: command.cwd,
      env: command.env,
    };
    this.intervalMs = (command.interval ?? DEFAULT_PROBE_INTERVAL_S) * 1000;
    this.probeTimeoutMs = (command.probeTimeout ?? DEFAULT_PROBE_TIMEOUT_S) * 1000;
  }

  protected async run(): Promise<void> {
    while (!this.done) {
      // A spawn error (ENOENT, EACCES...) will not go away by retrying: it ends the watch.
      const child = spawnGroup(this.spec);
      this.probes++;
      this.probePid = child.pid;
      let reaped = false;
      const exited = childExit(child).then((s) => {
        reaped = true;
        return s;
      });
      const kill = () => {
        // The group, or while the leader is unreaped and has not made its group yet (the agent
        // spawns through setsid(1)), the leader alone. Once reaped, its pid may be anyone's.
        try {
          signalGroup(child.pid, "SIGKILL", !reaped);
        } catch {
          // EPERM: a setuid descendant; the leader is ours and dies all the same
        }
      };
      const release = this.hold(async () => {
        kill();
        await exited;
        kill(); // what the leader started before it died
      });
      let timedOut = false;
      const cancelTimer = setLongTimeout(() => {
        timedOut = true;
        kill();
      }, this.probeTimeoutMs);
      const out = new Tail(child.stdout);
      const err = new Tail(child.stderr);
      const status = await exited;
      cancelTimer();
      // The leader is gone; its group may not be (a background `&`): a probe leaves nothing.
      await release();
      // The pipes end with the group. A descendant that left the group may still hold them:
      // then stop reading after a moment.
      const drained = Promise.all([out.text, err.text]);
      await withTimeout(drained, PIPE_GRACE_MS, () => {});
      out.stop();
      err.stop();
      const said = ((await err.text) || (await out.text)).trim();
      this.probePid = null;
      if (this.done) return;
      if (status.code === 0) {
        return this.finish("met", `${this.name()} succeeded (probe ${this.probes})`);
      }
      const why = timedOut
        ? `was killed after its ${seconds(this.probeTimeoutMs)} timeout`
        : status.signal !== null
        ? `was killed by ${status.signal}`
        : status.code !== null
        ? `exited with code ${status.code}`
        : `ended: ${status.unreadable}`;
      this.last = `probe ${this.probes} ${why}${said ? `: ${said}` : ""}`;
      await this.sleep(this.intervalMs);
    }
  }

  protected timeoutDetail(): string {
    return `${this.name()} did not succeed within ${seconds(this.timeoutMs)}; ${this.last}`;
  }

  private name(): string {
    return this.command.shell !== undefined
      ? JSON.stringify(this.command.shell)
      : this.spec.argv.join(" ");
  }
}

/** Reads a pipe to its end (a probe never blocks on a full pipe), keeping its last bytes. */
class Tail {
  /** The last TAIL_BYTES read, once the pipe ended or `stop` was called. */
  readonly text: Promise<string>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
    this.text = this.pump();
  }

  stop(): void {
    this.reader.cancel().catch(() => {});
  }

  private async pump(): Promise<string> {
    let keep = new Uint8Array(0);
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) break;
        const joined = new Uint8Array(Math.min(TAIL_BYTES, keep.length + value.length));
        const fromChunk = Math.min(value.length, joined.length);
        joined.set(keep.subarray(keep.length - (joined.length - fromChunk)), 0);
        joined.set(value.subarray(value.length - fromChunk), joined.length - fromChunk);
        keep = joined;
      }
    } catch {
      // cancelled or broken: what was read is what there is
    }
    return new TextDecoder().decode(keep);
  }
}
