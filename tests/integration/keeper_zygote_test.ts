/**
 * Runs started through the keeper's zygote (a shell waiting to exec the next
 * command, agent/keeper/zygote.ts) get exactly their argv, environment and
 * directory, whatever characters those hold, as a direct spawn gives them;
 * one the zygote cannot express (an environment name that is not a shell
 * name, a cleared environment) is spawned the usual way, the same.
 */
import assert from "node:assert/strict";
import { ask, ProcWatch, until, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const NASTY = [
  "plain",
  "with space",
  "it's",
  'double "quotes"',
  "$(touch /tmp/never) `id` $HOME",
  "back\\slash",
  "new\nline",
  "'\"'",
  "",
  "-n",
  "*",
];

async function stdoutOf(world: World, watch: ProcWatch, id: string): Promise<string> {
  await watch.exit(id);
  const r = await ask(world, "z-1", "logs", { proc: id, stream: "stdout" });
  return new TextDecoder().decode(r.body.data as Uint8Array);
}

Deno.test("zygote runs: argv, environment and directory arrive byte for byte", opts, async () => {
  const world = await World.create();
  try {
    await world.agent("z-1");
    const watch = await ProcWatch.open(world, "z-1");
    const dir = `${world.dir}/a dir with 'quotes'`;
    await Deno.mkdir(dir);
    const printArgs = [
      "sh",
      "-c",
      'for a in "$@"; do printf "[%s]" "$a"; done; pwd',
      "sh",
      ...NASTY,
    ];
    const want = NASTY.map((a) => `[${a}]`).join("") + dir + "\n";
    // Several in a row: the first may find no zygote ready yet, the next ones find one.
    for (let i = 0; i < 4; i++) {
      const r = await ask(world, "z-1", "run", { id: `a${i}`, argv: printArgs, cwd: dir });
      assert.equal(r.body.ok, true, JSON.stringify(r.body.error));
      assert.equal(await stdoutOf(world, watch, `a${i}`), want, `run ${i}`);
    }
    const env = { V1: "it's $HOME `x`", V2: "two\nlines", PATH: "/usr/bin:/bin" };
    const printEnv = ["sh", "-c", 'printf "%s|%s|%s|%s" "$V1" "$V2" "$PATH" "$TUTTI_PROC"'];
    for (let i = 0; i < 2; i++) {
      const r = await ask(world, "z-1", "run", { id: `e${i}`, argv: printEnv, env });
      assert.equal(r.body.ok, true);
      assert.equal(await stdoutOf(world, watch, `e${i}`), `${env.V1}|${env.V2}|${env.PATH}|e${i}`);
    }
    // Not expressible in the zygote's shell: spawned the usual way, with the same result.
    const odd = await ask(world, "z-1", "run", {
      id: "odd",
      argv: ["env"],
      env: { "A-B": "dash" },
    });
    assert.equal(odd.body.ok, true);
    assert.match(await stdoutOf(world, watch, "odd"), /^A-B=dash$/m);
    // A missing program is still the precise spawn error, not exit 127.
    const missing = await ask(world, "z-1", "run", { id: "nope", argv: ["no-such-program-x"] });
    assert.equal(missing.body.ok, false);
    assert.equal((missing.body.error as { code: string }).code, "ENOENT");
    // The zygote's own stdin is not the program's: it reads end of file at once.
    const stdin = await ask(world, "z-1", "run", { id: "in", argv: ["sh", "-c", "cat; echo end"] });
    assert.equal(stdin.body.ok, true);
    assert.equal(await stdoutOf(world, watch, "in"), "end\n");
    watch.close();
  } finally {
    await world.close();
  }
});

Deno.test(
  "zygote runs of shell commands: no second shell, the same results as sh -c",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agent("z-1");
      const watch = await ProcWatch.open(world, "z-1");
      const shell = async (id: string, cmd: string) => {
        const r = await ask(world, "z-1", "run", { id, shell: cmd });
        assert.equal(r.body.ok, true, JSON.stringify(r.body.error));
        return (r.body.proc as { pid: number }).pid;
      };
      // Evaluated by the zygote: none of its own variables shows, $0 is sh -c's.
      await shell("vars", 'echo "[${NL-unset}][${line-unset}][$0]"');
      assert.equal(await stdoutOf(world, watch, "vars"), "[unset][unset][/bin/sh]\n");
      await shell("lines", "echo 'a\nb' | wc -l\necho \"it's\" $((6 * 7))");
      assert.equal(await stdoutOf(world, watch, "lines"), "2\nit's 42\n");
      await shell("exit", "exit 7");
      assert.equal((await watch.exit("exit")).code, 7);
      await shell("syntax", "if then");
      assert.equal((await watch.exit("syntax")).code, 2);
      // Plain words naming a program: exec'd, so the process is the program itself.
      for (let i = 0; i < 2; i++) {
        const pid = await shell(`plain${i}`, "sleep 30");
        // The reply may come before the zygote's exec: it becomes sleep, or stays sh (evaluated).
        const comm = () => Deno.readTextFile(`/proc/${pid}/comm`).then((c) => c.trim());
        await until(`process ${pid} to be sleep`, async () => await comm() === "sleep");
        await ask(world, "z-1", "signal", { procs: [`plain${i}`], signal: "SIGKILL" });
        assert.equal((await watch.exit(`plain${i}`)).signal, "SIGKILL");
      }
      await shell("args", "/bin/echo --opt=1 a,b x:y");
      assert.equal(await stdoutOf(world, watch, "args"), "--opt=1 a,b x:y\n");
      await shell("missing", "no-such-program-x arg");
      assert.equal((await watch.exit("missing")).code, 127);
      watch.close();
    } finally {
      await world.close();
    }
  },
);
