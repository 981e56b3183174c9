/**
 * NATS header names. Every message tutti publishes carries a few of them so
 * that `nats sub --headers-only 'tutti.>'` is readable without decoding CBOR.
 */
export const H = {
  /** Message type: the verb for requests and replies, the event name for events. */
  type: "Tutti-Type",
  host: "Tutti-Host",
  proc: "Tutti-Proc",
  /** Error code on failed replies. */
  error: "Tutti-Error",
  /** Protocol version. */
  version: "Tutti-Version",
  /** Per-process event sequence number (started = 0, then every event +1). */
  seq: "Tutti-Seq",
  /** Byte offset of an output chunk in its stream, or of an input chunk in its input. */
  offset: "Tutti-Offset",
  /** `stdout` or `stderr` on output and `dropped` events. */
  stream: "Tutti-Stream",
  /** `cbor` for control payloads, `raw` for output bytes. */
  encoding: "Tutti-Encoding",
} as const;
