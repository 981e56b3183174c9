/**
 * `connect` of @nats-io/transport-node, with one change to its transport:
 * a large frame's memory is released as soon as the socket has written it.
 *
 * The client packs what it publishes into one new array per write (the
 * protocol line, the headers, the payload), which is garbage once written.
 * V8 frees such arrays only when it collects, and it waits for some 64 MiB of
 * them first: an agent streaming output, or a controller uploading a file,
 * carried that much dead memory most of the time. A packed frame belongs to
 * the transport alone, so it is detached (`ArrayBuffer.prototype.transfer(0)`)
 * once written, which frees its memory at once. Only frames that own their
 * whole buffer and are large are released: small ones are the client's
 * shared constants (PING, PONG) or cost nothing to leave to V8.
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

class ReleasingTransport extends NodeTransport {
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
    factory: () => new ReleasingTransport(),
    dnsResolveFn: nodeResolveHost,
  });
  return NatsConnectionImpl.connect(opts);
}
