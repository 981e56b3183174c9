/**
 * Programs with `tty: true` run under a pseudo-terminal, through the
 * controller library: an interactive bash attached to sees a terminal on
 * its stdin and stdout, echoes what is typed, takes the size the attached
 * terminal sends, and turns Ctrl-C into SIGINT of what runs in it. A
 * program without `tty` has no terminal to resize (ENOTTY).
 *
 * Each command prints an arithmetic result (`$((40+2))`), so that what is
 * awaited is the program's output, never the echo of the line typed.
 */
import { ok, rejects, strictEqual } from "node:assert/strict";
import { Controller, type ProgramAttachment, TuttiError } from "../../controller/mod.ts";
import { until, World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";
import { controllerCommand, Tmux } from "./tmux.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const CONFIG = `programs:
  repl:
    cmd: bash --norc --noprofile -i
    tty: true
    env: { PS1: "repl> " }
    starttime: 0.2
    stoptime: 2
  piped:
    cmd: sh -c 'while read l; do echo "got $l"; done'
    starttime: 0.2
    stoptime: 1
`;

function connect(world: World): Promise<Controller> {
  return Controller.connect({
    servers: [world.broker.url],
    prefix: world.prefix,
    stateDir: false,
    ackTimeoutMs: 3000,
  });
}

/** Everything an attachment's process writes, as text, and a wait for a pattern in it. */
class Screen {
  text = "";
  readonly #waiters = new Set<() => void>();

  constructor(a: ProgramAttachment) {
    (async () => {
      const d = new TextDecoder();
      for await (const e of a) {
        if (e.type !== "output") continue;
        this.text += d.decode(e.data, { stream: true });
        for (const w of [...this.#waiters]) w();
      }
    })().catch(() => {});
  }

  /** The text once `pattern` is in it (after `from` characters). */
  shows(pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.text.slice(from))) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(this.text);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`${pattern} not shown within ${timeoutMs} ms; shown:\n${this.text}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }
}

Deno.test(
  "a tty program is a terminal to its process: isatty, echo, size, Ctrl-C",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      const { log } = await supervisingAgent(world, "h1", writeConfig(world, CONFIG));
      await log.reached("repl", "RUNNING");
      await log.reached("piped", "RUNNING");
      c = await connect(world);
      const a = c.attach("h1", "repl");
      await a.ready;
      strictEqual(a.tty, true);
      const screen = new Screen(a);

      // stdin and stdout are a terminal, and the line typed is echoed by it.
      await a.write(`[ -t 0 ] && [ -t 1 ] && echo "tty $((40+2))"\n`);
      await screen.shows(/\btty 42\r\n/);
      ok(screen.text.includes(`echo "tty $((40+2))"`), `no echo of the line in:\n${screen.text}`);

      // 24x80 until a terminal says otherwise, then the size sent.
      let mark = screen.text.length;
      await a.write(`echo "size $(stty size) $((1+1))"\n`);
      await screen.shows(/size 24 80 2\r\n/, mark);
      await a.resize(50, 132);
      mark = screen.text.length;
      await a.write(`echo "size $(stty size) $((1+2))"\n`);
      await screen.shows(/size 50 132 3\r\n/, mark);

      // Ctrl-C is the terminal's interrupt: the sleep ends and so does the rest of its line. The
      // marker is printed by the sleep's own process, in the foreground by then (bash's echo could
      // be interrupted before the sleep starts, which then runs on).
      mark = screen.text.length;
      await a.write(`sh -c 'echo "sleeping $((4+4))"; exec sleep 100'; echo "after $((2+3))"\n`);
      await screen.shows(/sleeping 8\r\n/, mark);
      await a.write("\x03");
      // Typed only at the next prompt: a terminal discards what was typed ahead of an interrupt.
      await screen.shows(/\^C[^]*repl> /, mark);
      await a.write(`echo "back $((3+4))"\n`);
      await screen.shows(/back 7\r\n/, mark);
      ok(
        !/after 5\r\n/.test(screen.text.slice(mark)),
        `the line went on after Ctrl-C:\n${screen.text}`,
      );
      await a.detach();

      // A program on pipes: no terminal, and no size to set.
      const p = c.attach("h1", "piped");
      await p.ready;
      strictEqual(p.tty, false);
      await rejects(p.resize(30, 90), (e) => e instanceof TuttiError && e.code === "ENOTTY");
      await rejects(
        a.resize(0, 80),
        (e) => e instanceof TuttiError && e.code === "EINVAL",
      );
      await p.detach();

      // The program leads its own session under script: a stop still ends it (bash -i ignores
      // SIGTERM; script's end hangs its terminal up).
      const [status] = await c.programs("status", { hosts: "h1", names: ["repl"] }).done;
      ok(status.ok);
      strictEqual(status.processes[0].tty, true, "the status says it has a terminal");
      const scriptPid = status.processes[0].pid!;
      const program = Deno.readTextFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`).trim();
      ok(/^\d+$/.test(program), `one program under script, got "${program}"`);
      const [stopped] = await c.programs("stop", { hosts: "h1", names: ["repl"] }).done;
      ok(stopped.ok && stopped.results[0].ok, JSON.stringify(stopped));
      await until(`pid ${program} gone`, () => {
        try {
          // A zombie until reaped by init: gone as a program either way.
          return /\) Z /.test(Deno.readTextFileSync(`/proc/${program}/stat`)) ? true : null;
        } catch {
          return true;
        }
      });
    } finally {
      await c?.close();
      await closeWorld(world);
    }
  },
);

Deno.test(
  "controller programs attach at a terminal: raw keys, its size, SIGWINCH, Ctrl-] detaches",
  opts,
  async () => {
    const world = await World.create();
    let tmux: Tmux | null = null;
    try {
      const { log } = await supervisingAgent(world, "h1", writeConfig(world, CONFIG));
      await log.reached("repl", "RUNNING");
      const exitFile = `${world.dir}/attach.exit`;
      const cmd = controllerCommand(
        world,
        ["programs", "attach", "--hosts", "h1", "repl"],
        exitFile,
      );
      // The pane outlives the controller, so that what it printed last can still be read.
      tmux = await Tmux.start(`${world.dir}/tmux.sock`, `${cmd}; sleep 600`);
      await tmux.shows(/^attached to h1:repl \(a terminal\); Ctrl-\] detaches/m);
      const size = async () =>
        (await tmux!.tmux("display", "-p", "#{pane_height} #{pane_width}")).trim();

      // The remote terminal has this one's size; a command's output comes back.
      await tmux.type(`echo "size $(stty size) $((40+2))"`);
      await tmux.keys("Enter");
      await tmux.shows(new RegExp(`^size ${await size()} 42$`, "m"));

      // Ctrl-C goes to the program (raw mode), not to the controller.
      await tmux.type(`sh -c 'echo "sleeping $((4+4))"; exec sleep 100'; echo "after $((2+3))"`);
      await tmux.keys("Enter");
      await tmux.shows(/^sleeping 8$/m);
      await tmux.keys("C-c");
      await tmux.shows(/^repl>$/m); // capture-pane drops trailing blanks
      await tmux.type(`echo "back $((3+4))"`);
      await tmux.keys("Enter");
      const screen = await tmux.shows(/^back 7$/m);
      ok(!/^after 5$/m.test(screen), `the line went on after Ctrl-C:\n${screen}`);

      // A resized window is a resized remote terminal (SIGWINCH here, the size sent).
      await tmux.tmux("resize-window", "-t", "shell", "-x", "120", "-y", "40");
      const resized = await size();
      ok(resized !== "50 200", `tmux did not resize: ${resized}`);
      await until(
        "the new size on the remote terminal",
        async () => {
          await tmux!.type(`clear; echo "size $(stty size) $((5+5))"`);
          await tmux!.keys("Enter");
          const s = await tmux!.shows(/^size \d+ \d+ 10$/m);
          return new RegExp(`^size ${resized} 10$`, "m").test(s) ? true : null;
        },
        20_000,
        200,
      );

      await tmux.keys("C-]");
      await tmux.shows(/^detached from h1:repl \(it keeps running\)$/m);
      const exit = await until("the controller's exit status", async () => {
        return await Deno.readTextFile(exitFile).catch(() => null);
      });
      strictEqual(exit.trim(), "0");
      const s = await world.controller(["programs", "status", "--hosts", "h1", "repl"]);
      ok(
        /^h1: repl\s+RUNNING .* \[tty\]$/m.test(s.stdout),
        `detaching left it running:\n${s.stdout}`,
      );
    } finally {
      await tmux?.kill();
      await closeWorld(world);
    }
  },
);

Deno.test(
  "controller shell at a terminal: attach to a tty program passes keys and its size",
  opts,
  async () => {
    const world = await World.create();
    let tmux: Tmux | null = null;
    try {
      const { log } = await supervisingAgent(world, "h1", writeConfig(world, CONFIG));
      await log.reached("repl", "RUNNING");
      const exitFile = `${world.dir}/shell.exit`;
      tmux = await Tmux.start(
        `${world.dir}/tmux.sock`,
        controllerCommand(world, ["shell"], exitFile),
      );
      await tmux.shows(/^tutti>$/m);
      await tmux.type("attach h1:repl");
      await tmux.keys("Enter");
      await tmux.shows(/^attached to h1:repl; Ctrl-\] detaches/m);
      const size = (await tmux.tmux("display", "-p", "#{pane_height} #{pane_width}")).trim();
      await tmux.type(`echo "size $(stty size) $((40+2))"`);
      await tmux.keys("Enter");
      await tmux.shows(new RegExp(`^size ${size} 42$`, "m"));
      // Tab is the remote shell's completion, not the local editor's.
      await tmux.type("ech");
      await tmux.keys("Tab");
      await tmux.shows(/^repl> echo$/m); // completed, with its space (dropped by capture-pane)
      await tmux.keys("C-u", "C-]");
      await tmux.shows(/^detached\ntutti>$/m);
      await tmux.type("quit");
      await tmux.keys("Enter");
      const exit = await until("the shell's exit status", async () => {
        return await Deno.readTextFile(exitFile).catch(() => null);
      });
      strictEqual(exit.trim(), "0");
    } finally {
      await tmux?.kill();
      await closeWorld(world);
    }
  },
);
