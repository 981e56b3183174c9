/**
 * Starting a process at one instant on many hosts (PROTOCOL.md, "clock" and
 * "Run at an instant"): the `clock` exchange that measures each agent's
 * clock against its requester's, the `startUs` of a `run` (each host's
 * instant on its own clock) and the early answer of an agent that holds a
 * run until then. Every time here is an integer of microseconds since the
 * epoch, read from the sender's wall clock.
 */
import { Fields } from "./fields.ts";
import { quoteValue, TuttiError } from "./errors.ts";

type Map = Record<string, unknown>;

/** `clock` request: `t0`, the requester's clock as it sent it. */
export interface ClockRequest {
  t0: number;
}

/**
 * `clock` reply: `t0` as received, `t1` the agent's clock when the request
 * came, `t2` when it answered. With `t3`, the requester's clock when the
 * answer came, the agent's clock is ahead of the requester's by
 * ((t1 - t0) + (t2 - t3)) / 2, give or take half the round trip.
 */
export interface ClockReply {
  t0: number;
  t1: number;
  t2: number;
}

/** The early answer to a `run` with `startUs`: the host holds it for its instant. */
export interface RunScheduled {
  accepted: true;
  /** The instant on the host's clock (its entry of `startUs`). */
  startUs: number;
}

/** µs since the epoch that are not a plausible wall-clock time (before 2001 or after 2286). */
const MIN_US = 1e15;
const MAX_US = 1e16;

function micros(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= MIN_US && (x as number) < MAX_US;
}

const MICROS = "an integer of µs since the epoch";

export function parseClockRequest(m: Map): ClockRequest {
  if (!micros(m.t0)) {
    const shown = m.t0 === undefined ? "missing" : `got ${quoteValue(m.t0)}`;
    throw new TuttiError("EINVAL", `field "t0": expected ${MICROS}, ${shown}`);
  }
  return { t0: m.t0 };
}

export function parseClockReply(m: Map): ClockReply {
  const f = Fields.of(m, "clock reply");
  const t = (field: string) => {
    if (!micros(f.m[field])) f.fail(field, MICROS);
    return f.m[field] as number;
  };
  return { t0: t("t0"), t1: t("t1"), t2: t("t2") };
}

/**
 * A run's `startUs`: host name → the instant on that host's clock. Absent:
 * undefined (the run starts at once).
 */
export function parseStartUs(m: Map): Record<string, number> | undefined {
  const x = m.startUs;
  if (x === undefined || x === null) return undefined;
  const fail = (field: string, want: string, got: unknown): never => {
    const shown = got === undefined ? "missing" : `got ${quoteValue(got)}`;
    throw new TuttiError("EINVAL", `field "${field}": expected ${want}, ${shown}`);
  };
  if (typeof x !== "object" || Array.isArray(x) || x instanceof Uint8Array) {
    fail("startUs", "a map of host names to instants", x);
  }
  const out: Record<string, number> = {};
  for (const [host, at] of Object.entries(x as Map)) {
    if (!micros(at)) fail(`startUs.${host}`, MICROS, at);
    out[host] = at as number;
  }
  if (Object.keys(out).length === 0) fail("startUs", "at least one host", x);
  return out;
}

export function parseRunScheduled(m: Map): RunScheduled {
  const f = Fields.of(m, "run reply");
  if (f.m.accepted !== true) f.fail("accepted", "true");
  if (!micros(f.m.startUs)) f.fail("startUs", MICROS);
  return { accepted: true, startUs: f.m.startUs as number };
}
