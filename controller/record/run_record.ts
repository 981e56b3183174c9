/**
 * The record of one run, gathered as the run goes: it sees every event of
 * the run (as a view does), the agents' ping replies for their facts, and
 * the summary; `finish` then makes the record. Nothing here talks to the
 * network: the caller pings (`Controller.ping` with the run's selector, at
 * the run's start) and hands over the replies.
 */
import type { PingReply } from "../../protocol/messages.ts";
import { compareHosts } from "../../protocol/nodeset.ts";
import type { HostClock, HostReply, RunEvent, RunSummary } from "../events.ts";
import type { PreparedRun } from "../run_request.ts";
import { recordHeader } from "./record_header.ts";
import type {
  HostResult,
  RecordedCommand,
  RunRecord,
  StreamBytes,
  Unended,
} from "./record_types.ts";

export class RunRecorder {
  private readonly started: number;
  private readonly recovered = new Map<string, StreamBytes>();
  private readonly missing = new Map<string, StreamBytes>();
  private readonly clocks: HostClock[] = [];
  private replies: HostReply<PingReply>[] = [];

  constructor(readonly prepared: PreparedRun, now = Date.now()) {
    this.started = now;
  }

  /** Every event of the run, in order. */
  event(e: RunEvent): void {
    if (e.type === "output" && e.recovered) {
      bytesOf(this.recovered, e.host)[e.stream] += e.data.length;
    } else if (e.type === "missing") {
      bytesOf(this.missing, e.host)[e.stream] += e.bytes;
    } else if (e.type === "scheduled") {
      const { type: _t, at: _a, ...clock } = e;
      this.clocks.push(clock);
    }
  }

  /** The agents' ping replies (a host that did not answer has no facts). */
  pings(replies: HostReply<PingReply>[]): void {
    this.replies = replies;
  }

  /**
   * The record of the ended run; of an interrupted one, `interrupted` names
   * the hosts that had not ended (their outcome is not known).
   */
  async finish(
    summary: RunSummary,
    now = Date.now(),
    interrupted?: Unended,
  ): Promise<RunRecord> {
    const results = summary.hosts.map((o): HostResult => {
      const p = o.proc;
      const r: HostResult = {
        host: o.host,
        status: o.status,
        recovered: this.recovered.get(o.host) ?? { stdout: 0, stderr: 0 },
        missing: this.missing.get(o.host) ?? { stdout: 0, stderr: 0 },
      };
      if (p) {
        Object.assign(r, {
          pid: p.pid,
          start: p.started,
          end: p.ended,
          code: p.code,
          signal: p.signal,
          timedOut: p.timedOut,
          bytes: { stdout: p.stdout, stderr: p.stderr },
        });
      }
      if (o.error) r.error = o.error;
      if (o.sync) r.sync = o.sync;
      return r;
    }).sort((a, b) => compareHosts(a.host, b.host));
    const clocks = [...this.clocks].sort((a, b) => compareHosts(a.host, b.host));
    return {
      ...recordHeader({
        kind: "run",
        id: summary.id,
        started: this.started,
        ended: now,
        selector: this.prepared.options,
        hosts: [
          ...summary.hosts.map((o) => o.host),
          ...(interrupted?.running ?? []),
          ...(interrupted?.scheduled ?? []),
        ],
        pings: this.replies,
      }),
      kind: "run",
      run: {
        command: await recordedCommand(this.prepared),
        ...(summary.sync ? { sync: { ...summary.sync, clocks } } : {}),
        results,
        ok: summary.ok,
        ...(interrupted && {
          interrupted: {
            running: [...interrupted.running].sort(compareHosts),
            scheduled: [...interrupted.scheduled].sort(compareHosts),
          },
        }),
      },
    };
  }
}

/** The command as the request sent it, the environment reduced to its keys and digest. */
export async function recordedCommand(run: PreparedRun): Promise<RecordedCommand> {
  const q = run.request;
  const env = Object.entries(q.env ?? {}).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  const c: RecordedCommand = {
    ...(q.argv ? { argv: q.argv } : {}),
    ...(q.shell === undefined ? {} : { shell: q.shell }),
    ...(q.cwd === undefined ? {} : { cwd: q.cwd }),
    env: {
      keys: env.map(([k]) => k),
      sha256: await sha256(JSON.stringify(env)),
      clear: !!q.clearEnv,
    },
    stdin: !!q.stdin,
  };
  if (q.timeout !== undefined) c.timeout = q.timeout;
  if (q.grace !== undefined) c.grace = q.grace;
  return c;
}

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function bytesOf(m: Map<string, StreamBytes>, host: string): StreamBytes {
  let b = m.get(host);
  if (!b) m.set(host, b = { stdout: 0, stderr: 0 });
  return b;
}
