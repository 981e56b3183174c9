/**
 * What a program finds when it starts, checked from inside the child: env,
 * workingdir, umask, discarded and file outputs, the user; and output files
 * that follow a rotation.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { world } from "./supervisor_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("env, workingdir, umask and stdout: discard take effect in the child", opts, async () => {
  const w = await world();
  try {
    const work = `${w.dir}/work`;
    Deno.mkdirSync(work);
    await w.sup.load({
      path: w.config(`
programs:
  probe:
    cmd: >-
      sh -c 'umask > "$OUT"; pwd >> "$OUT";
      echo "$ANSWER $STARTED_BY $TUTTI_PROGRAM $TUTTI_PROCESS" >> "$OUT";
      fd1=$(readlink /proc/$$/fd/1); fd2=$(readlink /proc/$$/fd/2);
      echo "$fd1" >> "$OUT"; echo "$fd2" >> "$OUT";
      touch made; stat -c %a made >> "$OUT";
      echo to-stdout; echo to-stderr >&2'
    env: {OUT: ${w.dir}/out, ANSWER: 42, STARTED_BY: tutti}
    workingdir: work
    umask: 027
    stdout: discard
    stderr: ${w.dir}/err.log
    starttime: 0
    autorestart: never
`),
    });
    const exited = await w.rec.reached("probe", "EXITED");
    strictEqual(exited.code, 0, Deno.readTextFileSync(`${w.dir}/err.log`));
    const [umask, pwd, env, fd1, fd2, mode] = Deno.readTextFileSync(`${w.dir}/out`).split("\n");
    strictEqual(umask, "0027");
    strictEqual(pwd, work);
    strictEqual(env, "42 tutti probe probe");
    strictEqual(fd1, "/dev/null");
    ok(fd2.startsWith("pipe:"), fd2);
    strictEqual(mode, "640");
    strictEqual(Deno.readTextFileSync(`${w.dir}/err.log`), "to-stderr\n");
    strictEqual(w.sup.tail("probe", "stdout").data.length, 0, "discarded output is not kept");
    strictEqual(new TextDecoder().decode(w.sup.tail("probe", "stderr").data), "to-stderr\n");
  } finally {
    await w.close();
  }
});

Deno.test(
  "without stdout/stderr, output is appended to files under the state dir",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  talk:
    cmd: sh -c 'echo "out $TUTTI_PROCESS_NUM"; echo "err $TUTTI_PROCESS_NUM" >&2'
    numprocs: 2
    starttime: 0
    autorestart: never
`),
      });
      await w.rec.reached("talk:1", "EXITED");
      await w.rec.reached("talk:0", "EXITED");
      await w.sup.start(["talk:1"]).catch(() => {});
      await w.rec.reached("talk:1", "EXITED", 2);
      const dir = `${w.dir}/state/programs`;
      strictEqual(Deno.readTextFileSync(`${dir}/talk.0.stdout`), "out 0\n");
      strictEqual(Deno.readTextFileSync(`${dir}/talk.0.stderr`), "err 0\n");
      strictEqual(Deno.readTextFileSync(`${dir}/talk.1.stdout`), "out 1\nout 1\n");
    } finally {
      await w.close();
    }
  },
);

Deno.test("output files are reopened after a rotation", opts, async () => {
  const w = await world();
  try {
    const log = `${w.dir}/echo.log`;
    await w.sup.load({
      path: w.config(`
programs:
  echo:
    cmd: sh -c 'while read line; do echo "$line"; done'
    stdout: ${log}
    starttime: 0.1
`),
    });
    await w.rec.reached("echo", "RUNNING");
    const say = async (line: string) => {
      const heard = new Promise<void>((resolve) => {
        const off = w.sup.onOutput((_name, _stream, _offset, chunk) => {
          if (!new TextDecoder().decode(chunk).includes(line)) return;
          off();
          resolve();
        });
      });
      await w.sup.write("echo", new TextEncoder().encode(`${line}\n`));
      await heard;
    };
    await say("before");
    Deno.renameSync(log, `${log}.1`);
    await say("still old file");
    w.sup.reopenLogs();
    await say("after");
    strictEqual(Deno.readTextFileSync(`${log}.1`), "before\nstill old file\n");
    strictEqual(Deno.readTextFileSync(log), "after\n");
  } finally {
    await w.close();
  }
});

Deno.test({
  name: "user: the program runs as that user, with its home and without root's groups",
  ignore: Deno.uid() !== 0,
  ...opts,
  fn: async () => {
    const w = await world();
    try {
      Deno.chmodSync(w.dir, 0o777);
      await w.sup.load({
        path: w.config(`
programs:
  nobody:
    cmd: sh -c 'id -u > "$OUT"; id -G >> "$OUT"; echo "$HOME $USER" >> "$OUT"'
    env: {OUT: ${w.dir}/out}
    user: nobody
    starttime: 0
    autorestart: never
`),
      });
      const exited = await w.rec.reached("nobody", "EXITED");
      strictEqual(exited.code, 0);
      const passwd = Deno.readTextFileSync("/etc/passwd").split("\n")
        .find((l) => l.startsWith("nobody:"))!.split(":");
      deepStrictEqual(Deno.readTextFileSync(`${w.dir}/out`).split("\n"), [
        passwd[2],
        passwd[3],
        `${passwd[5]} nobody`,
        "",
      ]);
    } finally {
      await w.close();
    }
  },
});
