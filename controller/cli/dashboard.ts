/**
 * `controller dashboard [--port N] [--listen ADDR] [--hosts SEL]`: serves the
 * web dashboard (controller/dashboard/) until interrupted, and prints its
 * address. Live host table with CPU and memory charts, the processes with
 * their last output lines, and a form that runs a command on a selection.
 */
import { DashboardHub } from "../dashboard/hub.ts";
import { serveDashboard } from "../dashboard/server.ts";
import { str } from "../../protocol/cli/argv.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";
import { selection, SELECTION_OPTIONS, SELECTION_USAGE } from "./selection.ts";
import type { Verb } from "./verb.ts";

export const DEFAULT_DASHBOARD_PORT = 8640;

export const dashboardVerb: Verb = {
  name: "dashboard",
  summary: "serve a live web dashboard of the hosts, their processes and runs",
  options: { ...SELECTION_OPTIONS, port: { type: "string" }, listen: { type: "string" } },
  usage: `usage: controller dashboard [--port N] [--listen ADDR] [--hosts SEL]
Serves a web page with the selected hosts (default: every host), live: state, CPU and
memory charts, network, the managed processes with their last output lines, and a form
that runs a command line on a selection and shows its output. Figures come from the
agents' telemetry (agents started with --telemetry 1s). Stops on Ctrl-C.

${SELECTION_USAGE}
  --port N             TCP port (default ${DEFAULT_DASHBOARD_PORT}; 0 picks a free one)
  --listen ADDR        address to listen on (default 127.0.0.1). The page can run
                       commands on your hosts: keep it on loopback and reach it through
                       an SSH tunnel rather than opening it to a network.`,

  async main(p, ctx) {
    const spec = selection(p.values, false);
    const portText = str(p.values, "port") ?? String(DEFAULT_DASHBOARD_PORT);
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
      throw new UsageError(`--port ${JSON.stringify(portText)}: a port number, 0 to 65535`);
    }
    const hostname = str(p.values, "listen") ?? "127.0.0.1";
    if (hostname === "") throw new UsageError("--listen: an address, e.g. 127.0.0.1");
    const c = await ctx.connect();
    const hub = new DashboardHub(c, spec, spec.hosts ?? "*");
    const stop = new AbortController();
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const onSignal = () => stop.abort();
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      let server;
      try {
        server = await serveDashboard(hub, {
          hostname,
          port: Number(portText),
          signal: stop.signal,
        });
      } catch (e) {
        if (e instanceof Deno.errors.AddrInUse) {
          ctx.out.stderr(
            `controller dashboard: port ${portText} is in use: choose another with --port\n`,
          );
          return 1;
        }
        ctx.out.stderr(
          `controller dashboard: cannot listen on ${hostname}:${portText}: ${
            (e as Error).message
          }\n`,
        );
        return 1;
      }
      hub.start();
      ctx.out.stdout(`dashboard on ${server.url} (Ctrl-C to stop)\n`);
      await server.finished;
      return 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      await hub.close();
    }
  },
};
