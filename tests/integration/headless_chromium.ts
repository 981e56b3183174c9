/**
 * A real headless Chromium (Debian's `chromium`, installed by scripts/env.sh)
 * for tests, driven by playwright-core over the DevTools protocol. The
 * browser runs in its own session and process group (setsid), with a fresh
 * profile directory, so `close()` ends every process it started by group id
 * and removes the profile, whatever state the browser is in.
 */
import { type Browser, chromium } from "playwright-core";
import { groupGone, until } from "./harness.ts";

export const CHROMIUM = "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--remote-debugging-address=127.0.0.1",
  "--remote-debugging-port=0",
];

export class HeadlessChromium {
  private constructor(
    readonly proc: Deno.ChildProcess,
    readonly profile: string,
    readonly browser: Browser,
    readonly stderr: string[],
  ) {}

  static async launch(): Promise<HeadlessChromium> {
    const profile = await Deno.makeTempDir({ prefix: "tutti-chromium-" });
    // setsid: the browser leads its own process group (it is not one already, so no fork).
    const proc = new Deno.Command("setsid", {
      args: [CHROMIUM, ...FLAGS, `--user-data-dir=${profile}`, "about:blank"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr: string[] = [];
    const decoder = new TextDecoder();
    (async () => {
      for await (const c of proc.stderr) stderr.push(decoder.decode(c, { stream: true }));
    })().catch(() => {});
    try {
      // Chromium writes the port it chose to this file once it listens: nothing to await on.
      const port = await until("Chromium's DevTools port", async () => {
        try {
          return (await Deno.readTextFile(`${profile}/DevToolsActivePort`)).split("\n")[0];
        } catch {
          return "";
        }
      }, 20_000);
      const browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`, {
        timeout: 20_000,
      });
      return new HeadlessChromium(proc, profile, browser, stderr);
    } catch (e) {
      await stop(proc);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new Error(`${(e as Error).message}\nchromium said:\n${stderr.join("")}`);
    }
  }

  get pid(): number {
    return this.proc.pid;
  }

  async close(): Promise<void> {
    try {
      const cdp = await this.browser.newBrowserCDPSession();
      await cdp.send("Browser.close").catch(() => {});
    } catch {
      // already gone
    }
    await this.browser.close().catch(() => {});
    await stop(this.proc);
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}

/** The whole process group, by id, then the leader's status and the group's end. */
async function stop(proc: Deno.ChildProcess): Promise<void> {
  try {
    Deno.kill(-proc.pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
  await proc.status;
  await groupGone(proc.pid, 5000);
}
