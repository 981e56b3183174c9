// The fan-in section's library contender, in a process of its own so that its peak memory is its
// own: runs ARGV on HOSTS through the controller library, counts every output byte per host
// and stream as a script would, and prints one JSON line: {ok, bytes, perHost, missing}.
import { Controller } from "../../controller/mod.ts";

const [url, hosts, ...argv] = Deno.args;
const c = await Controller.connect({ servers: [url], stateDir: false });
const run = c.run({ hosts, argv });
const perHost: Record<string, number> = {};
let bytes = 0;
let missing = 0;
for await (const e of run) {
  if (e.type === "output") {
    bytes += e.data.length;
    perHost[e.host] = (perHost[e.host] ?? 0) + e.data.length;
  } else if (e.type === "missing") {
    missing += e.bytes;
  }
}
const summary = await run.done;
await c.close();
console.log(
  JSON.stringify({ ok: summary.ok, hosts: summary.hosts.length, bytes, perHost, missing }),
);
