/**
 * Runs started by the supervisor's own process (no keeper): the pipes are
 * read here and written to the program's files here, so the runs end with
 * this process. The agent uses its keeper instead (agent/keeper_launcher.ts);
 * this serves the supervisor on its own, as its tests run it.
 */
import type { StreamName } from "../../protocol/messages.ts";
import { childExit } from "../child_exit.ts";
import { StdinPipe } from "../stdin_pipe.ts";
import { launch } from "./launch.ts";
import { OutputFile } from "./output.ts";
import { startTicks } from "./process_group.ts";
import type {
  Adoptable,
  Launcher,
  Reaped,
  RunHandle,
  RunOutput,
  RunRequest,
} from "./run_handle.ts";

/** Bytes read from an output pipe at a time. */
const PIPE_CHUNK = 64 * 1024;

export class DirectLauncher implements Launcher {
  private readonly files = new Map<string, Record<StreamName, OutputFile | null>>();

  constructor(private readonly notice: (process: string, message: string) => void) {}

  // deno-lint-ignore require-await
  async start(req: RunRequest): Promise<RunHandle> {
    let files = this.files.get(req.process);
    if (files === undefined) {
      const file = (path: string | null) =>
        path === null
          ? null
          : new OutputFile(path, (why) => this.notice(req.process, `output file ${why}`));
      files = { stdout: file(req.stdout), stderr: file(req.stderr) };
      this.files.set(req.process, files);
    }
    return new DirectRun(req, files, this.notice); // a spawn error rejects
  }

  adoptable(): Adoptable[] {
    return [];
  }

  reopen(): void {
    for (const f of this.files.values()) {
      f.stdout?.reopen();
      f.stderr?.reopen();
    }
  }

  dispose(process: string): void {
    const f = this.files.get(process);
    f?.stdout?.close();
    f?.stderr?.close();
    this.files.delete(process);
  }
}

class DirectRun implements RunHandle {
  readonly pid: number;
  readonly startTicks: number | null;
  readonly started = Date.now();
  readonly reaped: Promise<Reaped>;
  readonly drained: Promise<void>;
  private readonly stdin: StdinPipe;
  private output: RunOutput = () => {};

  constructor(
    private readonly req: RunRequest,
    files: Record<StreamName, OutputFile | null>,
    private readonly notice: (process: string, message: string) => void,
  ) {
    const child = launch(req.launch);
    this.pid = child.pid;
    this.startTicks = startTicks(child.pid);
    this.stdin = new StdinPipe(child.stdin, req.process);
    const pumps: Promise<void>[] = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const file = files[stream];
      if (file !== null) pumps.push(this.pump(stream, child[stream], file));
    }
    this.reaped = childExit(child).then((s) => {
      this.closeInput();
      return { ...s, ended: Date.now() };
    });
    this.drained = Promise.all(pumps).then(() => {});
  }

  onOutput(fn: RunOutput): void {
    this.output = fn;
  }

  onNotice(): void {
    // Its notices go through the launcher's: the output files outlive a run here.
  }

  write(data: Uint8Array): Promise<void> {
    return this.stdin.write(data);
  }

  closeInput(): void {
    this.stdin.close();
  }

  release(): void {}

  /**
   * Copies one pipe to its file, then to the supervisor, until EOF (it may
   * outlive the run). One buffer is read into again and again, so a program
   * that writes without pause costs no allocation per chunk.
   */
  private async pump(
    stream: StreamName,
    pipe: ReadableStream<Uint8Array>,
    file: OutputFile,
  ): Promise<void> {
    const reader = pipe.getReader({ mode: "byob" });
    let buffer = new ArrayBuffer(PIPE_CHUNK);
    try {
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(buffer));
        if (done || value === undefined) break;
        await file.write(value);
        await this.output(stream, value);
        buffer = value.buffer as ArrayBuffer;
      }
    } catch (e) {
      this.notice(this.req.process, `reading ${stream}: ${(e as Error).message}`);
    }
  }
}
