// One uptime style for `programs status` and `hosts`: supervisorctl's.
import { strictEqual } from "node:assert/strict";
import { describeProcess } from "../../agent/supervisor/status.ts";
import { hostsTable } from "../../controller/render/hosts.ts";
import type { PingReply } from "../../protocol/messages.ts";
import { formatUptime } from "../../protocol/text/uptime.ts";

Deno.test("uptimes print like supervisorctl's (Python's str(timedelta))", () => {
  strictEqual(formatUptime(0), "0:00:00");
  strictEqual(formatUptime(59_999), "0:00:59");
  strictEqual(formatUptime(192_700), "0:03:12");
  strictEqual(formatUptime(36_000_000), "10:00:00");
  strictEqual(formatUptime(86_401_000), "1 day, 0:00:01");
  strictEqual(formatUptime(2 * 86_400_000 + 3_723_000), "2 days, 1:02:03");
  strictEqual(formatUptime(-5), "0:00:00");
});

Deno.test("programs status and hosts print the same uptime", () => {
  const up = 2 * 86_400_000 + 3_723_000;
  strictEqual(
    describeProcess("web", "RUNNING", 4121, up / 1000, null, 0, null),
    "pid 4121, uptime 2 days, 1:02:03",
  );
  const now = 10 * 86_400_000;
  const info: PingReply = {
    version: "0.1.0",
    labels: {},
    started: now - up,
    pid: 1,
    running: 0,
    heartbeat: 5000,
    telemetry: 0,
    os: "linux",
    arch: "x86_64",
    cores: 1,
    memory: 1,
    boot: 0,
  };
  const table = hostsTable([{ host: "h1", state: "up", info }], now);
  strictEqual(table.split("\n")[1].split(/\s{2,}/)[2], "2 days, 1:02:03");
});
