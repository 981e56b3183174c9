// What nats-core 3.4 throws for a request nobody serves, told apart from a timeout.
import assert from "node:assert/strict";
import { NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { isNoResponders } from "../../controller/connection.ts";

Deno.test("isNoResponders: nats-core's RequestError caused by NoRespondersError", () => {
  const cause = new NoRespondersError("tutti.host.ghost.logs");
  // Its name is "NoResponders", not the class name: a check by name misses it.
  assert.equal(cause.name, "NoResponders");
  assert.ok(isNoResponders(new RequestError("request failed", { cause })));
  assert.ok(isNoResponders(cause));
  assert.ok(!isNoResponders(new TimeoutError()));
  assert.ok(!isNoResponders(new RequestError("connection disconnected")));
  assert.ok(!isNoResponders(new Error("no responders, says a message")));
});
