// The streaming section's broker peer: publishes BYTES bytes on SUBJECT in CHUNK-byte messages
// from its own process and connection, with the agent's flow control (a flush once a quarter of an
// 8 MiB window is in flight, publishing paused while a whole window is), and an offset header per
// message as the agent's live output has. What NATS itself allows between two Deno processes.
import { connect, headers } from "@nats-io/transport-node";

const [url, subject, bytesText, chunkText] = Deno.args;
const total = Number(bytesText);
const chunk = Number(chunkText);
const WINDOW = 8 * 1024 * 1024;
const nc = await connect({ servers: url });
const data = new Uint8Array(chunk);
let sent = 0;
let acked = 0;
let flushing: Promise<void> | null = null;
while (sent < total) {
  const n = Math.min(chunk, total - sent);
  const h = headers();
  h.set("Tutti-Offset", String(sent));
  nc.publish(subject, n === chunk ? data : data.subarray(0, n), { headers: h });
  sent += n;
  if (!flushing && sent - acked >= WINDOW / 4) {
    const mark = sent;
    flushing = nc.flush().then(() => {
      acked = mark;
      flushing = null;
    });
  }
  if (sent - acked >= WINDOW && flushing) await flushing;
}
await nc.flush();
await nc.close();
