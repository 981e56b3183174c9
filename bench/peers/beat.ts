// A middle peer for the idle agent: a Deno process with one NATS connection that publishes a
// small message every 5 s (the agent's default heartbeat) and does nothing else. Between the
// bare process and the agent, it shows what the connection and the beat cost by themselves.
import { connect } from "@nats-io/transport-node";

const nc = await connect({ servers: Deno.args[0] });
console.error("ready");
const body = new Uint8Array(200);
setInterval(() => nc.publish("bench.beat", body), 5_000);
