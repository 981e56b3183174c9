/**
 * Many agents in one process, for the benchmark's 1000-agent fan-out: each
 * one is the real agent (agent/agent.ts's `Agent`, the class agent/main.ts
 * starts once per process) with its own NATS connection, its own name and
 * its own state directory. Beside each agent, a bare NATS responder on its
 * own connection answers requests on RAW-SUBJECT with their own bytes: the
 * same broadcast with nothing of tutti in it, the ping's physical limit.
 *
 *   deno run -A --config deno.json bench/emulated_host.ts URL PREFIX FIRST COUNT DIR RAW-SUBJECT [K]
 *
 * With K (default 1), each responder connection answers for K agents (K
 * subscriptions): past 9,000 agents the broker would run out of file
 * descriptors with one connection each.
 *
 * starts agents PREFIX-FIRST ... PREFIX-(FIRST+COUNT-1), says `ready` on
 * stderr once every one has said hello, and stops them all cleanly on SIGTERM.
 * What main.ts does once per process (signal handlers, the stray-error
 * guard, the exit code) is done here once for all of them.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Agent } from "../agent/agent.ts";
import { parseAgentOptions } from "../agent/options.ts";

/** Agents connecting at once: enough to overlap the broker's round trips, few enough not to stall. */
const START_WIDTH = 25;

const [url, prefix, firstText, countText, dir, rawSubject, perText = "1"] = Deno.args;
const first = Number(firstText);
const count = Number(countText);
const perConnection = Number(perText);
if (
  !url || !prefix || !(first >= 1) || !(count >= 1) || !dir || !rawSubject ||
  !(perConnection >= 1)
) {
  console.error("usage: emulated_host.ts URL NAME-PREFIX FIRST COUNT STATE-DIR RAW-SUBJECT [K]");
  Deno.exit(2);
}

// As agent/main.ts: a bug in one handler must not take down the others (250 agents here).
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`emulated: unhandled rejection: ${e.reason?.stack ?? e.reason}`);
});

const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<void>();
for (const s of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(s, () => requestStop());

const agents: Agent[] = [];
const raws: NatsConnection[] = [];
const names = Array.from({ length: count }, (_, i) => `${prefix}-${first + i}`);
let next = 0;
const rawConnections: Promise<NatsConnection>[] = [];
/** The responder connection of agent `index` (opened by the first of its agents to ask). */
function rawOf(index: number, name: string): Promise<NatsConnection> {
  const at = Math.floor(index / perConnection);
  return rawConnections[at] ??= connect({ servers: url, name: `bench-raw ${name}` }).then((c) => {
    raws.push(c);
    return c;
  });
}
let failed: Error | null = null;
const lane = async () => {
  while (next < names.length && !failed) {
    const index = next++;
    const name = names[index];
    try {
      const opts = parseAgentOptions([
        "--server",
        url,
        "--name",
        name,
        "--state-dir",
        `${dir}/${name}`,
        // Thousands of agents in one process: their keepers too (no process each).
        "--keeper",
        "embedded",
      ]);
      const agent = await Agent.start(opts, {
        stopRequested,
        onKill: () => {},
        // A controller's `shutdown` stops the whole process: these agents live and die together.
        requestStop: () => requestStop(),
        // The bench never upgrades them, and re-executing this process would take all of them.
        requestRestart: () => {},
      });
      if (agent) agents.push(agent);
      const raw = await rawOf(index, name);
      raw.subscribe(rawSubject, {
        callback: (_err, m) => {
          m.respond(m.data);
        },
      });
    } catch (e) {
      failed = e as Error;
    }
  }
};
await Promise.all(Array.from({ length: START_WIDTH }, lane));
if (failed) {
  console.error(`emulated: cannot start: ${(failed as Error).message}`);
} else {
  await Promise.all(raws.map((r) => r.flush()));
  console.error(`emulated: ready (${agents.length} agents)`);
  await stopRequested;
}
await Promise.all([...agents.map((a) => a.stop()), ...raws.map((r) => r.close())]);
Deno.exit(failed ? 1 : 0);
