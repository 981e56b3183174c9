/**
 * `tty: true` programs: the key, their definition's identity, and the
 * command line that runs them under script(1), run for real.
 */
import { notStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type ConfigContext, ConfigError, parseConfig } from "../../agent/supervisor/config.ts";
import { expandProcesses, specKey } from "../../agent/supervisor/diff.ts";
import { underTerminal } from "../../agent/supervisor/terminal.ts";

const CTX: ConfigContext = { source: "programs.yaml", baseDir: "/tmp", uid: 0, passwd: "" };

function keyOf(yaml: string): string {
  return specKey(expandProcesses(parseConfig(yaml, CTX), "/state")[0]);
}

Deno.test("tty: a boolean; only true changes a program's identity", () => {
  const plain = "programs:\n  repl:\n    cmd: python3 -i\n";
  strictEqual(parseConfig(plain, CTX).programs[0].tty, false);
  strictEqual(parseConfig(plain + "    tty: true\n", CTX).programs[0].tty, true);
  // Programs defined before tty existed keep their key: an upgraded agent adopts their runs.
  ok(!keyOf(plain).includes("tty"));
  strictEqual(keyOf(plain + "    tty: false\n"), keyOf(plain));
  notStrictEqual(keyOf(plain + "    tty: true\n"), keyOf(plain));
  try {
    parseConfig(plain + "    tty: yes\n", CTX);
    throw new Error("accepted");
  } catch (e) {
    ok(e instanceof ConfigError);
    strictEqual(e.message, 'programs.yaml:4: programs.repl.tty: expected true or false, got "yes"');
  }
});

Deno.test("under a terminal: isatty, quoted words, the umask, the program's SHELL", async () => {
  const { argv, env } = underTerminal(
    ["sh", "-c", `[ -t 0 ] && [ -t 1 ] && echo "it's a tty"; echo "shell=$SHELL"; umask`],
    0o027,
    { SHELL: "/bin/some shell" },
  );
  strictEqual(argv[1], "-qfec");
  strictEqual(env.SHELL, "/bin/sh");
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const out = await child.output(); // stdin stays open until the program has ended
  const text = new TextDecoder().decode(out.stdout);
  strictEqual(text, "it's a tty\r\nshell=/bin/some shell\r\n0027\r\n");
  strictEqual(out.code, 0);
});
