// The controller's side of a run's input (controller/run_input.ts), against a recording context in
// place of the link: what it publishes and when, for hosts whose progress the tests report. The
// wire itself, with real agents and a real broker, is tests/integration/controller_stdin_test.ts.
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import type { WireError } from "../../protocol/errors.ts";
import type { InputProgress } from "../../protocol/input_messages.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import { InputFeed, type InputFeedContext } from "../../controller/run_input.ts";

const K = 64 * 1024;

class Recorder implements InputFeedContext {
  /** `stdin@offset` or `eof@offset`, in the order published. */
  readonly sent: string[] = [];
  readonly endings: [string, number, WireError | undefined][] = [];
  readonly stopped: string[][] = [];
  joining = false;
  publish(data: Uint8Array, h: Record<string, string>): boolean {
    const type = h["Tutti-Type"];
    strictEqual(type === "eof", data.length === 0);
    this.sent.push(`${type}@${Number(h["Tutti-Offset"]) / K}`);
    return true;
  }
  maxPayload(): number {
    return K + 1024; // chunks of 64 KiB
  }
  mayJoin(): boolean {
    return this.joining;
  }
  ended(host: string, written: number, error?: WireError): void {
    this.endings.push([host, written, error]);
  }
  stop(hosts: string[]): void {
    this.stopped.push(hosts);
  }
  /** Everything published since the last call. */
  take(): string[] {
    return this.sent.splice(0);
  }
}

/** Lets the feed's loop run until it waits again. */
const settle = () => new Promise((r) => setTimeout(r, 0));

function progress(
  received: number,
  written: number,
  more: Partial<InputProgress> = {},
): InputProgress {
  return { v: 1, received: received * K, written: written * K, eof: false, closed: false, ...more };
}

function exited(code: number): ProcInfo {
  return {
    id: "r1",
    host: "h",
    pid: 42,
    argv: ["cat"],
    cwd: "/",
    state: "exited",
    started: 1,
    ended: 2,
    code,
    signal: null,
    timedOut: false,
    stdout: 0,
    stderr: 0,
  };
}

Deno.test("input feed: each chunk once, never past the slowest host's written + window", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(8 * K), "r1", 2 * K, rec);
  try {
    await settle();
    deepStrictEqual(rec.take(), [], "nothing before a host has started");
    feed.hostStarted("a");
    feed.hostStarted("b");
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1"], "one window");
    feed.progress("a", progress(2, 2));
    await settle();
    deepStrictEqual(rec.take(), [], "b has written nothing: still one window past it");
    feed.progress("b", progress(2, 1));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@2"]);
    feed.progress("b", progress(3, 3));
    feed.progress("a", progress(3, 3));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@3", "stdin@4"]);
    for (const h of ["a", "b"]) feed.progress(h, progress(8, 8));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@5", "stdin@6", "stdin@7", "eof@8"]);
    strictEqual(feed.total, 8 * K);
    feed.progress("a", progress(8, 8, { eof: true, closed: true }));
    deepStrictEqual(rec.endings, [["a", 8 * K, undefined]]);
    strictEqual(feed.verdict("a", exited(0), false), undefined);
    // b's agent had written everything but not yet had the end when its process exited.
    strictEqual(feed.verdict("b", exited(0), false), undefined);
    deepStrictEqual(rec.endings.at(-1), ["b", 8 * K, undefined]);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a gap is sent again at once, from the host's received, once", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(8 * K), "r1", 4 * K, rec);
  try {
    feed.hostStarted("a");
    feed.hostStarted("b");
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1", "stdin@2", "stdin@3"]);
    feed.progress("a", progress(4, 4));
    feed.progress("b", progress(1, 1, { gap: 2 * K }));
    await settle();
    // Again from 1 to what was sent (to every host: a skips it), then on within b's window.
    deepStrictEqual(rec.take(), ["stdin@1", "stdin@2", "stdin@3", "stdin@4"]);
    feed.progress("b", progress(1, 1, { gap: 3 * K }));
    await settle();
    deepStrictEqual(rec.take(), [], "the same gap reported again at once is one request");
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a host that has not received what was sent gets it again", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(2 * K), "r1", 4 * K, rec);
  try {
    feed.hostStarted("a");
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1", "eof@2"]);
    feed.tick(Date.now());
    await settle();
    deepStrictEqual(rec.take(), [], "not before it had time to receive it");
    feed.progress("a", progress(1, 1));
    feed.tick(Date.now() + 1500);
    await settle();
    deepStrictEqual(rec.take(), ["stdin@1", "eof@2"], "the rest, and the end again");
    feed.progress("a", progress(2, 2));
    feed.tick(Date.now() + 3000);
    await settle();
    deepStrictEqual(rec.take(), ["eof@2"], "all bytes but not the end: the end again");
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a host that stays behind is sent things again less and less often", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(2 * K), "r1", 4 * K, rec);
  try {
    feed.hostStarted("a");
    await settle();
    rec.take();
    const t0 = Date.now();
    const resentAt = [];
    for (let t = 100; t <= 16_000; t += 100) {
      feed.tick(t0 + t);
      await settle();
      if (rec.take().length > 0) resentAt.push(t);
    }
    // 1 s after the last publish, then 2 s, 4 s and 8 s after each repeat.
    deepStrictEqual(resentAt, [1000, 3000, 7000, 15000]);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: an agent that restarted carries on from what its keeper wrote", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(6 * K), "r1", 4 * K, rec);
  try {
    feed.hostStarted("a");
    await settle();
    feed.progress("a", progress(4, 2));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1", "stdin@2", "stdin@3", "stdin@4", "stdin@5"]);
    // The new agent announces where the keeper got: received went down to written.
    feed.progress("a", progress(2, 2));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@2", "stdin@3", "stdin@4", "stdin@5"]);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a host that may still start holds the input at one window", async () => {
  const rec = new Recorder();
  rec.joining = true;
  const feed = new InputFeed(new Uint8Array(8 * K), "r1", 2 * K, rec);
  try {
    feed.hostStarted("a");
    await settle();
    deepStrictEqual(rec.take(), [], "a moment for the other hosts to start");
    await new Promise((r) => setTimeout(r, 250));
    feed.tick();
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1"]);
    feed.progress("a", progress(2, 2));
    await settle();
    deepStrictEqual(rec.take(), [], "the late host will need byte 0");
    feed.hostStarted("b");
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0", "stdin@1"], "it gets it");
    rec.joining = false;
    feed.progress("b", progress(2, 2));
    await settle();
    deepStrictEqual(rec.take(), ["stdin@2", "stdin@3"]);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a host that starts after the first window was dropped fails, is stopped", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(8 * K), "r1", 2 * K, rec);
  try {
    feed.hostStarted("a");
    await settle();
    feed.progress("a", progress(8, 8));
    await settle();
    rec.take();
    feed.hostStarted("late");
    strictEqual(rec.endings.length, 1);
    const [host, written, error] = rec.endings[0];
    deepStrictEqual([host, written, error?.code], ["late", 0, "EIO"]);
    match(error!.message, /bytes 0-393215 were needed again/);
    deepStrictEqual(rec.stopped, [["late"]]);
    deepStrictEqual(feed.verdict("late", exited(143), false), error);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: the verdict at exit", async () => {
  const rec = new Recorder();
  const feed = new InputFeed(new Uint8Array(8 * K), "r1", 2 * K, rec);
  try {
    for (const h of ["silent", "retried", "early", "closed"]) feed.hostStarted(h);
    await settle();
    feed.progress("early", progress(2, 1));
    const pipe = { code: "EPIPE" as const, message: "stdin closed after 65536 bytes" };
    feed.progress("closed", progress(2, 1, { closed: true, error: pipe }));
    deepStrictEqual(rec.endings, [["closed", K, pipe]]);
    // An agent that never said a word about the input does not know it.
    strictEqual(feed.verdict("silent", exited(0), false)?.code, "ENOSYS");
    // ... unless the process ran before this request (its agent had nothing more to say).
    strictEqual(feed.verdict("retried", exited(0), true), undefined);
    deepStrictEqual(feed.verdict("early", exited(0), false), {
      code: "EPIPE",
      message:
        "the process ended (exit 0) before all of its input was written: 65536 of at least 131072 bytes",
    });
    // Its agent's early close, told in the controller's words (with how the process ended).
    match(feed.verdict("closed", exited(3), false)!.message, /^the process ended \(exit 3\)/);
  } finally {
    feed.close();
  }
});

Deno.test("input feed: a source that fails stops every open host's process", async () => {
  const rec = new Recorder();
  let n = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (n++ === 0) c.enqueue(new Uint8Array(K));
      else c.error(new Error("Input/output error (os error 5)"));
    },
  });
  const feed = new InputFeed(source, "r1", 4 * K, rec);
  try {
    feed.hostStarted("a");
    feed.hostStarted("b");
    feed.progress("b", progress(0, 0, { closed: true, error: { code: "EPIPE", message: "x" } }));
    await settle();
    await settle();
    deepStrictEqual(rec.take(), ["stdin@0"]);
    const failed = rec.endings.filter(([, , e]) => e?.code === "EIO");
    deepStrictEqual(failed.map(([h, w]) => [h, w]), [["a", 0]]);
    match(failed[0][2]!.message, /reading the input failed after 65536 bytes: Input\/output error/);
    deepStrictEqual(rec.stopped, [["a"]]);
    strictEqual(feed.verdict("a", exited(143), false)?.code, "EIO");
    // A host that starts after that is stopped too.
    feed.hostStarted("c");
    deepStrictEqual(rec.stopped.at(-1), ["c"]);
    ok(feed.total === null);
  } finally {
    feed.close();
  }
});
