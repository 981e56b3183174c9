/**
 * Starting the commands the benchmark times or keeps running: each child is
 * tracked by the scope, its output is drained (a full pipe would stall it)
 * into a short tail kept for error messages, and timed runs have a deadline
 * after which the child is killed.
 */
import type { Scope } from "./scope.ts";

const TAIL_BYTES = 4096;

/** Keeps the last few KiB of a stream, read to its end, and tells waiters when a pattern shows up. */
export class Tail {
  private text = "";
  private ended = false;
  private readonly waiters: { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }[] =
    [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private partial = "";
  readonly done: Promise<void>;
  constructor(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    this.done = (async () => {
      try {
        for await (const chunk of stream) {
          const text = decoder.decode(chunk, { stream: true });
          this.text = (this.text + text).slice(-TAIL_BYTES);
          this.lines(text);
          this.wake();
        }
      } catch { /* the child was killed: its stream ends here */ }
      this.ended = true;
      this.wake();
    })();
  }

  /** Resolves when `pattern` matches the tail; rejects when the stream ends first or at the deadline. */
  waitFor(pattern: RegExp, what: string, timeoutMs: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(
      () => reject(new Error(`${what} not ready within ${timeoutMs} ms:\n${this.text}`)),
      timeoutMs,
    );
    this.waiters.push({
      pattern,
      resolve,
      reject: (e) => reject(new Error(`${what}: ${e.message}`)),
    });
    this.wake();
    return promise.finally(() => clearTimeout(timer));
  }

  /**
   * Calls `fn` with every complete line from now on (for counting what a
   * talkative child says past the kept tail); returns the removal.
   */
  onLine(fn: (line: string) => void): () => void {
    this.lineListeners.add(fn);
    return () => this.lineListeners.delete(fn);
  }

  private lines(text: string): void {
    if (this.lineListeners.size === 0) return;
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) for (const fn of this.lineListeners) fn(line);
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (w.pattern.test(this.text)) w.resolve();
      else if (this.ended) w.reject(new Error(`exited before it was ready:\n${this.text}`));
      else continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
    }
  }

  toString(): string {
    return this.text;
  }
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** A long-running child with its own stop in a scope cleanup (see Scope.track). */
  service?: boolean;
}

export interface Started {
  child: Deno.ChildProcess;
  stdout: Tail;
  stderr: Tail;
}

export function start(scope: Scope, cmd: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = scope.track(
    new Deno.Command(cmd, {
      args,
      env: opts.env,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn(),
    opts.service,
  );
  return { child, stdout: new Tail(child.stdout), stderr: new Tail(child.stderr) };
}

export interface TimedRun {
  /** Wall time from just before the spawn to the exit status, in ms. */
  ms: number;
  code: number;
  timedOut: boolean;
  /** The end of stderr (or stdout when stderr is empty), for failure reports. */
  output: string;
  /** With `peak`: the child's peak resident memory (VmHWM) in MiB, read as it ran. */
  peakMiB?: number;
  /** With `peak`: each reading, as [ms since the spawn, VmHWM in MiB]. */
  peakTrace?: [number, number][];
}

/** How often `timed` reads a child's VmHWM: it only grows, so only the last moments are missed. */
const HWM_POLL_MS = 50;

export async function timed(
  scope: Scope,
  cmd: string,
  args: string[],
  opts: SpawnOptions & {
    timeoutMs: number;
    /** Every complete line of stdout (the kept tail is short: for counting what the child says). */
    onStdoutLine?: (line: string) => void;
    /** Follow the child's peak resident memory (`peakMiB`). */
    peak?: boolean;
  },
): Promise<TimedRun> {
  const t0 = performance.now();
  const s = start(scope, cmd, args, opts);
  let peakMiB: number | undefined;
  const peakTrace: [number, number][] = [];
  const poll = () => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${s.child.pid}/status`));
      if (m) {
        peakMiB = Number(m[1]) / 1024;
        peakTrace.push([performance.now() - t0, peakMiB]);
      }
    } catch { /* it has exited */ }
  };
  const poller = opts.peak ? setInterval(poll, HWM_POLL_MS) : undefined;
  // Registered before the first chunk is read: reading starts on a later turn.
  if (opts.onStdoutLine) s.stdout.onLine(opts.onStdoutLine);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      s.child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, opts.timeoutMs);
  const status = await s.child.status;
  const ms = performance.now() - t0;
  clearTimeout(timer);
  clearInterval(poller);
  await Promise.all([s.stdout.done, s.stderr.done]);
  const output = String(s.stderr).trim() || String(s.stdout).trim();
  return { ms, code: status.code, timedOut, output, ...(opts.peak && { peakMiB, peakTrace }) };
}

/** Runs a command to completion and answers its stdout (for versions and setup steps). */
export async function capture(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const d = new TextDecoder();
    return { ok: out.success, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  } catch (e) {
    return { ok: false, stdout: "", stderr: (e as Error).message };
  }
}
