/** The table behind the `watch` and `unwatch` verbs, with real file and command watches. */
import type { ProcessSource } from "../../agent/watch/process_source.ts";
import { WatchTable } from "../../agent/watch/watch_table.ts";
import type { WatchCondition, WatchResult } from "../../protocol/watch_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

interface Outcome {
  id: string;
  condition: WatchCondition;
  result: WatchResult;
}

/** A table whose outcomes can be awaited one by one. */
function table(processes?: ProcessSource) {
  const outcomes: Outcome[] = [];
  const waiting: ((o: Outcome) => void)[] = [];
  const t = new WatchTable({
    processes,
    onResult: (id, condition, result) => {
      const o = { id, condition, result };
      const w = waiting.shift();
      if (w) w(o);
      else outcomes.push(o);
    },
  });
  const next = () =>
    outcomes.length > 0
      ? Promise.resolve(outcomes.shift()!)
      : new Promise<Outcome>((r) => waiting.push(r));
  return { t, next, outcomes };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return "none";
}

Deno.test("a watch's outcome is reported once, with its id, and the id is free again", async () => {
  const dir = await Deno.makeTempDir();
  const { t, next } = table();
  try {
    const condition: WatchCondition = { kind: "file", path: `${dir}/f`, event: "exists" };
    const reply = t.start({ id: "w1", condition, timeout: 10 });
    assert(reply.watch === "w1" && !reply.existing, "started");
    assert(reply.deadline - reply.started === 10_000, "deadline");
    assert(t.ids().join() === "w1", "one watch");
    await Deno.writeTextFile(`${dir}/f`, "");
    const o = await next();
    assert(o.id === "w1" && o.result.status === "met", `${o.id} ${o.result.status}`);
    assert(o.condition === condition, "the condition comes with the outcome");
    assert(t.size === 0, "gone from the table");
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a retry answers the running watch; another request with its id is EEXIST", async () => {
  const { t, next } = table();
  try {
    const condition: WatchCondition = { kind: "command", argv: ["false"], interval: 0.05 };
    const a = t.start({ id: "same", condition, timeout: 30 });
    const b = t.start({ id: "same", condition, timeout: 30 });
    assert(b.existing && b.started === a.started, "the retry is the same watch");
    assert(t.size === 1, "one watch");
    const other = { kind: "command" as const, argv: ["true"] };
    assert(
      code(() => t.start({ id: "same", condition: other, timeout: 30 })) === "EEXIST",
      "EEXIST",
    );
    const ids = new Set([t.start({ condition: other }).watch, t.start({ condition: other }).watch]);
    assert(
      ids.size === 2 && [...ids].every((id) => /^w[0-9a-z]+$/.test(id)),
      `made ids ${[...ids]}`,
    );
    for (let i = 0; i < 2; i++) assert((await next()).result.status === "met", "true succeeds");
  } finally {
    await t.close();
  }
});

Deno.test("unwatch cancels (outcome cancelled); an unknown id is ESRCH", async () => {
  const { t, next } = table();
  t.start({ id: "long", condition: { kind: "command", shell: "sleep 30" }, timeout: 60 });
  const results = await t.cancel(["long", "nope"]);
  assert(results[0].ok && results[0].watch === "long", "cancelled");
  assert(!results[1].ok && results[1].error?.code === "ESRCH", "unknown");
  const o = await next();
  assert(o.id === "long" && o.result.status === "cancelled", o.result.status);
  assert(t.size === 0, "empty");
});

Deno.test("process conditions are refused at once for an unknown process or without a table", () => {
  const none = table();
  assert(
    code(() => none.t.start({ condition: { kind: "exit", proc: "p1" } })) === "ENOSYS",
    "no process table",
  );
  const empty: ProcessSource = {
    has: () => false,
    onExit: () => () => {},
    onOutput: () => () => {},
    readOutput: () => Promise.resolve(new Uint8Array()),
  };
  const { t } = table(empty);
  assert(code(() => t.start({ condition: { kind: "exit", proc: "p1" } })) === "ESRCH", "ESRCH");
  assert(t.size === 0, "nothing started");
});

Deno.test("close cancels every watch and leaves nothing running", async () => {
  const dir = await Deno.makeTempDir();
  const { t, outcomes } = table();
  t.start({ condition: { kind: "file", path: `${dir}/x`, event: "exists" } });
  t.start({ condition: { kind: "port", port: 1 } });
  t.start({ condition: { kind: "command", shell: "sleep 30" } });
  await t.close();
  assert(t.size === 0, "empty");
  assert(outcomes.length === 3, `outcomes: ${outcomes.length}`);
  assert(outcomes.every((o) => o.result.status === "cancelled"), "all cancelled");
  await Deno.remove(dir, { recursive: true });
});
