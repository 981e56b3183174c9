/**
 * The work queue in the recommended deployment (the server configuration
 * `controller nats-config` writes, with JetStream): its permissions are
 * enough for a controller to submit, cancel and read a queue and for the
 * agents to take its tasks (one started later finding the queue by
 * itself); a viewer may not submit.
 */
import assert from "node:assert/strict";
import { nkeyAuthenticator } from "@nats-io/transport-node";
import { CONTROLLER_JS, DENO, until, World } from "./harness.ts";
import { opts } from "./transfer_support.ts";

Deno.test("queue under nats-config's permissions", opts, async () => {
  const keysDir = await Deno.makeTempDir({ prefix: "tutti-keys-" });
  const store = await Deno.makeTempDir({ prefix: "tutti-js-" });
  const keys = `${keysDir}/keys`;
  const conf = `${keysDir}/auth.conf`;
  const made = await new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "--no-config",
      CONTROLLER_JS,
      "nats-config",
      "--agents",
      "qa-[1-2]",
      "--keys",
      keys,
      "--out",
      conf,
    ],
  }).output();
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
  const seed = async (f: string) =>
    new TextEncoder().encode((await Deno.readTextFile(`${keys}/${f}`)).trim());
  const world = await World.create({
    brokerArgs: ["-c", conf, "-js", "-sd", store],
    connect: { authenticator: nkeyAuthenticator(await seed("controller.nk")) },
  });
  try {
    await world.agent("qa-1", { args: ["--nkey", `${keys}/agents/qa-1.nk`] });
    const as = (who: string) => ({ env: { NATS_NKEY: `${keys}/${who}` } });
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
    const late = await world.agent("qa-2", { args: ["--nkey", `${keys}/agents/qa-2.nk`] });
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
    await Deno.remove(keysDir, { recursive: true }).catch(() => {});
    await Deno.remove(store, { recursive: true }).catch(() => {});
  }
});
