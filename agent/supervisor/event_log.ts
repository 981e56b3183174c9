/**
 * The event log file (`--event-log`): one JSON object per line, appended as
 * each event happens, `time` first as an ISO 8601 UTC timestamp, then the
 * event's fields, `message` in supervisord's words:
 *
 * ```
 * {"time":"2025-03-01T10:00:02.114Z","type":"state","program":"web","process":"web:0","from":"RUNNING","to":"EXITED","pid":4121,"expected":false,"code":null,"signal":"SIGKILL","message":"exited: web:0 (terminated by SIGKILL; not expected)"}
 * ```
 *
 * One line per event keeps `tail -f` and `grep` useful and `jq` exact.
 * Lines are written synchronously: events are rare (state changes, not
 * output), and the log then never lags behind nor loses the last events of
 * an agent that is killed. `reopen()` follows a rotation.
 */
import { log } from "../log.ts";
import type { SupervisorEvent } from "./events.ts";

const encoder = new TextEncoder();

export class EventLog {
  private file: Deno.FsFile | null = null;
  private lastError = "";

  constructor(readonly path: string) {}

  append(e: SupervisorEvent): void {
    const { time, ...rest } = e;
    const line = JSON.stringify({ time: new Date(time).toISOString(), ...rest }) + "\n";
    try {
      this.file ??= Deno.openSync(this.path, { append: true, create: true });
      const bytes = encoder.encode(line);
      let done = 0;
      while (done < bytes.length) done += this.file.writeSync(bytes.subarray(done));
      this.lastError = "";
    } catch (err) {
      this.close();
      const why = `event log ${this.path}: ${(err as Error).message}`;
      if (why !== this.lastError) log(why);
      this.lastError = why;
    }
  }

  /** After a rotation: the next line goes to a new file at the same path. */
  reopen(): void {
    this.close();
  }

  close(): void {
    try {
      this.file?.close();
    } catch {
      // already closed
    }
    this.file = null;
  }
}
