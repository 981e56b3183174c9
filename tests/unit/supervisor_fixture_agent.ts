/**
 * A stand-in for an agent, for the recovery test: opens a supervisor on a
 * state dir, loads a configuration, starts the named processes, and prints
 * one JSON line per RUNNING event until it is killed.
 *
 * usage: deno run -A supervisor_fixture_agent.ts STATE_DIR CONFIG [NAME...]
 */
import { Supervisor } from "../../agent/supervisor/supervisor.ts";

const [stateDir, config, ...start] = Deno.args;
const sup = await Supervisor.open({
  stateDir,
  onEvent: (e) => {
    if (e.type === "state" && e.to === "RUNNING") {
      console.log(JSON.stringify({ process: e.process, pid: e.pid }));
    }
  },
});
await sup.load({ path: config });
if (start.length > 0) await sup.start(start);
// Runs until killed.
setInterval(() => {}, 1 << 30);
