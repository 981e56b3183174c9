/**
 * Prints `resolveConnectFlags(<flags as JSON>)` as one JSON line: `{ok: flags}` or
 * `{error: {code, message}}`. protocol_connect_options_test.ts runs it in a child process
 * because the environment it reads (NATS_URL, XDG_CONFIG_HOME, ...) is shared by every test
 * module running in parallel in the test process.
 */
import { resolveConnectFlags } from "../../protocol/connection/connect_flags.ts";
import { TuttiError } from "../../protocol/errors.ts";

try {
  console.log(JSON.stringify({ ok: await resolveConnectFlags(JSON.parse(Deno.args[0] ?? "{}")) }));
} catch (e) {
  if (!(e instanceof TuttiError)) throw e;
  console.log(JSON.stringify({ error: e.toWire() }));
}
