// Signal names: every spelling users type comes back as the canonical SIGXXX, anything else is
// EINVAL naming what was given.
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseSignal, signalExitCode, SIGNALS } from "../../protocol/signals.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

Deno.test("signals: TERM, term, sigterm, SIGTERM, 15 and ' 15 ' are SIGTERM", () => {
  for (const s of ["TERM", "term", "sigterm", "SIGTERM", "SigTerm", "15", 15, " 15 ", " TERM\n"]) {
    strictEqual(parseSignal(s), "SIGTERM", JSON.stringify(s));
  }
});

Deno.test("signals: every name and number of the table maps back to itself", () => {
  for (const [name, n] of Object.entries(SIGNALS)) {
    strictEqual(parseSignal(name), name);
    strictEqual(parseSignal(name.slice(3)), name);
    strictEqual(parseSignal(n), name);
    strictEqual(parseSignal(String(n)), name);
  }
});

Deno.test("signals: the common numbers are Linux's", () => {
  deepStrictEqual(
    [1, 2, 3, 9, 10, 12, 15, 18, 19].map((n) => parseSignal(n)),
    [
      "SIGHUP",
      "SIGINT",
      "SIGQUIT",
      "SIGKILL",
      "SIGUSR1",
      "SIGUSR2",
      "SIGTERM",
      "SIGCONT",
      "SIGSTOP",
    ],
  );
});

const BAD: (string | number)[] = [
  "",
  "SIG",
  "FOO",
  "SIGFOO",
  "SIG TERM",
  "TERM15",
  "0",
  0,
  16, // unused on Linux x86_64 (SIGSTKFLT is not offered)
  32,
  64,
  -9,
  "-9",
  1.5,
  "9.0",
  "0x9",
  NaN,
];

for (const s of BAD) {
  Deno.test(`signals: ${JSON.stringify(s) ?? String(s)} is EINVAL`, () => {
    assertTuttiError(() => parseSignal(s), "EINVAL", "unknown signal", JSON.stringify(s) ?? "");
  });
}

Deno.test("signals: exit code of a death by signal is 128 + number", () => {
  strictEqual(signalExitCode("SIGKILL"), 137);
  strictEqual(signalExitCode("SIGTERM"), 143);
  strictEqual(signalExitCode("SIGINT"), 130);
});
