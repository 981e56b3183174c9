/**
 * Supervised processes started by the keeper (agent/keeper/): their pipes
 * and output files are the keeper's, so they outlive the agent, and the
 * next agent's supervisor adopts them (supervisor.ts) instead of stopping
 * and starting them again.
 *
 * The supervisor still sees every chunk of output (for `tail`, `follow`,
 * `attach`): the keeper says how far each output file has grown, and the
 * agent reads the new bytes back from the file (page cache), reopening it
 * when the keeper has (logrotate: a new generation at the same path).
 */
import { newId } from "../protocol/runtime/ids.ts";
import { TuttiError } from "../protocol/errors.ts";
import type { StreamName } from "../protocol/messages.ts";
import type { KeeperLink } from "./keeper_link.ts";
import type { ExitedMsg, GrewMsg, KeptInfo, ReapedMsg, TroubleMsg } from "./keeper/messages.ts";
import { log } from "./log.ts";
import { FileTail } from "./file_tail.ts";
import type {
  Adoptable,
  Launcher,
  Reaped,
  RunHandle,
  RunOutput,
  RunRequest,
} from "./supervisor/run_handle.ts";
import { TAIL_BYTES } from "./supervisor/output.ts";

export class KeeperLauncher implements Launcher {
  private readonly runs = new Map<string, KeptRun>();
  /** The runs an earlier agent left, tracked from the start so that no message about them is lost. */
  private kept: Adoptable[];

  constructor(private readonly keeper: KeeperLink, welcome: KeptInfo[]) {
    this.kept = welcome.filter((k) => k.program !== undefined).map((k) => {
      const handle = this.track(k, k.paths ?? { stdout: null, stderr: null });
      if (k.ended !== null) {
        handle.reapedNow(k);
        handle.drainedNow();
      }
      return { process: k.program!, key: k.key, handle };
    });
  }

  /** Whether keeper process `id` is one of these (a supervised run, not a `run`). */
  owns(id: string): boolean {
    return this.runs.has(id);
  }

  async start(req: RunRequest): Promise<RunHandle> {
    if (req.launch.tty && !this.keeper.welcome.tty) {
      // A keeper from before pseudo-terminals would start it on pipes without a word.
      throw new TuttiError(
        "ENOTSUP",
        `${req.process}: tty: true needs a newer keeper than this one, which an older agent started ` +
          "(a clean stop of the agent, SIGTERM, ends it; the next start starts a new one)",
      );
    }
    const id = newId("s");
    const kept = await this.keeper.spawn({
      id,
      key: req.key,
      spec: { argv: req.launch.argv, ...(req.launch.cwd !== null && { cwd: req.launch.cwd }) },
      live: false,
      timeoutAt: null,
      graceMs: null,
      program: { name: req.process, launch: req.launch, stdout: req.stdout, stderr: req.stderr },
    });
    return this.track(kept, { stdout: req.stdout, stderr: req.stderr });
  }

  adoptable(): Adoptable[] {
    const out = this.kept;
    this.kept = [];
    return out;
  }

  reopen(): void {
    this.keeper.reopen();
  }

  dispose(): void {}

  grew(msg: GrewMsg): void {
    this.runs.get(msg.id)?.grew(msg);
  }

  reaped(msg: ReapedMsg): void {
    this.runs.get(msg.id)?.reapedNow(msg);
  }

  exited(msg: ExitedMsg): void {
    const run = this.runs.get(msg.info.id);
    run?.reapedNow(msg.info as Reaped & KeptInfo);
    run?.drainedNow();
  }

  trouble(msg: TroubleMsg): void {
    this.runs.get(msg.id)?.notice(msg.message);
  }

  private track(kept: KeptInfo, paths: Record<StreamName, string | null>): KeptRun {
    const run = new KeptRun(kept, paths, this.keeper, () => {
      this.runs.delete(kept.id);
      this.keeper.forget([kept.id]);
    });
    this.runs.set(kept.id, run);
    return run;
  }
}

/** A program output file read back, and which opening of it (generation) is being read. */
interface ProgramTail {
  tail: FileTail;
  gen: number;
  /** For an adopted run, the file's size when the agent attached. */
  size: number;
}

class KeptRun implements RunHandle {
  readonly pid: number;
  readonly startTicks: number | null;
  readonly started: number;
  private readonly reapedP = Promise.withResolvers<Reaped>();
  private readonly drainedP = Promise.withResolvers<void>();
  readonly reaped = this.reapedP.promise;
  readonly drained = this.drainedP.promise;
  private output: RunOutput = () => {};
  private noticeFn = (message: string) => log(`${this.kept.program}: ${message}`);
  private readonly tails: Partial<Record<StreamName, ProgramTail>> = {};

  constructor(
    private readonly kept: KeptInfo,
    paths: Record<StreamName, string | null>,
    private readonly keeper: KeeperLink,
    private readonly onRelease: () => void,
  ) {
    this.pid = kept.pid;
    this.startTicks = kept.startTicks;
    this.started = kept.started;
    for (const stream of ["stdout", "stderr"] as const) {
      const path = paths[stream];
      if (path === null) continue;
      // An adopted run starts from the end of what its file holds (the last TAIL_BYTES, for `tail`).
      const at = kept.files?.[stream] ?? { size: 0, gen: 0, start: 0 };
      const tail = new FileTail(path, Math.max(at.start, at.size - TAIL_BYTES), {
        deliver: (_offset, view) => this.output(stream, view),
        problem: (why) => this.noticeFn(`reading back ${why}`),
        truncatable: true,
      });
      this.tails[stream] = { tail, gen: at.gen, size: at.size };
    }
  }

  onOutput(fn: RunOutput): void {
    this.output = fn;
    // An adopted run: the end of what is already in its files, for `tail`.
    for (const t of Object.values(this.tails)) t.tail.grew(t.size);
  }

  onNotice(fn: (message: string) => void): void {
    this.noticeFn = fn;
  }

  notice(message: string): void {
    this.noticeFn(message);
  }

  /** A new generation is a new file at the same path (the keeper reopened it after a rotation). */
  grew(msg: GrewMsg): void {
    const t = this.tails[msg.stream];
    if (t === undefined) return;
    const gen = msg.gen ?? 0;
    if (gen !== t.gen) {
      t.gen = gen;
      t.tail.reopen(msg.start ?? 0);
    }
    t.tail.grew(msg.size);
  }

  reapedNow(r: { code: number | null; signal: Reaped["signal"]; ended: number | null }): void {
    this.reapedP.resolve({ code: r.code, signal: r.signal, ended: r.ended ?? Date.now() });
  }

  drainedNow(): void {
    for (const t of Object.values(this.tails)) t.tail.close();
    this.drainedP.resolve();
  }

  write(data: Uint8Array): Promise<void> {
    return this.keeper.input(this.kept.id, data);
  }

  closeInput(): void {
    this.keeper.input(this.kept.id, undefined, true).catch(() => {});
  }

  release(): void {
    this.onRelease();
  }
}
