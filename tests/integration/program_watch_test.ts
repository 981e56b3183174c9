/**
 * Watches on supervised programs, through `controller watch` against a real
 * broker and a real agent supervising programs: output met when a program
 * prints (one process, and any of `web:*`), output printed by the run after
 * a restart, the end of a run, a state reached and a FATAL program failing
 * a state watch, and precise refusals for names that match nothing. Each
 * program waits for a file the test creates once the watch is in place, so
 * nothing depends on timing.
 */
import assert from "node:assert/strict";
import { World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** `sh -c` waiting for `file`, then running `then`. */
function after(file: string, then: string): string {
  return `sh -c 'while [ ! -e ${file} ]; do sleep 0.02; done; ${then}'`;
}

function config(dir: string): string {
  return `programs:
  web:
    cmd: ${after(`${dir}/go-web`, "echo ready; sleep 1000")}
    autostart: false
    starttime: 0.1
    stoptime: 1
  pool:
    cmd: ${
    after(`${dir}/go-pool-$TUTTI_PROCESS_NUM`, "echo worker $TUTTI_PROCESS_NUM up; sleep 1000")
  }
    numprocs: 2
    starttime: 0.1
    stoptime: 1
  flaky:
    cmd: sh ${dir}/flaky.sh
    autostart: false
    starttime: 0.1
    stoptime: 1
  job:
    cmd: ${after(`${dir}/go-job`, "exit 4")}
    autorestart: never
    starttime: 0.1
    stoptime: 1
  broken:
    cmd: sh -c 'exit 1'
    autostart: false
    starttime: 0.5
    startretries: 1
`;
}

Deno.test(
  "watches on supervised programs: output, restarts, exit, state, unknown names",
  opts,
  async () => {
    const world = await World.create();
    try {
      // Its first run exits 3 after 0.3 s (past starttime: EXITED, restarted); the second waits.
      Deno.writeTextFileSync(
        `${world.dir}/flaky.sh`,
        `if [ -e ${world.dir}/flaky-ran ]; then\n` +
          `  while [ ! -e ${world.dir}/go-flaky ]; do sleep 0.02; done; echo second run ready; sleep 1000\n` +
          `else touch ${world.dir}/flaky-ran; echo first run; sleep 0.3; exit 3; fi\n`,
      );
      const { log } = await supervisingAgent(world, "p1", writeConfig(world, config(world.dir)));
      await log.reached("job", "RUNNING");
      await log.reached("pool:1", "RUNNING");
      const watch = (args: string[]) =>
        world.spawnController(["watch", "--hosts", "p1", "--timeout", "30s", ...args]);
      const inPlace = (w: ReturnType<typeof watch>) =>
        w.waitFor("the watch to be in place", (_o, e) => e.includes("p1: watching"));

      // Output of a program started after the watch.
      const web = watch(["output", "web", "^ready$"]);
      await inPlace(web);
      const started = await world.controller(["programs", "start", "--hosts", "p1", "web"]);
      assert.equal(started.code, 0, started.stderr);
      Deno.writeTextFileSync(`${world.dir}/go-web`, "");
      let r = await web.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^p1: ready after .*\(process web printed a matching line on stdout\)/,
      );

      // Any process of a program: the second one prints first.
      const pool = watch(["output", "pool:*", "worker \\d up"]);
      await inPlace(pool);
      Deno.writeTextFileSync(`${world.dir}/go-pool-1`, "");
      r = await pool.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /process pool:1 printed a matching line/);

      // A program that exits, is restarted, and prints in its second run.
      const flaky = watch(["output", "flaky", "ready"]);
      await inPlace(flaky);
      const fs = await world.controller(["programs", "start", "--hosts", "p1", "flaky"]);
      assert.equal(fs.code, 0, fs.stderr);
      await log.reached("flaky", "EXITED");
      await log.reached("flaky", "RUNNING", 2);
      assert.equal(flaky.stdout, "", "the first run printed no matching line");
      Deno.writeTextFileSync(`${world.dir}/go-flaky`, "");
      r = await flaky.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /process flaky printed a matching line on stdout/);

      // The end of a run, then at once for a process that is not running.
      const job = watch(["exit", "job"]);
      await inPlace(job);
      Deno.writeTextFileSync(`${world.dir}/go-job`, "");
      r = await job.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\(process job exited with code 4 \(EXITED\)\)/);
      r = await world.controller(["watch", "--hosts", "p1", "--timeout", "5s", "exit", "job"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /process job is not running \(EXITED; its last run exited with code 4\)/,
      );

      // A state reached (already, or later), and a program that ends FATAL.
      r = await world.controller([
        "watch",
        "--hosts",
        "p1",
        "--timeout",
        "5s",
        "state",
        "web",
        "RUNNING",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /process web is RUNNING/);
      const stopped = watch(["state", "web", "stopped"]);
      await inPlace(stopped);
      await world.controller(["programs", "stop", "--hosts", "p1", "web"]);
      r = await stopped.result();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /process web entered STOPPED \(from STOPPING\)/);
      const broken = watch(["state", "broken", "RUNNING"]);
      await inPlace(broken);
      await world.controller(["programs", "start", "--hosts", "p1", "broken"]);
      r = await broken.result();
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /gave up: broken entered FATAL state.* before it reached RUNNING/);

      // Names that match nothing are refused by the agent, precisely.
      for (
        const [cond, said] of [
          [
            ["output", "nope", "x"],
            /ESRCH no process nope on this host, and no program of that name \(programs: web, pool/,
          ],
          [
            ["exit", "pool:7"],
            /ESRCH no process pool:7 on this host: program pool has pool:0, pool:1/,
          ],
          [
            ["state", "nope:*", "RUNNING"],
            /ESRCH no program nope on this host \(programs: web, pool, flaky, job, broken\)/,
          ],
        ] as const
      ) {
        r = await world.controller(["watch", "--hosts", "p1", "--timeout", "5s", ...cond]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, said);
      }
      r = await world.controller(["watch", "--hosts", "p1", "state", "web", "ASLEEP"]);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /expected a program state \(STOPPED, STARTING, RUNNING/);
      log.close();
    } finally {
      await closeWorld(world);
    }
  },
);
