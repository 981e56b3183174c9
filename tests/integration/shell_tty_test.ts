/**
 * `controller shell` at a real terminal: a pseudo-terminal made by tmux
 * (tmux.ts).
 */
import assert from "node:assert/strict";
import { until, World } from "./harness.ts";
import { controllerCommand, Tmux } from "./tmux.ts";
import { marker, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "at a terminal: Tab completes a program name, status shows it, history persists",
  opts,
  async () => {
    const world = await World.create();
    let tmux: Tmux | null = null;
    try {
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
`,
      );
      const { log } = await supervisingAgent(world, "tty-1", config);
      await Promise.all(["sleeper", "web:0", "web:1"].map((p) => log.reached(p, "RUNNING")));
      const exitFile = `${world.dir}/shell.exit`;
      tmux = await Tmux.start(
        `${world.dir}/tmux.sock`,
        controllerCommand(world, ["shell"], exitFile),
      );
      await tmux.shows(/^tutti>$/m); // capture-pane drops trailing blanks

      // status shows the programs, and (from its answer) the shell learns their names.
      await tmux.type("status");
      await tmux.keys("Enter");
      const screen = await tmux.shows(/^tty-1: web:1\s+RUNNING/m);
      assert.match(screen, /^tty-1: sleeper\s+RUNNING\s+pid \d+, uptime 0:00:\d\d$/m);

      // One Tab completes a unique name (with its space), two list the candidates.
      await tmux.type("stop sle");
      await tmux.keys("Tab");
      await tmux.shows(/^tutti> stop sleeper ?$/m);
      await tmux.keys("Enter");
      await tmux.shows(/^tty-1: sleeper: stopped$/m);
      await tmux.type("status w");
      await tmux.keys("Tab");
      await tmux.shows(/^tutti> status web$/m);
      await tmux.keys("Tab", "Tab");
      await tmux.shows(/^web\s+web:0\s+web:1$/m);
      await tmux.keys("C-u");
      await tmux.type("status sleeper");
      await tmux.keys("Enter");
      await tmux.shows(/^tty-1: sleeper\s+STOPPED/m);

      // Up recalls the previous command; editing keys work on it.
      await tmux.keys("Up");
      await tmux.shows(/^tutti> status sleeper$/m);
      await tmux.keys("C-a");
      await tmux.type("x");
      await tmux.shows(/^tutti> xstatus sleeper$/m);
      await tmux.keys("C-a", "C-k", "C-d");

      const exit = await until("the shell's exit status", async () => {
        return await Deno.readTextFile(exitFile).catch(() => null);
      });
      assert.equal(exit.trim(), "0");
      const history = await Deno.readTextFile(`${world.dir}/controller/shell_history`);
      assert.equal(history, "status\nstop sleeper\nstatus sleeper\n");
    } finally {
      await tmux?.kill();
      await world.close();
    }
  },
);

Deno.test(
  "at a terminal: attach sends typed lines, Ctrl-] detaches, Ctrl-C ends tail -f",
  opts,
  async () => {
    const world = await World.create();
    let tmux: Tmux | null = null;
    try {
      const config = writeConfig(
        world,
        `programs:
  echoer:
    cmd: sh -c 'while read l; do echo "got $l"; done'
    starttime: 0.2
`,
      );
      const { log } = await supervisingAgent(world, "tty-2", config);
      await log.reached("echoer", "RUNNING");
      const exitFile = `${world.dir}/shell.exit`;
      tmux = await Tmux.start(
        `${world.dir}/tmux.sock`,
        controllerCommand(world, ["shell"], exitFile),
      );
      await tmux.shows(/^tutti>$/m);

      await tmux.type("attach tty-2:echoer");
      await tmux.keys("Enter");
      await tmux.shows(/^attached to tty-2:echoer; Ctrl-\] detaches/m);
      await tmux.type("hello");
      await tmux.keys("Enter");
      await tmux.shows(/^hello\ngot hello$/m);
      await tmux.keys("C-]");
      await tmux.shows(/^detached\ntutti>$/m);

      await tmux.type("tail -f echoer");
      await tmux.keys("Enter");
      await tmux.shows(/^tutti> tail -f echoer\ngot hello$/m);
      await tmux.keys("C-c");
      await tmux.shows(/^got hello\n\^C\ntutti>$/m);
      const s = await world.controller(["shell", "-c", "status echoer"]);
      assert.match(s.stdout, /^tty-2: echoer\s+RUNNING/, "detaching left it running");

      await tmux.type("quit");
      await tmux.keys("Enter");
      const exit = await until("the shell's exit status", async () => {
        return await Deno.readTextFile(exitFile).catch(() => null);
      });
      assert.equal(exit.trim(), "0");
    } finally {
      await tmux?.kill();
      await world.close();
    }
  },
);
