/**
 * A real terminal for tests of the controller at one: a pseudo-terminal
 * made by tmux (its own server per test, its socket in the test's
 * directory), keys sent with `send-keys`, the screen read with
 * `capture-pane`. Nothing announces what a screen shows, so the screen is
 * polled until the expected text appears or a deadline passes.
 */
import { CONTROLLER_JS, DENO, until, type World } from "./harness.ts";

/** One tmux server (its socket at `socket`) running one command in a 200x50 window. */
export class Tmux {
  private constructor(readonly socket: string) {}

  static async start(socket: string, command: string): Promise<Tmux> {
    const t = new Tmux(socket);
    await t.tmux("new-session", "-d", "-s", "shell", "-x", "200", "-y", "50", command);
    return t;
  }

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-S", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    if (!out.success) throw new Error(`tmux ${args[0]}: ${d.decode(out.stderr)}`);
    return d.decode(out.stdout);
  }

  /** Keys as tmux names them: text, `Enter`, `Tab`, `Up`, `C-d`. */
  keys(...keys: string[]): Promise<string> {
    return this.tmux("send-keys", "-t", "shell", ...keys);
  }

  /** Text typed as is (no key names). */
  type(text: string): Promise<string> {
    return this.tmux("send-keys", "-t", "shell", "-l", text);
  }

  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-t", "shell");
  }

  /** The screen once `pattern` is on it. */
  async shows(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    let last = "";
    try {
      return await until(
        `${pattern} on the screen`,
        async () => {
          last = await this.screen();
          return pattern.test(last) ? last : null;
        },
        timeoutMs,
        100,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; the screen:\n${last}`);
    }
  }

  async kill(): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
  }
}

/** `controller ARGS...` under tmux, in the world's environment; its exit status goes to `exitFile`. */
export function controllerCommand(world: World, args: string[], exitFile: string): string {
  const env = Object.entries(world.controllerEnv()).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
  const shell = [DENO, "run", "-A", "--no-config", CONTROLLER_JS, ...args].map(quote).join(" ");
  return `env ${env} ${shell}; echo $? > ${quote(exitFile)}`;
}

export function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
