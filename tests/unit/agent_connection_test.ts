// The agent's PING interval follows its heartbeat, so that a half-open link is noticed within the
// bound controllers use for the agent's silence (three heartbeats).
import { strictEqual } from "node:assert/strict";
import { halfOpenBoundMs, pingIntervalMs } from "../../agent/connection.ts";
import { DEFAULT_PING_INTERVAL_MS } from "../../protocol/connection/connect_flags.ts";

Deno.test("agent connection: a PING once per heartbeat, at least every second", () => {
  strictEqual(pingIntervalMs(5000), 5000);
  strictEqual(pingIntervalMs(300), 1000, "a short test heartbeat does not make a PONG late");
  strictEqual(pingIntervalMs(0), DEFAULT_PING_INTERVAL_MS, "beats off: the default");
  // Unnoticed for at most three intervals: two PINGs out at the third, the link is dropped.
  strictEqual(halfOpenBoundMs(5000), 15_000);
  strictEqual(halfOpenBoundMs(0), 3 * DEFAULT_PING_INTERVAL_MS);
});
