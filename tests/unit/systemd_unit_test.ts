/**
 * The systemd unit tutti ships (packaging/tutti-agent.service) keeps what
 * the agent runs alive across agent restarts: systemd must signal the agent
 * alone (KillMode=process), reload must be the in-place restart (SIGUSR1),
 * and a crash must bring the agent back (Restart=). Where systemd-analyze is
 * installed, the unit is also verified by it (with ExecStart pointed at a
 * program that exists here).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";

const UNIT = new URL("../../packaging/tutti-agent.service", import.meta.url);

function sections(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = head[1];
      out[section] = {};
      continue;
    }
    const eq = line.indexOf("=");
    out[section][line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

Deno.test("the systemd unit signals the agent alone, reloads in place, restarts after a crash", async () => {
  const text = await Deno.readTextFile(UNIT);
  const s = sections(text).Service;
  strictEqual(s.KillMode, "process");
  strictEqual(s.KillSignal, "SIGTERM");
  strictEqual(s.ExecReload, "/bin/kill -USR1 $MAINPID");
  strictEqual(s.Restart, "on-failure");
  strictEqual(s.Type, "simple");
  deepStrictEqual(Object.keys(sections(text)), ["Unit", "Service", "Install"]);

  const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (analyze === undefined) return; // the content above is what matters; verify where we can
  const dir = await Deno.makeTempDir();
  try {
    const unit = `${dir}/tutti-agent.service`;
    await Deno.writeTextFile(
      unit,
      text.replace(/^ExecStart=\S+/m, `ExecStart=${Deno.execPath()}`),
    );
    const out = await new Deno.Command(analyze, { args: ["verify", unit], stderr: "piped" })
      .output();
    const said = new TextDecoder().decode(out.stderr)
      .split("\n")
      // Complaints about this sandbox, not about the unit: no running systemd, no such targets.
      .filter((l) => l.includes("tutti-agent.service") && !/network-online|multi-user/.test(l));
    deepStrictEqual(said, [], said.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
