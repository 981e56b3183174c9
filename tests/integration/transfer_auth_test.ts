/**
 * `put` and `get` in the recommended deployment (the server configuration
 * `controller nats-config` writes, with JetStream): the permissions it
 * gives are enough for a controller's put and get, a viewer may do neither,
 * and an agent whose user lacks the direct get of the transfer stream says
 * so with EPERM instead of waiting.
 */
import assert from "node:assert/strict";
import { nkeyAuthenticator } from "@nats-io/transport-node";
import { World } from "./harness.ts";
import { natsConfigured, opts } from "./transfer_support.ts";

Deno.test(
  "put and get under nats-config's permissions; EPERM where they are refused",
  opts,
  async () => {
    const auth = await natsConfigured("au-[1-2]");
    const { conf, keys } = auth;
    // au-2's user loses the direct get of the transfer stream.
    const text = await Deno.readTextFile(conf);
    const au2 = text.indexOf("# agent au-2");
    const cut = text.indexOf(', "$JS.API.DIRECT.GET.tutti_xfer"', au2);
    assert.ok(au2 > 0 && cut > au2, "the agent's permissions name the direct get");
    await Deno.writeTextFile(
      conf,
      text.slice(0, cut) + text.slice(cut + ', "$JS.API.DIRECT.GET.tutti_xfer"'.length),
    );
    const world = await World.create({
      brokerArgs: ["-c", conf, "-js", "-sd", auth.store],
      connect: { authenticator: nkeyAuthenticator(await auth.seed("controller.nk")) },
    });
    try {
      for (const h of ["au-1", "au-2"]) {
        await world.agent(h, { args: ["--nkey", `${keys}/agents/${h}.nk`] });
      }
      const src = `${world.dir}/f.txt`;
      await Deno.writeTextFile(src, "configuration\n");
      const as = auth.as;
      const put = await world.controller(
        ["put", "--hosts", "au-[1-2]", src, `${world.dir}/{host}/f.txt`],
        as("controller.nk"),
      );
      assert.equal(put.code, 1, put.stderr);
      assert.match(put.stderr, /^au-2: EPERM the NATS server refuses this agent direct gets/m);
      assert.match(put.stderr, /^2 hosts: 1 ok, 1 failed \(au-2\)$/m);
      assert.equal(await Deno.readTextFile(`${world.dir}/au-1/f.txt`), "configuration\n");

      const get = await world.controller(
        ["get", "--hosts", "au-[1-2]", `${world.dir}/{host}/f.txt`, `${world.dir}/back`],
        as("controller.nk"),
      );
      assert.match(get.stderr, /^au-2: ENOENT reading .*au-2\/f\.txt/m); // au-2 never got it
      assert.equal(await Deno.readTextFile(`${world.dir}/back/au-1/f.txt`), "configuration\n");

      const viewer = await world.controller(
        ["put", "--hosts", "au-1", src, `${world.dir}/viewer.txt`],
        as("viewer.nk"),
      );
      assert.equal(viewer.code, 1);
      assert.match(viewer.stderr, /EPERM/);
      const viewerGet = await world.controller(
        ["get", "--hosts", "au-1", src, `${world.dir}/viewer-back`],
        as("viewer.nk"),
      );
      assert.equal(viewerGet.code, 1);
      assert.match(viewerGet.stderr, /EPERM.*publish to "tutti\.all\.get"/);
    } finally {
      await world.close();
      await auth.remove();
    }
  },
);
