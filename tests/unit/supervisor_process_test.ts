/**
 * The state machine with real processes: restarts after a kill from outside,
 * BACKOFF then FATAL, exitcodes and autorestart, SIGKILL after stoptime,
 * whole process groups, crash loops, spawn errors, the answers of
 * start/stop, stdin. Every wait is on an event, with a deadline.
 */
import { deepStrictEqual, notStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { NoticeEvent } from "../../agent/supervisor/events.ts";
import { alive, world } from "./supervisor_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a process killed by hand is restarted and the event log says it died unexpectedly",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  sleeper:
    cmd: sleep 1000
    starttime: 0.2
    stoptime: 1
`),
      });
      const first = await w.rec.reached("sleeper", "RUNNING");
      const pid1 = first.pid!;
      ok(alive(pid1));
      Deno.kill(pid1, "SIGKILL");
      const exited = await w.rec.reached("sleeper", "EXITED");
      strictEqual(exited.pid, pid1);
      strictEqual(exited.expected, false);
      strictEqual(exited.signal, "SIGKILL");
      strictEqual(exited.code, null);
      const second = await w.rec.reached("sleeper", "RUNNING", 2);
      notStrictEqual(second.pid, pid1);
      ok(alive(second.pid!));
      deepStrictEqual(w.rec.transitions("sleeper"), [
        "STOPPED>STARTING",
        "STARTING>RUNNING",
        "RUNNING>EXITED",
        "EXITED>STARTING",
        "STARTING>RUNNING",
      ]);
      const line = w.eventLogLines().find((l) => l.to === "EXITED");
      ok(line, "the event log has the exit");
      strictEqual(line.expected, false);
      strictEqual(line.signal, "SIGKILL");
      strictEqual(line.message, "exited: sleeper (terminated by SIGKILL; not expected)");
      ok(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(String(line.time)), String(line.time));
    } finally {
      await w.close();
    }
  },
);

Deno.test(
  "a program that exits at once ends FATAL after exactly startretries retries, with growing delays",
  opts,
  async () => {
    const w = await world({ backoffStepMs: 100 });
    try {
      await w.sup.load({
        path: w.config(`
programs:
  broken:
    cmd: sh -c "exit 3"
    starttime: 0.5
    startretries: 2
`),
      });
      await w.rec.reached("broken", "FATAL");
      deepStrictEqual(w.rec.transitions("broken"), [
        "STOPPED>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>FATAL",
      ]);
      const events = w.rec.states("broken");
      // Retry n waits n backoff steps (supervisord: 1 s, 2 s, 3 s…).
      const gap1 = events[2].time - events[1].time;
      const gap2 = events[4].time - events[3].time;
      ok(gap1 >= 95, `first retry after ${gap1} ms`);
      ok(gap2 >= 195, `second retry after ${gap2} ms`);
      const [row] = w.sup.status(["broken"]);
      strictEqual(row.state, "FATAL");
      strictEqual(row.description, "Exited too quickly (process log may have details)");
      strictEqual(row.pid, null);
      ok(
        w.eventLogLines().some((l) => l.to === "FATAL" && String(l.message).startsWith("gave up")),
      );
    } finally {
      await w.close();
    }
  },
);

Deno.test(
  "exitcodes and autorestart unexpected tell expected exits from unexpected ones",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  good:
    cmd: sh -c "sleep 0.3; exit 2"
    starttime: 0.1
    exitcodes: [0, 2]
    autorestart: unexpected
  bad:
    cmd: sh -c "sleep 0.3; exit 1"
    starttime: 0.1
    exitcodes: [0, 2]
    autorestart: unexpected
  never:
    cmd: sh -c "sleep 0.3; exit 1"
    starttime: 0.1
    autorestart: never
  always:
    cmd: sh -c "sleep 0.3; exit 0"
    starttime: 0.1
    exitcodes: 0
    autorestart: always
`),
      });
      const good = await w.rec.reached("good", "EXITED");
      strictEqual(good.expected, true);
      strictEqual(good.code, 2);
      strictEqual(good.message, "exited: good (exit status 2; expected)");
      // A restart would have been decided when the exit was: the state is still EXITED.
      strictEqual(w.sup.status(["good"])[0].state, "EXITED");

      const bad = await w.rec.reached("bad", "EXITED");
      strictEqual(bad.expected, false);
      strictEqual(bad.code, 1);
      const restarted = await w.rec.reached("bad", "STARTING", 2);
      ok(restarted.pid !== bad.pid);

      const never = await w.rec.reached("never", "EXITED");
      strictEqual(never.expected, false);
      strictEqual(w.sup.status(["never"])[0].state, "EXITED");

      const always = await w.rec.reached("always", "EXITED");
      strictEqual(always.expected, true);
      await w.rec.reached("always", "STARTING", 2);
    } finally {
      await w.close();
    }
  },
);

Deno.test("a program that ignores SIGTERM is killed after stoptime", opts, async () => {
  const w = await world();
  try {
    await w.sup.load({
      path: w.config(`
programs:
  stubborn:
    cmd: sh -c 'trap "" TERM; sleep 1000'
    starttime: 0.2
    stoptime: 1
`),
    });
    const running = await w.rec.reached("stubborn", "RUNNING");
    const t0 = performance.now();
    const [result] = await w.sup.stop(["stubborn"]);
    const took = performance.now() - t0;
    deepStrictEqual(result, { name: "stubborn", ok: true, message: "stopped" });
    const stopped = await w.rec.reached("stubborn", "STOPPED");
    strictEqual(stopped.signal, "SIGKILL");
    strictEqual(stopped.message, "stopped: stubborn (terminated by SIGKILL)");
    ok(took >= 950, `stopped after ${took} ms, before stoptime`);
    ok(!alive(running.pid!));
    const notice = w.rec.events.find((e): e is NoticeEvent =>
      e.type === "notice" && e.message.includes("with SIGKILL")
    );
    ok(notice, "a notice says SIGKILL was sent");
    deepStrictEqual(w.rec.transitions("stubborn").slice(-2), [
      "RUNNING>STOPPING",
      "STOPPING>STOPPED",
    ]);
  } finally {
    await w.close();
  }
});

Deno.test(
  "a stop reaches grandchildren: STOPPED only once the whole group is gone",
  opts,
  async () => {
    const w = await world();
    try {
      const marker = uniqueSleep();
      await w.sup.load({
        path: w.config(`
programs:
  tree:
    # The leader dies on TERM; its background child ignores TERM and keeps the group alive.
    cmd: sh -c '(trap "" TERM; exec sleep ${marker}) & exec sleep 1000'
    starttime: 0.3
    stoptime: 1
`),
      });
      const running = await w.rec.reached("tree", "RUNNING");
      await w.sup.stop(["tree"]);
      const stopped = await w.rec.reached("tree", "STOPPED");
      // The leader itself died of SIGTERM; the group outlived it until SIGKILL.
      strictEqual(stopped.signal, "SIGTERM");
      ok(w.rec.events.some((e) => e.type === "notice" && e.message.includes("SIGKILL")));
      strictEqual(membersOf(running.pid!).length, 0, "no member of the group is left");
      strictEqual(processesWith(marker).length, 0, "the grandchild is gone");
    } finally {
      await w.close();
    }
  },
);

Deno.test("a leader that exits on its own takes its leftover children with it", opts, async () => {
  const w = await world();
  try {
    const marker = uniqueSleep();
    await w.sup.load({
      path: w.config(`
programs:
  leaky:
    cmd: sh -c 'sleep ${marker} & sleep 0.3; exit 0'
    starttime: 0.1
    stoptime: 1
    autorestart: never
`),
    });
    const exited = await w.rec.reached("leaky", "EXITED");
    strictEqual(exited.code, 0);
    ok(w.rec.events.some((e) => e.type === "notice" && e.message.includes("still has members")));
    strictEqual(processesWith(marker).length, 0, "the orphan was stopped before EXITED");
  } finally {
    await w.close();
  }
});

Deno.test(
  "a program that keeps crashing just after starttime ends FATAL (supervisord issue 405)",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  flaky:
    cmd: sh -c "sleep 0.3; exit 1"
    starttime: 0.1
    startretries: 2
`),
      });
      const fatal = await w.rec.reached("flaky", "FATAL");
      strictEqual(fatal.from, "EXITED");
      const exits = w.rec.states("flaky").filter((e) => e.to === "EXITED");
      strictEqual(exits.length, 3, "1 + startretries runs");
      ok(exits.every((e) => e.expected === false));
      const [row] = w.sup.status(["flaky"]);
      strictEqual(row.state, "FATAL");
      ok(row.description.startsWith("Exited unexpectedly 3 times in a row"), row.description);
      // A manual start gives it a new budget.
      const [start] = await w.sup.start(["flaky"]);
      deepStrictEqual(start, { name: "flaky", ok: true, message: "started" });
    } finally {
      await w.close();
    }
  },
);

Deno.test(
  "a missing command is a spawn error: BACKOFF, then FATAL; start answers ENOENT",
  opts,
  async () => {
    const w = await world({ backoffStepMs: 50 });
    try {
      await w.sup.load({
        path: w.config(`
programs:
  ghost:
    cmd: /nonexistent/ghost --flag
    startretries: 1
    autostart: false
`),
      });
      const [result] = await w.sup.start(["ghost"]);
      strictEqual(result.ok, false);
      strictEqual(result.error?.code, "ENOENT");
      ok(result.message.includes("can't find command '/nonexistent/ghost'"), result.message);
      await w.rec.reached("ghost", "FATAL");
      deepStrictEqual(w.rec.transitions("ghost"), [
        "STOPPED>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>STARTING",
        "STARTING>BACKOFF",
        "BACKOFF>FATAL",
      ]);
      strictEqual(
        w.sup.status(["ghost"])[0].description,
        "can't find command '/nonexistent/ghost'",
      );
    } finally {
      await w.close();
    }
  },
);

Deno.test(
  "start, stop and restart answer like supervisorctl; names, groups and all",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  web:
    cmd: sleep 1000
    numprocs: 2
    starttime: 0.3
    stoptime: 1
    autostart: false
  db:
    cmd: sleep 1000
    starttime: 0.1
    stoptime: 1
    autostart: false
`),
      });
      deepStrictEqual(w.sup.names(), ["web:0", "web:1", "db", "web:*"]);
      deepStrictEqual(w.sup.status().map((r) => [r.name, r.state, r.description]), [
        ["web:0", "STOPPED", "Not started"],
        ["web:1", "STOPPED", "Not started"],
        ["db", "STOPPED", "Not started"],
      ]);
      // start answers once the process is RUNNING, not before.
      const started = await w.sup.start(["web:*"]);
      deepStrictEqual(started.map((r) => [r.name, r.ok, r.message]), [
        ["web:0", true, "started"],
        ["web:1", true, "started"],
      ]);
      const rows = w.sup.status(["web"]);
      ok(rows.every((r) => r.state === "RUNNING"));
      ok(/^pid \d+, uptime 0:00:0\d$/.test(rows[0].description), rows[0].description);
      strictEqual(rows[0].pid, w.rec.states("web:0").at(-1)!.pid);

      const again = await w.sup.start(["web:0", "nosuch"]);
      deepStrictEqual(again.map((r) => [r.name, r.ok, r.message, r.error?.code]), [
        ["web:0", true, "already started", undefined],
        ["nosuch", false, "no such process", "ESRCH"],
      ]);
      const stopped = await w.sup.stop(["all"]);
      deepStrictEqual(stopped.map((r) => [r.name, r.message]), [
        ["web:0", "stopped"],
        ["web:1", "stopped"],
        ["db", "not running"],
      ]);
      ok(/^[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M$/.test(w.sup.status(["web:0"])[0].description));

      const oldPid = (await w.sup.start(["db"]), w.sup.status(["db"])[0].pid);
      const restarted = await w.sup.restart(["db"]);
      deepStrictEqual(restarted.map((r) => r.message), ["started"]);
      notStrictEqual(w.sup.status(["db"])[0].pid, oldPid);
    } finally {
      await w.close();
    }
  },
);

Deno.test("stopping a process in BACKOFF cancels its retry", opts, async () => {
  const w = await world({ backoffStepMs: 5000 });
  try {
    await w.sup.load({
      path: w.config(`
programs:
  broken:
    cmd: "false"
    starttime: 1
`),
    });
    await w.rec.reached("broken", "BACKOFF");
    const [r] = await w.sup.stop(["broken"]);
    strictEqual(r.message, "stopped");
    deepStrictEqual(w.rec.transitions("broken"), [
      "STOPPED>STARTING",
      "STARTING>BACKOFF",
      "BACKOFF>STOPPED",
    ]);
  } finally {
    await w.close();
  }
});

Deno.test(
  "input written to a program reaches its stdin; output reaches tail and listeners",
  opts,
  async () => {
    const w = await world();
    try {
      await w.sup.load({
        path: w.config(`
programs:
  echo:
    cmd: sh -c 'while read line; do echo "got $line"; done'
    starttime: 0.1
    autorestart: never
`),
      });
      await w.rec.reached("echo", "RUNNING");
      const heard = new Promise<string>((resolve) => {
        const off = w.sup.onOutput((name, stream, offset, chunk) => {
          if (name !== "echo" || stream !== "stdout") return;
          off();
          resolve(`${offset}:${new TextDecoder().decode(chunk)}`);
        });
      });
      await w.sup.write("echo", new TextEncoder().encode("hello\n"));
      strictEqual(await heard, "0:got hello\n");
      const { data, offset } = w.sup.tail("echo", "stdout");
      strictEqual(new TextDecoder().decode(data), "got hello\n");
      strictEqual(offset, 0);
      w.sup.closeInput("echo");
      const exited = await w.rec.reached("echo", "EXITED");
      strictEqual(exited.code, 0);
    } finally {
      await w.close();
    }
  },
);

/** Live members of process group `pgid`. */
function membersOf(pgid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) === pgid && f[0] !== "Z") out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A sleep duration no other process uses, to find that process again. */
function uniqueSleep(): string {
  return `1000.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
}

/** Live `sleep DURATION` processes. */
function processesWith(duration: string): number[] {
  const marker = `sleep\0${duration}\0`;
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`);
      if (cmdline.includes(marker) && alive(Number(e.name))) out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
