/**
 * `controller run --user NAME`: the command runs as that user, with login's
 * HOME, USER and LOGNAME; an unknown user is ENOENT naming it; an agent that
 * does not run as root may not switch (EPERM naming its uid), but may name
 * itself. The cases that need root (switching, and starting an agent as
 * another user) are skipped when the tests do not run as root.
 */
import assert from "node:assert/strict";
import { lookupUser, readPasswd } from "../../agent/supervisor/users.ts";
import { World } from "./harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const root = Deno.uid() === 0;
const nobody = lookupUser("nobody", readPasswd());

Deno.test("run --user: an unknown user is ENOENT, named", opts, async () => {
  const world = await World.create();
  try {
    await world.agentsNamed(["u-1", "u-2"]);
    const r = await world.controller([
      "run",
      "--hosts",
      "u-[1-2]",
      "--user",
      "no-such-user-here",
      "--",
      "true",
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      'u-[1-2]: ENOENT no user "no-such-user-here" in /etc/passwd\n' +
        "2 hosts: 0 ok, 2 failed (u-[1-2])\n",
    );
  } finally {
    await world.close();
  }
});

Deno.test({
  name: "run --user nobody: id says nobody, with nobody's login environment",
  ignore: !root || nobody === null,
  ...opts,
  fn: async () => {
    const world = await World.create();
    try {
      await world.agent("u-1");
      const cmd = 'echo "$(id -un) $(id -u):$(id -g) $USER $LOGNAME $HOME"';
      const r = await world.controller([
        "run",
        "--hosts",
        "u-1",
        "--user",
        "nobody",
        "--shell",
        "--",
        cmd,
      ]);
      assert.equal(r.stderr, "1 host: 1 ok\n");
      const u = nobody!;
      assert.equal(r.stdout, `u-1: nobody ${u.uid}:${u.gid} nobody nobody ${u.home}\n`);
      // By uid too, and the run's own env wins over login's.
      const byUid = await world.controller([
        "run",
        "--hosts",
        "u-1",
        "--user",
        String(u.uid),
        "--env",
        "HOME=/tmp",
        "--shell",
        "--",
        'echo "$(id -un) $HOME"',
      ]);
      assert.equal(byUid.stdout, "u-1: nobody /tmp\n");
    } finally {
      await world.close();
    }
  },
});

Deno.test({
  name: "run --user on an agent that does not run as root: EPERM naming its uid",
  ignore: !root || nobody === null,
  ...opts,
  fn: async () => {
    const world = await World.create();
    try {
      const u = nobody!;
      const agentOpts = {
        user: { uid: u.uid, gid: u.gid },
        env: { HOME: `${world.dir}/agent-u-9` },
      };
      await world.agent("u-9", agentOpts);
      const r = await world.controller(["run", "--hosts", "u-9", "--user", "root", "--", "id"]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `u-9: EPERM cannot switch to user root: the agent does not run as root (it runs as uid ${u.uid})\n` +
          "1 host: 0 ok, 1 failed (u-9)\n",
      );
      // Naming the user it runs as is no switch.
      const self = await world.controller([
        "run",
        "--hosts",
        "u-9",
        "--user",
        "nobody",
        "--",
        "id",
        "-un",
      ]);
      assert.equal(self.stdout, "u-9: nobody\n");
    } finally {
      await world.close();
    }
  },
});
