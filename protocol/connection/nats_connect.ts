/**
 * `connect` of @nats-io/transport-node, with two changes to its transport,
 * both about the memory that bytes cost on their way:
 *
 * - Going out, a large frame's memory is released as soon as the socket has
 *   written it. The client packs what it publishes into one new array per
 *   write (the protocol line, the headers, the payload), which is garbage
 *   once written. V8 frees such arrays only when it collects, and it waits for
 *   some 64 MiB of them first: an agent streaming output, or a controller
 *   uploading a file, carried that much dead memory most of the time. A packed
 *   frame belongs to the transport alone, so it is detached
 *   (`ArrayBuffer.prototype.transfer(0)`) once written, which frees its memory
 *   at once. Only frames that own their whole buffer and are large are
 *   released: small ones are the client's shared constants (PING, PONG) or
 *   cost nothing to leave to V8.
 * - Coming in, the server's bytes are regrouped so that no message spans two
 *   frames (message_framer.ts): a message longer than a socket read is one
 *   array of its size, not a buffer the parser grew by doubling. The reads
 *   themselves are not released like the frames going out, even those only
 *   copied from: node:net still holds them (detaching them lost bytes).
 */
import {
  type ConnectionOptions,
  type NatsConnection,
  NatsConnectionImpl,
  setTransportFactory,
} from "@nats-io/transport-node";
import { nodeResolveHost, NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";
import { MessageFramer } from "./message_framer.ts";

/** Frames at least this large are released once written. */
const RELEASE_MIN = 64 * 1024;

class LeanTransport extends NodeTransport {
  override _send(frame: Uint8Array): Promise<void> {
    const written = super._send(frame);
    if (
      frame.byteLength >= RELEASE_MIN && frame.byteOffset === 0 &&
      frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer
    ) {
      const release = () => (frame.buffer as ArrayBuffer).transfer(0);
      written.then(release, release);
    }
    return written;
  }

  /** The server's bytes, regrouped so that no message spans two frames (message_framer.ts). */
  override async *iterate(): AsyncIterableIterator<Uint8Array> {
    const framer = new MessageFramer();
    for await (const frame of super.iterate()) yield* framer.push(frame);
  }
}

export function connect(opts: ConnectionOptions): Promise<NatsConnection> {
  setTransportFactory({
    factory: () => new LeanTransport(),
    dnsResolveFn: nodeResolveHost,
  });
  return NatsConnectionImpl.connect(opts);
}
