/**
 * Assertions for the wire errors of protocol/: the code, and the words the
 * message must contain (a field name, a path), since a precise message is
 * part of the contract.
 */
import { fail, match, strictEqual } from "node:assert/strict";
import { type ErrorCode, TuttiError } from "../../protocol/errors.ts";

function check(e: unknown, code: ErrorCode, words: (string | RegExp)[]): TuttiError {
  if (!(e instanceof TuttiError)) {
    fail(`expected a TuttiError ${code}, got ${e instanceof Error ? e.stack : String(e)}`);
  }
  strictEqual(e.code, code, `code of: ${e.message}`);
  for (const w of words) {
    if (typeof w === "string") {
      if (!e.message.includes(w)) {
        fail(`message ${JSON.stringify(e.message)} lacks ${JSON.stringify(w)}`);
      }
    } else {
      match(e.message, w);
    }
  }
  return e;
}

/** `fn()` throws a TuttiError with `code` whose message contains every one of `words`. */
export function assertTuttiError(
  fn: () => unknown,
  code: ErrorCode,
  ...words: (string | RegExp)[]
): TuttiError {
  try {
    fn();
  } catch (e) {
    return check(e, code, words);
  }
  fail(`expected a TuttiError ${code}, nothing was thrown`);
}

/** The same for a promise. */
export async function assertRejectsTutti(
  p: Promise<unknown>,
  code: ErrorCode,
  ...words: (string | RegExp)[]
): Promise<TuttiError> {
  try {
    await p;
  } catch (e) {
    return check(e, code, words);
  }
  fail(`expected a TuttiError ${code}, the promise resolved`);
}
