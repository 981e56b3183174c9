/**
 * `controller watch` conditions as typed (`port 127.0.0.1:9000`, `file PATH
 * removed`, `output PROC REGEX`, `cmd -- CMD`), their refusals, and how the
 * results read: ready lines, the hosts not ready grouped, the summary line.
 */
import assert from "node:assert/strict";
import { describeCondition, parseConditionWords } from "../../controller/watch_condition.ts";
import {
  formatElapsed,
  notReadyLines,
  readyLine,
  watchSummaryLine,
} from "../../controller/render/watch.ts";
import type { WatchHostResult, WatchSummary } from "../../controller/watch_request.ts";

Deno.test("watch conditions: each kind as typed", () => {
  assert.deepEqual(parseConditionWords(["port", "9000"]), { kind: "port", port: 9000 });
  assert.deepEqual(parseConditionWords(["port", "127.0.0.1:9000"]), {
    kind: "port",
    port: 9000,
    address: "127.0.0.1",
  });
  assert.deepEqual(parseConditionWords(["port", "[::1]:80"]), {
    kind: "port",
    port: 80,
    address: "::1",
  });
  assert.deepEqual(parseConditionWords(["file", "/tmp/x"]), {
    kind: "file",
    path: "/tmp/x",
    event: "exists",
  });
  assert.deepEqual(parseConditionWords(["file", "rel/x", "removed"]), {
    kind: "file",
    path: "rel/x",
    event: "removed",
  });
  assert.deepEqual(parseConditionWords(["exit", "p1"]), { kind: "exit", proc: "p1" });
  assert.deepEqual(parseConditionWords(["exit", "web:0"]), { kind: "exit", proc: "web:0" });
  assert.deepEqual(parseConditionWords(["output", "web:*", "ready"]), {
    kind: "output",
    proc: "web:*",
    pattern: "ready",
  });
  assert.deepEqual(parseConditionWords(["state", "web", "running"]), {
    kind: "state",
    proc: "web",
    state: "RUNNING",
  });
  assert.deepEqual(
    parseConditionWords(["output", "p1", "^ready"], { stream: "stderr", flags: "i", from: "now" }),
    { kind: "output", proc: "p1", pattern: "^ready", flags: "i", stream: "stderr", from: "now" },
  );
  assert.deepEqual(parseConditionWords(["cmd", "curl", "-sf", "http://x/"], { interval: 0.5 }), {
    kind: "command",
    argv: ["curl", "-sf", "http://x/"],
    interval: 0.5,
  });
  assert.deepEqual(parseConditionWords(["cmd", "test -e /x", "&&", "true"], { shell: true }), {
    kind: "command",
    shell: "test -e /x && true",
  });
});

Deno.test("watch conditions: refusals say what was expected", () => {
  const refused = (words: string[], message: RegExp, flags = {}) =>
    assert.throws(() => parseConditionWords(words, flags), (e: Error) => {
      assert.match(e.message, message);
      assert.equal((e as { code?: string }).code, "EINVAL");
      return true;
    });
  refused([], /missing the CONDITION/);
  refused(
    ["ports", "1"],
    /unknown condition "ports": expected port, file, exit, output, state or cmd/,
  );
  refused(["port"], /expected "port \[ADDR:\]PORT"/);
  refused(["port", "0"], /expected a port number from 1 to 65535/);
  refused(["port", "65536"], /expected a port number/);
  refused(["port", "x:80"], /"x" is not an IPv4 or IPv6 address/);
  refused(["port", "::1:80"], /IPv6 address in brackets/);
  refused(["port", "300.1.1.1:80"], /not an IPv4 or IPv6 address/);
  refused(["file", "/x", "touched"], /file: .*"event": expected "exists", "modified", "removed"/);
  refused(["file", "/x", "exists", "extra"], /expected "file PATH/);
  refused(["exit", "bad id!"], /exit: "proc": "bad id!" is not a process/);
  refused(["state", "web"], /expected "state PROG STATE"/);
  refused(["state", "web", "asleep"], /state: "state": expected a program state .* got "ASLEEP"/);
  refused(["state", "web", "RUNNING"], /--from does not apply to a state condition/, {
    from: "now",
  });
  refused(["output", "p1", "("], /not a regular expression/);
  refused(["output", "p1"], /expected "output PROC REGEX"/);
  refused(["cmd"], /expected "cmd -- CMD/);
  refused(["port", "80"], /--stream does not apply to a port condition/, { stream: "stdout" });
  refused(["output", "p", "x"], /--interval does not apply/, { interval: 1 });
});

Deno.test("watch conditions: described as typed", () => {
  const round = (words: string[]) => describeCondition(parseConditionWords(words));
  assert.equal(round(["port", "9000"]), "port 9000");
  assert.equal(round(["port", "[::1]:9000"]), "port [::1]:9000");
  assert.equal(round(["port", "10.0.0.1:22"]), "port 10.0.0.1:22");
  assert.equal(round(["file", "/tmp/x", "modified"]), "file /tmp/x modified");
  assert.equal(round(["exit", "p"]), "exit p");
  assert.equal(round(["output", "p", "a+"]), "output p /a+/");
  assert.equal(round(["cmd", "true"]), "cmd true");
  assert.equal(round(["state", "web:*", "Running"]), "state web:* RUNNING");
});

function result(host: string, status: WatchHostResult["status"], more = {}): WatchHostResult {
  return { host, status, elapsed: 2100, at: 0, detail: "d", ...more };
}

Deno.test("watch report: ready lines, hosts not ready grouped, summary", () => {
  assert.equal(formatElapsed(250), "250ms");
  assert.equal(formatElapsed(2100), "2.1s");
  assert.equal(formatElapsed(184_000), "3m04s");
  assert.equal(
    readyLine(result("g5k-3", "met", { detail: "0.0.0.0:9000 is listening" })),
    "g5k-3: ready after 2.1s (0.0.0.0:9000 is listening)",
  );
  assert.equal(
    readyLine(result("g5k-3", "met", { detail: "matched", line: "server up" })),
    "g5k-3: ready after 2.1s (matched): server up",
  );
  const hosts = [
    result("g5k-1", "met"),
    result("g5k-2", "timeout", { detail: "nothing listened on port 9 within 1s" }),
    result("g5k-3", "timeout", { detail: "nothing listened on port 9 within 1s", elapsed: 999 }),
    result("g5k-4", "failed", { detail: "no process p1", error: { code: "ESRCH", message: "x" } }),
    result("g5k-5", "noresponse", { detail: "no answer within 5.0s" }),
    result("g5k-6", "lost", { detail: "no heartbeat from g5k-6 for 15.2s" }),
    result("g5k-7", "cancelled", { detail: "cancelled" }),
  ];
  assert.deepEqual(notReadyLines(hosts), [
    "g5k-[2-3]: not ready: nothing listened on port 9 within 1s",
    "g5k-4: failed: ESRCH no process p1",
    "g5k-6: lost: no heartbeat from g5k-6 for 15.2s",
    "g5k-7: cancelled",
  ]);
  const summary: WatchSummary = { id: "w", mode: "all", hosts, ok: false };
  assert.equal(
    watchSummaryLine(summary),
    "7 hosts: 1 ready, 2 timed out (g5k-[2-3]), 1 failed (g5k-4), 1 lost (g5k-6), " +
      "1 no response (g5k-5), 1 cancelled (g5k-7)",
  );
  assert.equal(
    watchSummaryLine({ id: "w", mode: "any", hosts: [], ok: false }),
    "0 hosts: none selected or answering",
  );
});
