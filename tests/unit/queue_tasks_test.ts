import assert from "node:assert/strict";
import {
  checkPlaceholders,
  combinationRows,
  combinations,
  expandCommand,
  makeTasks,
  splitSources,
  TASK_ID_LENGTH,
  TaskNamer,
} from "../../protocol/queue_tasks.ts";
import { shellQuote } from "../../protocol/shell_word.ts";
import {
  checkQueueName,
  isFinal,
  parseQueueConfig,
  parseQueueRequest,
  parseTaskState,
  pendingState,
  retryDelayMs,
  taskProcId,
  type TaskStateName,
} from "../../protocol/queue_messages.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";
import { describeTask } from "../../controller/render/queue.ts";

Deno.test("queue tasks: ::: lists give every combination, the first list slowest", () => {
  const { command, lists } = splitSources(["echo", "{1}-{2}", ":::", "a", "b", ":::", "x", "y"]);
  assert.deepEqual(command, ["echo", "{1}-{2}"]);
  assert.deepEqual(combinations(lists), [["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]]);
  assert.deepEqual(splitSources(["true"]), { command: ["true"], lists: [] });
  assertTuttiError(() => splitSources(["echo", ":::"]), "EINVAL", "empty ::: list");
  assertTuttiError(() => splitSources([":::", "a"]), "EINVAL", "no command");
});

Deno.test("queue tasks: placeholders replaced by quoted arguments, or arguments appended", () => {
  assert.equal(expandCommand("echo {}", ["a b"], 1), "echo 'a b'");
  assert.equal(expandCommand("cp {1} {2}.out", ["x", "it's"], 1), `cp x 'it'\\''s'.out`);
  assert.equal(expandCommand("echo {#}: {}", ["a", "b"], 7), "echo 7: a b");
  assert.equal(expandCommand("echo", ["a", "$HOME"], 1), "echo a '$HOME'");
  // Braces that are not placeholders stay for the shell.
  assert.equal(expandCommand("echo ${HOME} {a,b}", [], 1), "echo ${HOME} {a,b}");
  assert.equal(shellQuote("plain-1.txt"), "plain-1.txt");
  assert.equal(shellQuote(""), "''");
});

Deno.test("queue tasks: a bad placeholder is EINVAL naming it", () => {
  checkPlaceholders("echo {} {1} {2} {#}", 2);
  assertTuttiError(() => checkPlaceholders("echo {3}", 2), "EINVAL", "{3}", "{1} to {2}");
  assertTuttiError(() => checkPlaceholders("echo {0}", 1), "EINVAL", "{0}");
  assertTuttiError(() => checkPlaceholders("echo {.}", 1), "EINVAL", "{.} is not supported");
  assertTuttiError(() => checkPlaceholders("echo {1/}", 1), "EINVAL", "{1/}");
});

Deno.test("queue tasks: stable ids, distinct for repeated arguments", () => {
  const a = makeTasks("echo {}", [["x"], ["y"], ["x"]]);
  const b = makeTasks("echo {}", [["x"], ["y"], ["x"]]);
  assert.deepEqual(a, b);
  assert.equal(new Set(a.map((t) => t.id)).size, 3);
  assert.match(a[0].id, /^t[0-9a-f]{15}$/);
  // A submission sizes its tasks before computing their ids, with this length.
  assert.equal(a[0].id.length, TASK_ID_LENGTH);
  assert.notEqual(makeTasks("echo -n {}", [["x"]])[0].id, a[0].id);
});

Deno.test("queue tasks: named one row at a time, as a whole array names them", () => {
  const rows = Array.from({ length: 2000 }, (_, i) => [String(i % 300)]);
  const namer = new TaskNamer("sleep {}");
  const one = rows.map((r) => namer.next(r));
  assert.deepEqual(one, makeTasks("sleep {}", rows));
  // 2000 tasks over 300 command lines: each repeat gets an id of its own.
  assert.equal(new Set(one.map((t) => t.id)).size, 2000);
  assert.deepEqual(one.map((t) => t.seq), rows.map((_, i) => i + 1));
});

Deno.test("queue tasks: combinations made as asked, in parallel's order", () => {
  const lists = [["a", "b"], ["x"], ["1", "2", "3"]];
  assert.deepEqual([...combinationRows(lists)], [
    ["a", "x", "1"],
    ["a", "x", "2"],
    ["a", "x", "3"],
    ["b", "x", "1"],
    ["b", "x", "2"],
    ["b", "x", "3"],
  ]);
  assert.deepEqual([...combinationRows([])], []);
  assert.deepEqual([...combinationRows([["a"], []])], []);
  // Made one at a time: the first comes without the others being made.
  const big = combinationRows([Array.from({ length: 1e6 }, (_, i) => `${i}`), ["p", "q"]]);
  assert.deepEqual(big.next().value, ["0", "p"]);
  assert.deepEqual(big.next().value, ["0", "q"]);
  assert.deepEqual(big.next().value, ["1", "p"]);
});

Deno.test("queue messages: request and state parsers, names, backoff", () => {
  const req = { name: "sweep", slots: 2, lease: 30, retries: 1, backoff: 1 };
  assert.deepEqual(parseQueueRequest(req), req);
  const limited = { ...req, timeout: 5, maxLoad: 1.5, minFreeMem: 1 << 30 };
  assert.deepEqual(parseQueueRequest(limited), limited);
  assertTuttiError(() => parseQueueRequest({ ...req, maxLoad: -1 }), "EINVAL", "maxLoad");
  const config = { ...req, target: { hosts: "n-[1-3]" }, cancelled: true, drained: ["n-2"] };
  assert.deepEqual(parseQueueConfig(JSON.parse(JSON.stringify(config))), {
    ...config,
    target: { hosts: "n-[1-3]", exclude: undefined, where: undefined },
  });
  assertTuttiError(() => parseQueueRequest({ ...req, slots: 0 }), "EINVAL", "slots");
  assertTuttiError(() => parseQueueRequest({ ...req, lease: 0 }), "EINVAL", "lease");
  assertTuttiError(
    () => parseQueueRequest({ ...req, name: "a.b" }),
    "EINVAL",
    "not a subject token",
  );
  assertTuttiError(() => checkQueueName("a b"), "EINVAL", '"a b"');
  const s = pendingState({ id: "t1", args: ["a"], shell: "echo a" });
  assert.deepEqual(parseTaskState(JSON.parse(JSON.stringify(s))), s);
  assertTuttiError(() => parseTaskState({ ...s, state: "lost" }), "EBADMSG", "state");
  // An attempt whose command never ran says why.
  const never = {
    ...s,
    state: "failed" as const,
    code: 127,
    error: { code: "EEXIST" as const, message: "process id q-t1-1 is already used" },
  };
  assert.deepEqual(parseTaskState(JSON.parse(JSON.stringify(never))), never);
  assert.equal(describeTask(never), "EEXIST process id q-t1-1 is already used");
  assert.equal(describeTask({ ...never, error: undefined }), "exit 127");
  assert.deepEqual(
    ["pending", "running", "done", "failed", "cancelled"].map((x) => isFinal(x as TaskStateName)),
    [false, false, true, true, true],
  );
  assert.deepEqual([1, 2, 3, 10].map((n) => retryDelayMs(1, n)), [1000, 2000, 4000, 60_000]);
});

Deno.test("process ids: the same task in two queues never shares one; long queue names fit", () => {
  const [task] = makeTasks("echo {}", [["a"]]);
  const [again] = makeTasks("echo {}", [["a"]]);
  // A task's id is its command line's: the same sweep twice has the same ids ...
  assert.equal(task.id, again.id);
  // ... and its attempts still get a process id of their own in each queue.
  assert.notEqual(taskProcId("sweep1", task.id, 1), taskProcId("sweep2", task.id, 1));
  assert.equal(taskProcId("sweep1", task.id, 2), `sweep1-${task.id}-2`);
  const long = "q".repeat(128);
  const id = taskProcId(long, task.id, 12);
  assert.ok(id.length <= 128, id);
  assert.match(id, new RegExp(`^q[0-9a-f]{15}-${task.id}-12$`));
  assert.notEqual(id, taskProcId(long.slice(1) + "r", task.id, 12));
});
