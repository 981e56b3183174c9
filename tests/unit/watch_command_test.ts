/**
 * Command watches with real probe processes. The watch's own timeout is each
 * test's deadline; "nothing left behind" is checked in /proc: no process of
 * the probe's group survives the watch.
 */
import { CommandWatch } from "../../agent/watch/command_watch.ts";
import type { CommandCondition } from "../../protocol/watch_messages.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function watch(c: Omit<CommandCondition, "kind">, timeoutMs = 10_000): CommandWatch {
  return new CommandWatch({ kind: "command", ...c }, timeoutMs);
}

/**
 * Pids of the live processes of group `pgid`, from /proc. Zombies are dead: killed orphans wait
 * there until init reaps them, which is not the watch's doing.
 */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const s = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const pgrp = Number(f[2]);
      if (pgrp === pgid && !/^[ZX]/.test(f[0])) out.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

Deno.test("a command probe succeeds when a file appears", async () => {
  const dir = await Deno.makeTempDir();
  const flag = `${dir}/up`;
  // The stimulus: the file appears a little later, while probes keep failing.
  const maker = setTimeout(() => Deno.writeTextFileSync(flag, ""), 300);
  try {
    const r = await watch({ argv: ["test", "-e", flag], interval: 0.05 }).start();
    assert(r.status === "met", `${r.status}: ${r.detail}`);
    assert(/^test -e .* succeeded \(probe \d+\)$/.test(r.detail), r.detail);
    assert(r.elapsed >= 250, `not before the file existed: ${r.elapsed}`);
  } finally {
    clearTimeout(maker);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a command watch times out with the last probe's words", async () => {
  const r = await watch({ shell: "echo 'not yet' >&2; exit 3", interval: 0.05 }, 500).start();
  assert(r.status === "timeout", r.status);
  assert(
    r.detail.startsWith(`"echo 'not yet' >&2; exit 3" did not succeed within 500ms;`),
    r.detail,
  );
  assert(/probe \d+ exited with code 3: not yet$/.test(r.detail), r.detail);
});

Deno.test("a probe running past its own timeout is killed with its group", async () => {
  const w = watch({ shell: "sleep 30 & sleep 30", probeTimeout: 0.2, interval: 0.05 }, 1000);
  const result = w.start();
  const pgid = w.probePid!;
  assert(pgid > 0, "a probe started");
  const r = await result;
  assert(r.status === "timeout", r.status);
  assert(r.detail.includes("was killed after its 200ms timeout"), r.detail);
  assert(groupMembers(pgid).length === 0, `left behind: ${groupMembers(pgid)}`);
});

Deno.test("cancel kills the running probe's whole group before it resolves", async () => {
  const w = watch({ shell: "sleep 30 & sleep 30 & wait" }, 60_000);
  const result = w.start();
  const pgid = w.probePid!;
  try {
    // The shell and its two sleeps, once they are all started (no event tells when).
    const deadline = Date.now() + 5000;
    while (groupMembers(pgid).length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert(groupMembers(pgid).length === 3, `the probe's group: ${groupMembers(pgid)}`);
  } finally {
    await w.cancel();
  }
  assert(groupMembers(pgid).length === 0, `left behind: ${groupMembers(pgid)}`);
  assert(w.probePid === null, "no probe");
  const r = await result;
  assert(r.status === "cancelled", r.status);
});

Deno.test("cancel at once after start kills the probe, even before it leads its group", async () => {
  // Deno starts detached children through setsid(1): for a moment the group does not exist.
  const w = watch({ shell: "sleep 30", probeTimeout: 3600 }, 60_000);
  const result = w.start();
  const pid = w.probePid!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<string>((r) => timer = setTimeout(() => r("deadline"), 5000));
  const first = await Promise.race([w.cancel().then(() => "cancelled"), deadline]);
  clearTimeout(timer);
  assert(first === "cancelled", "the cancel waited for the probe's own timeout");
  assert(groupMembers(pid).length === 0, "nothing left");
  assert((await result).status === "cancelled", "cancelled");
});

Deno.test("cancel between probes clears the interval timer", async () => {
  const w = watch({ argv: ["false"], interval: 60 }, 60_000);
  const result = w.start();
  // `false` ends at once; the watch then sleeps for a minute. The op sanitizer fails this test
  // if the cancel leaves that timer (or any other) pending.
  const deadline = Date.now() + 5000;
  while (w.probePid !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert(w.probePid === null, "the first probe ended");
  await w.cancel();
  assert((await result).status === "cancelled", "cancelled");
});

Deno.test("a probe that cannot be spawned fails the watch with the system's words", async () => {
  const r = await watch({ argv: ["/nonexistent/probe"] }).start();
  assert(r.status === "failed", r.status);
  assert(r.detail === "spawn /nonexistent/probe: no such file or directory", r.detail);
});

Deno.test("probes get their env and cwd", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/here`, "");
    const r = await watch({ shell: 'test -e here && test "$X" = 1', cwd: dir, env: { X: "1" } })
      .start();
    assert(r.status === "met", r.detail);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a probe killed by a real-time signal counts as a failed probe", async () => {
  const r = await watch({ shell: "kill -34 $$", interval: 0.05 }, 500).start();
  assert(r.status === "timeout", `${r.status}: ${r.detail}`);
  assert(/probe \d+ was killed by SIGRT34$/.test(r.detail), r.detail);
});
