/**
 * A client connection's counters from nats-server's monitoring endpoint
 * (`/connz`, the broker is started with `-m`): what a controller really
 * sent, counted by the server rather than by the controller itself.
 */

export interface ConnCounts {
  cid: number;
  name: string;
  /** Messages and bytes the server received from the client. */
  inMsgs: number;
  inBytes: number;
  /** When it closed (closed connections only), ms since the epoch. */
  stoppedAt: number;
}

/** How long the server may take to list a connection whose client has exited. */
const CLOSE_SEEN_MS = 5_000;
const POLL_MS = 50;

export async function connections(monitorUrl: string, query: string): Promise<ConnCounts[]> {
  const r = await fetch(`${monitorUrl}/connz?${query}`);
  if (!r.ok) throw new Error(`${monitorUrl}/connz?${query}: HTTP ${r.status}`);
  const body = await r.json() as { connections?: Record<string, unknown>[] };
  return (body.connections ?? []).map((c) => ({
    cid: Number(c.cid),
    name: String(c.name ?? ""),
    inMsgs: Number(c.in_msgs ?? 0),
    inBytes: Number(c.in_bytes ?? 0),
    stoppedAt: typeof c.stop === "string" ? Date.parse(c.stop) : NaN,
  }));
}

/**
 * The connection named `name` that closed at or after `since` (ms since the
 * epoch) and is not in `seen` (it is added there): e.g. the connection of a
 * CLI run that has just exited.
 */
export async function closedConnection(
  monitorUrl: string,
  name: string,
  since: number,
  seen: Set<number>,
): Promise<ConnCounts> {
  const end = Date.now() + CLOSE_SEEN_MS;
  for (;;) {
    const closed = await connections(monitorUrl, "state=closed&sort=stop&limit=100");
    const c = closed.find((c) => c.name === name && !seen.has(c.cid) && c.stoppedAt >= since);
    if (c) {
      seen.add(c.cid);
      return c;
    }
    if (Date.now() > end) {
      throw new Error(`${monitorUrl}/connz lists no connection "${name}" closed since the run`);
    }
    // The server says nothing when it has registered a close: poll, with a deadline.
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
