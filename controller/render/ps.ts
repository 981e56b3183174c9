/**
 * `controller ps`: one line per process, beginning with its host.
 *
 *   HOST  ID      PID    STATE    EXIT              STARTED   COMMAND
 *   t-1   r1a2b   4242   running  -                 14:03:27  sleep 600
 *   t-2   r1a2b   4250   exited   killed by SIGTERM 14:03:27  sleep 600
 */
import { compareHosts } from "../../protocol/nodeset.ts";
import type { ProcInfo } from "../../protocol/messages.ts";
import { describeExit, formatCommand, formatTime } from "./describe.ts";
import { formatTable } from "./table.ts";

export function psTable(procs: ProcInfo[], now = Date.now()): string {
  const rows = sortProcs(procs).map((p) => [
    p.host,
    p.id,
    String(p.pid),
    p.state,
    p.state === "running" ? "-" : describeExit(p),
    formatTime(p.started, now),
    formatCommand(p.argv),
  ]);
  return formatTable(["HOST", "ID", "PID", "STATE", "EXIT", "STARTED", "COMMAND"], rows);
}

export function sortProcs(procs: ProcInfo[]): ProcInfo[] {
  return [...procs].sort((a, b) => compareHosts(a.host, b.host) || a.started - b.started);
}
