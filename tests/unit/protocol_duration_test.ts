// Durations as written on command lines and in configs, answered in milliseconds.
import { strictEqual } from "node:assert/strict";
import { parseDuration } from "../../protocol/duration.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

const GOOD: [string | number, number][] = [
  ["500ms", 500],
  ["10s", 10_000],
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", 86_400_000],
  ["1.5", 1_500],
  ["1.5s", 1_500],
  ["0.25m", 15_000],
  ["2", 2_000],
  ["0", 0],
  ["0ms", 0],
  [" 10s ", 10_000],
  ["10 s", 10_000],
  ["1.0005", 1_001], // rounded to whole milliseconds
  [1.5, 1_500],
  [0, 0],
  [90, 90_000],
];

for (const [input, ms] of GOOD) {
  Deno.test(`duration: ${JSON.stringify(input)} is ${ms} ms`, () => {
    strictEqual(parseDuration(input), ms);
  });
}

const BAD: (string | number)[] = [
  "",
  "s",
  "ms",
  "abc",
  "-1",
  "-1s",
  "1.",
  ".5",
  "1e3",
  "1x",
  "10 seconds",
  "1h30m",
  "5M",
  "1,5",
  -1,
  NaN,
  Infinity,
];

for (const input of BAD) {
  Deno.test(`duration: ${JSON.stringify(input) ?? String(input)} is EINVAL`, () => {
    assertTuttiError(() => parseDuration(input), "EINVAL", "is not a duration", "500ms");
  });
}

Deno.test("duration: the message names what was being parsed", () => {
  assertTuttiError(() => parseDuration("soon", "--timeout"), "EINVAL", '--timeout "soon"');
});
