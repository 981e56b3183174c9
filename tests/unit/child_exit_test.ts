/**
 * How a child ended, including the deaths Deno cannot name: a real-time
 * signal makes `ChildProcess.status` reject although the child was reaped.
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { childExit, fromRejection } from "../../agent/child_exit.ts";

function sh(script: string): Deno.ChildProcess {
  return new Deno.Command("sh", { args: ["-c", script], stdout: "null", stderr: "null" }).spawn();
}

Deno.test("childExit: exit codes and signals Deno names", async () => {
  deepStrictEqual(await childExit(sh("exit 3")), { code: 3, signal: null });
  deepStrictEqual(await childExit(sh("kill -KILL $$")), { code: null, signal: "SIGKILL" });
  deepStrictEqual(await childExit(sh("kill -16 $$")), { code: null, signal: "SIGSTKFLT" });
});

Deno.test("childExit: a real-time signal is reported by its number, and the child is reaped", async () => {
  for (const n of [34, 35, 50, 64]) {
    const child = sh(`kill -${n} $$`);
    deepStrictEqual(await childExit(child), { code: null, signal: `SIGRT${n}` });
    let exists = true;
    try {
      Deno.statSync(`/proc/${child.pid}`);
    } catch {
      exists = false;
    }
    ok(!exists, `pid ${child.pid} is gone (no zombie left)`);
  }
});

Deno.test("childExit: a rejection it cannot read still ends the process", () => {
  deepStrictEqual(fromRejection(new TypeError("Invalid signal: 34")), {
    code: null,
    signal: "SIGRT34",
  });
  const odd = fromRejection(new Error("something else"));
  deepStrictEqual([odd.code, odd.signal], [null, null]);
  ok(odd.unreadable?.includes("something else"), odd.unreadable);
  // A number past Linux's signals is not made into a name.
  deepStrictEqual(fromRejection(new TypeError("Invalid signal: 99")).signal, null);
});
