/**
 * `controller shell` without a terminal, against real agents supervising
 * programs: `-c` scripts and commands on stdin print only their output,
 * prefixed by host; the exit status says whether every command went well;
 * `attach` forwards stdin to the process; commands that need no agent work
 * without a broker.
 */
import assert from "node:assert/strict";
import { freePort, until, World } from "./harness.ts";
import { marker, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** sh-1 supervises a sleeper and two web processes (all RUNNING on return); sh-2 has none. */
async function twoHosts(world: World, extra = ""): Promise<string> {
  const tag = marker();
  const config = writeConfig(
    world,
    `programs:
  sleeper:
    cmd: sleep 1000.${tag}
    starttime: 0.2
    stoptime: 2
  web:
    cmd: sleep 1001.${tag}
    numprocs: 2
    starttime: 0.2
    stoptime: 2
${extra}`,
  );
  const { log } = await supervisingAgent(world, "sh-1", config);
  await world.agent("sh-2");
  await Promise.all(["sleeper", "web:0", "web:1"].map((p) => log.reached(p, "RUNNING")));
  log.close();
  return tag;
}

Deno.test("shell -c 'status' lists every host's programs, prefixed by host", opts, async () => {
  const world = await World.create();
  try {
    await twoHosts(world);
    const r = await world.controller(["shell", "-c", "status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.stdout);
    for (const [i, name] of ["sleeper", "web:0", "web:1"].entries()) {
      assert.match(
        lines[i],
        new RegExp(`^sh-1: ${name}\\s+RUNNING\\s+pid \\d+, uptime 0:00:\\d\\d$`),
      );
    }
    assert.ok(!r.stdout.includes("tutti>"), "no prompt without a terminal");
  } finally {
    await world.close();
  }
});

Deno.test(
  "a script runs every command in order and exits 1 when one of them failed",
  opts,
  async () => {
    const world = await World.create();
    try {
      await twoHosts(world);
      const r = await world.controller([
        "shell",
        "-c",
        "stop web:1; status sh-1:web\nstatus nope; start sh-1:web:1",
      ]);
      assert.equal(r.code, 1, r.stderr);
      const out = r.stdout.split("\n");
      assert.equal(out[0], "sh-1: web:1: stopped");
      assert.match(out[1], /^sh-1: web:0\s+RUNNING\s+pid \d+/);
      assert.match(out[2], /^sh-1: web:1\s+STOPPED\s+\w{3} \d\d \d\d:\d\d [AP]M$/);
      assert.equal(out[3], "sh-1: web:1: started");
      // No host has it: every host says so, on one line.
      assert.equal(r.stderr, "sh-[1-2]: nope: ERROR (no such process)\n");

      const ok = await world.controller(["shell", "--hosts", "sh-1", "-c", "status web:1"]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^sh-1: web:1\s+RUNNING/);
    } finally {
      await world.close();
    }
  },
);

Deno.test("commands on stdin: each one's output and nothing else", opts, async () => {
  const world = await World.create();
  try {
    await twoHosts(world);
    const r = await world.controller(["shell", "--hosts", "sh-[1-2]"], {
      stdin: "hosts\n# a comment\nstatus sleeper\n",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^sh-1: up\nsh-2: up\nsh-1: sleeper\s+RUNNING\s+pid \d+, uptime \S+\n$/);
  } finally {
    await world.close();
  }
});

Deno.test("attach in a script sends stdin to the process, which keeps running", opts, async () => {
  const world = await World.create();
  try {
    const out = `${world.dir}/echoer.out`;
    await twoHosts(
      world,
      `  echoer:
    cmd: sh -c 'while read l; do echo "got $l"; done'
    starttime: 0.2
    stdout: ${out}
`,
    );
    const r = await world.controller(["shell", "-c", "attach echoer"], {
      stdin: "hello\nworld\n",
    });
    assert.equal(r.code, 0, r.stderr);
    // The program writes to a file: nothing announces that, so the file is polled.
    await until("the echoer's answers", async () => {
      const text = await Deno.readTextFile(out).catch(() => "");
      return text === "got hello\ngot world\n";
    });
    const s = await world.controller(["shell", "-c", "status echoer"]);
    assert.match(s.stdout, /^sh-1: echoer\s+RUNNING/);
  } finally {
    await world.close();
  }
});

Deno.test(
  "help needs no broker; a command that does reports the broker missing",
  opts,
  async () => {
    const world = await World.create();
    try {
      const nowhere = { NATS_URL: `nats://127.0.0.1:${freePort()}` };
      const help = await world.controller(["shell", "-c", "help status; help"], { env: nowhere });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^status \[NAME\.\.\.\]\n/);
      assert.match(help.stdout, /attach PROG/);
      const r = await world.controller(["shell", "-c", "status; help quit"], { env: nowhere });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: .*127\.0\.0\.1/m);
      assert.match(r.stdout, /^quit\n/, "the script went on after the failure");
    } finally {
      await world.close();
    }
  },
);
