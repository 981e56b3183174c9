/**
 * `exit` and `output` watches on real processes. The process table is stood
 * in for by `Processes` below: real children whose pipes are pumped with
 * byte offsets into an in-memory spool, exit reported after the last output,
 * which is the contract `ProcessSource` states.
 */
import type { ProcessExit, ProcessSource } from "../../agent/watch/process_source.ts";
import { ExitWatch, OutputWatch } from "../../agent/watch/process_watch.ts";
import { TuttiError } from "../../protocol/errors.ts";
import type { StreamName } from "../../protocol/messages.ts";
import type { OutputCondition } from "../../protocol/watch_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

type OutputCb = (stream: StreamName, offset: number, data: Uint8Array) => void;

class Proc {
  spool: Record<StreamName, Uint8Array[]> = { stdout: [], stderr: [] };
  size: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  exit: ProcessExit | null = null;
  outputCbs = new Set<OutputCb>();
  exitCbs = new Set<(e: ProcessExit) => void>();
  done: Promise<void>;
  child: Deno.ChildProcess;

  constructor(script: string) {
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", script],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.child = child;
    this.done = (async () => {
      const [status] = await Promise.all([
        child.status,
        this.pump("stdout", child.stdout),
        this.pump("stderr", child.stderr),
      ]);
      this.exit = { code: status.signal ? null : status.code, signal: status.signal };
      for (const cb of this.exitCbs) cb(this.exit);
    })();
  }

  async pump(stream: StreamName, pipe: ReadableStream<Uint8Array>) {
    for await (const chunk of pipe) {
      const offset = this.size[stream];
      this.spool[stream].push(chunk);
      this.size[stream] += chunk.length;
      for (const cb of this.outputCbs) cb(stream, offset, chunk);
    }
  }

  read(stream: StreamName, offset: number, limit: number): Uint8Array {
    const all = new Uint8Array(this.size[stream]);
    let at = 0;
    for (const c of this.spool[stream]) {
      all.set(c, at);
      at += c.length;
    }
    return all.slice(offset, offset + limit);
  }
}

class Processes implements ProcessSource {
  procs = new Map<string, Proc>();

  start(id: string, script: string): Proc {
    const p = new Proc(script);
    this.procs.set(id, p);
    return p;
  }

  has(proc: string): boolean {
    return this.procs.has(proc);
  }

  private get(proc: string): Proc {
    const p = this.procs.get(proc);
    if (!p) throw new TuttiError("ESRCH", `no process ${proc}`);
    return p;
  }

  onExit(proc: string, cb: (e: ProcessExit) => void): () => void {
    const p = this.get(proc);
    if (p.exit) {
      const e = p.exit;
      queueMicrotask(() => cb(e));
      return () => {};
    }
    p.exitCbs.add(cb);
    return () => p.exitCbs.delete(cb);
  }

  onOutput(proc: string, cb: OutputCb): () => void {
    const p = this.get(proc);
    p.outputCbs.add(cb);
    return () => p.outputCbs.delete(cb);
  }

  readOutput(proc: string, stream: StreamName, offset: number, limit: number) {
    return Promise.resolve(this.get(proc).read(stream, offset, limit));
  }

  /** Callbacks still registered: a finished watch must have removed its own. */
  listeners(proc: string): number {
    const p = this.get(proc);
    return p.outputCbs.size + p.exitCbs.size;
  }

  async stop(): Promise<void> {
    for (const p of this.procs.values()) {
      try {
        p.child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await p.done;
    }
  }
}

async function withProcesses(fn: (ps: Processes) => Promise<void>): Promise<void> {
  const ps = new Processes();
  try {
    await fn(ps);
  } finally {
    await ps.stop();
  }
}

function output(proc: string, pattern: string, more: Partial<OutputCondition> = {}) {
  return { kind: "output" as const, proc, pattern, ...more };
}

Deno.test("output: a line printed later matches; the line is in the outcome", () =>
  withProcesses(async (ps) => {
    ps.start("srv", "echo starting; sleep 0.2; echo 'listening on 4242'; exec sleep 30");
    const w = new OutputWatch(output("srv", "listening on (\\d+)"), 10_000, ps);
    const r = await w.start();
    assert(r.status === "met", `${r.status}: ${r.detail}`);
    assert(r.line === "listening on 4242", `line ${r.line}`);
    assert(r.detail === "process srv printed a matching line on stdout", r.detail);
    assert(ps.listeners("srv") === 0, "the watch removed its callbacks");
  }));

Deno.test("output: a line split across chunks matches", () =>
  withProcesses(async (ps) => {
    ps.start("p", "printf 'rea'; sleep 0.2; printf 'dy\\r\\n'; exec sleep 30");
    const r = await new OutputWatch(output("p", "^ready$"), 10_000, ps).start();
    assert(r.status === "met" && r.line === "ready", `${r.status} ${r.line}`);
  }));

Deno.test("output: from start, a line printed before the watch counts; from now, it does not", () =>
  withProcesses(async (ps) => {
    const p = ps.start("early", "echo ready; echo other >&2");
    await p.done;
    const r = await new OutputWatch(output("early", "ready"), 10_000, ps).start();
    assert(r.status === "met" && r.line === "ready", `${r.status}: ${r.detail}`);
    const now = await new OutputWatch(output("early", "ready", { from: "now" }), 10_000, ps)
      .start();
    assert(now.status === "failed", now.status);
    assert(
      now.detail === "process early exited with code 0 before a line matched /ready/",
      now.detail,
    );
  }));

Deno.test("output: only the chosen stream is read", () =>
  withProcesses(async (ps) => {
    ps.start("s", "echo 'err: boom' >&2; sleep 0.1; echo 'out: boom'; exec sleep 30");
    const r = await new OutputWatch(output("s", "boom", { stream: "stdout" }), 10_000, ps).start();
    assert(r.status === "met" && r.line === "out: boom", `${r.line}`);
    const e = await new OutputWatch(
      output("s", "BOOM", { stream: "stderr", flags: "i" }),
      10_000,
      ps,
    )
      .start();
    assert(e.status === "met" && e.line === "err: boom", `${e.line}`);
  }));

Deno.test("output: an unterminated last line is tested when the process exits", () =>
  withProcesses(async (ps) => {
    ps.start("t", "sleep 0.1; printf 'done without newline'");
    const r = await new OutputWatch(output("t", "newline$"), 10_000, ps).start();
    assert(r.status === "met" && r.line === "done without newline", `${r.status} ${r.line}`);
  }));

Deno.test("output: the process exits without a match, the watch fails saying so", () =>
  withProcesses(async (ps) => {
    ps.start("x", "echo one; echo two; exit 4");
    const r = await new OutputWatch(output("x", "three"), 10_000, ps).start();
    assert(r.status === "failed", r.status);
    assert(r.detail === "process x exited with code 4 before a line matched /three/", r.detail);
  }));

Deno.test("output: a timeout says how many lines were tested", () =>
  withProcesses(async (ps) => {
    ps.start("q", "echo a; echo b; exec sleep 30");
    const r = await new OutputWatch(output("q", "never"), 300, ps).start();
    assert(r.status === "timeout", r.status);
    assert(r.detail.endsWith("(2 lines tested)"), r.detail);
    assert(ps.listeners("q") === 0, "callbacks removed after a timeout");
  }));

Deno.test("exit: met with the exit code, or the signal", () =>
  withProcesses(async (ps) => {
    ps.start("e", "sleep 0.1; exit 3");
    const r = await new ExitWatch({ kind: "exit", proc: "e" }, 10_000, ps).start();
    assert(r.status === "met" && r.detail === "process e exited with code 3", r.detail);
    const k = ps.start("k", "exec sleep 30");
    const w = new ExitWatch({ kind: "exit", proc: "k" }, 10_000, ps);
    const result = w.start();
    k.child.kill("SIGTERM");
    const rk = await result;
    assert(rk.detail === "process k was killed by SIGTERM", rk.detail);
    // Already exited: met at once.
    const again = await new ExitWatch({ kind: "exit", proc: "e" }, 10_000, ps).start();
    assert(again.status === "met", again.status);
  }));

Deno.test("exit: cancel removes the callback", () =>
  withProcesses(async (ps) => {
    ps.start("c", "exec sleep 30");
    const w = new ExitWatch({ kind: "exit", proc: "c" }, 10_000, ps);
    const result = w.start();
    assert(ps.listeners("c") === 1, "registered");
    await w.cancel();
    assert(ps.listeners("c") === 0, "removed");
    assert((await result).status === "cancelled", "cancelled");
  }));

Deno.test("output: spool replay and live chunks together test every line exactly once", () =>
  withProcesses(async (ps) => {
    // The watch starts while the lines are being written: some come from the spool, some live.
    ps.start("n", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo line $i; done; exec sleep 30");
    const r = await new OutputWatch(output("n", "never"), 1500, ps).start();
    assert(r.status === "timeout", r.status);
    assert(r.detail.endsWith("(3000 lines tested)"), r.detail);
  }));
