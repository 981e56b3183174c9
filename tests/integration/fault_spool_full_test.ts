/**
 * The spool's disk fills up under a process that writes: the bytes past the
 * full disk are announced as dropped (reason `spool`, with the system's
 * words, byte counts exact), the child is neither blocked nor killed, the
 * agent keeps serving, and what did reach the spool is all there.
 *
 * The spool directory is a 256 KiB tmpfs mounted by the test (as root, as
 * this suite runs in CI); where mounting is refused, the process's spool
 * files are /dev/full instead (full from the first byte), and the same
 * things are asserted.
 */
import assert from "node:assert/strict";
import { ask, ProcWatch, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

Deno.test(
  "spool disk full: output past it is dropped with counts and ENOSPC, the child runs on, the agent serves",
  opts,
  async () => {
    const world = await World.create();
    const spool = `${world.dir}/agent-df-1/spool`;
    await Deno.mkdir(spool, { recursive: true });
    let mounted = true;
    try {
      await run("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", spool]);
    } catch {
      // No right to mount here: /dev/full, which answers every write with ENOSPC, stands in for
      // this process's spool files (a disk already full when it starts).
      mounted = false;
      for (const s of ["stdout", "stderr"]) Deno.symlinkSync("/dev/full", `${spool}/big.${s}`);
    }
    try {
      await world.agent("df-1");
      const watch = await ProcWatch.open(world, "df-1");
      // 1 MiB of stdout in 1 KiB lines, then a line on stderr, then exit 0: a child that saw a write
      // error or a signal would exit otherwise.
      const script = "head -c 1048576 /dev/zero | tr '\\0' x | fold -w 1023; echo done >&2; exit 0";
      const r = await ask(world, "df-1", "run", { id: "big", argv: ["sh", "-c", script] });
      assert.equal(r.body.ok, true, JSON.stringify(r.body.error));
      const exit = await watch.exit("big", 30_000);
      assert.equal(exit.code, 0, "the child ran to its end");
      const total = 1048576 + Math.floor(1048576 / 1023); // fold: a newline after every 1023 bytes
      assert.equal(exit.stdout, total, "every byte the child wrote is counted");
      const dropped = watch.of("big", "dropped").map((e) => e.body!);
      const lost = dropped.filter((d) => d.reason === "spool" && d.stream === "stdout");
      assert.equal(lost.length, 1, JSON.stringify(dropped));
      // The disk is still full when stderr's line comes: lost too, and said so.
      const err = dropped.filter((d) => d.reason === "spool" && d.stream === "stderr");
      assert.deepEqual(err.map((d) => [d.offset, d.bytes]), [[0, 5]], JSON.stringify(dropped));
      assert.equal((lost[0].offset as number) + (lost[0].bytes as number), total);
      assert.ok((lost[0].offset as number) <= 256 * 1024, "no more than the disk holds");
      assert.match(lost[0].why as string, /ENOSPC|No space left/);
      // What reached the spool is intact; past it, logs says why instead of pretending.
      const at = lost[0].offset as number;
      const head = await ask(world, "df-1", "logs", { proc: "big", stream: "stdout", limit: at });
      const data = head.body.data as Uint8Array;
      assert.equal(data.length, Math.min(at, data.length));
      assert.ok(data.every((b) => b === 0x78 || b === 0x0a));
      const past = await ask(world, "df-1", "logs", { proc: "big", stream: "stdout", offset: at });
      assert.equal(past.body.ok, false);
      assert.equal((past.body.error as { code: string }).code, "EIO");
      assert.match((past.body.error as { message: string }).message, /ENOSPC|No space left/);
      // The agent serves on: another process runs and is reported.
      const again = await ask(world, "df-1", "run", { id: "after", argv: ["true"] });
      assert.equal(again.body.ok, true);
      assert.equal((await watch.exit("after")).code, 0);
      watch.close();
    } finally {
      // Lazily: the keeper may still hold files there; the directory can then be removed.
      if (mounted) await run("umount", ["-l", spool]).catch(() => {});
      await world.close();
    }
  },
);
