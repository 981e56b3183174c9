/**
 * The work queue in the recommended deployment (the server configuration
 * `controller nats-config` writes, with JetStream): its permissions are
 * enough for a controller to submit, cancel and read a queue and for the
 * agents to take its tasks (one started later finding the queue by
 * itself); a viewer may not submit.
 */
import assert from "node:assert/strict";
import { nkeyAuthenticator } from "@nats-io/transport-node";
import { until, World } from "./harness.ts";
import { natsConfigured, opts } from "./transfer_support.ts";

Deno.test("queue under nats-config's permissions", opts, async () => {
  const auth = await natsConfigured("qa-[1-2]");
  const world = await World.create({
    brokerArgs: ["-c", auth.conf, "-js", "-sd", auth.store],
    connect: { authenticator: nkeyAuthenticator(await auth.seed("controller.nk")) },
  });
  try {
    await world.agent("qa-1", { args: ["--nkey", `${auth.keys}/agents/qa-1.nk`] });
    const as = auth.as;
    const submit = ["queue", "submit", "--hosts", "qa-*", "--slots", "2", "--name", "aq"];
    const r = await world.controller(
      [...submit, "--", "echo", "{}", ":::", ...Array.from({ length: 12 }, (_, i) => `t${i}`)],
      as("controller.nk"),
    );
    assert.match(r.stderr, /12 tasks: 12 done in [\d.]+s on qa-1/);
    // An agent that starts later finds the queue by itself (its scan needs its permissions too).
    const long = await world.controller(
      [...submit, "--detach", "--", "sleep 30; echo {}", ":::", "a", "b", "c", "d", "e", "f"],
      as("controller.nk"),
    );
    assert.equal(long.code, 0, long.stderr);
    const late = await world.agent("qa-2", { args: ["--nkey", `${auth.keys}/agents/qa-2.nk`] });
    await until(
      "the late agent taking the queue",
      () => late.output.join("").includes("queue aq: taking its tasks"),
      20_000,
    );
    const cancel = await world.controller(["queue", "cancel", "aq"], as("controller.nk"));
    assert.equal(cancel.code, 0, cancel.stderr);
    const status = await world.controller(["queue", "status", "aq", "--json"], as("controller.nk"));
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout), {
      name: "aq",
      total: 18,
      pending: 0,
      running: 0,
      done: 12,
      failed: 0,
      cancelled: 6,
    });
    const viewer = await world.controller([...submit, "--", "echo", ":::", "x"], as("viewer.nk"));
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /EPERM/);
  } finally {
    await world.close();
    await auth.remove();
  }
});
