/** Alerts: which supervision events are alerts, the rate limit and its suppressed count, the syslog line. */
import assert from "node:assert/strict";
import { AGENT_SYSLOG, alertOf } from "../../agent/alerts/alert.ts";
import { AlertRateLimit } from "../../protocol/alerts/rate_limit.ts";
import { syslogLine } from "../../protocol/alerts/syslog_sink.ts";
import { parseAgentOptions } from "../../agent/options.ts";

const base = { type: "state", time: 0, program: "web", process: "web:0", message: "m" } as const;

Deno.test("unexpected deaths and FATAL are alerts; expected exits, starts and stops are not", () => {
  assert.equal(
    alertOf("h", { ...base, from: "RUNNING", to: "EXITED", expected: false, pid: 5, code: 1 })
      ?.kind,
    "exited",
  );
  assert.equal(
    alertOf("h", { ...base, from: "STARTING", to: "BACKOFF", pid: 5, code: 2 })?.kind,
    "exited",
  );
  assert.equal(alertOf("h", { ...base, from: "BACKOFF", to: "FATAL" })?.kind, "fatal");
  assert.equal(
    alertOf("h", { ...base, from: "RUNNING", to: "EXITED", expected: true, pid: 5, code: 0 }),
    null,
  );
  assert.equal(
    alertOf("h", { ...base, from: "STARTING", to: "BACKOFF" }),
    null,
    "spawn error: no run died",
  );
  assert.equal(
    alertOf("h", {
      ...base,
      from: "STOPPING",
      to: "STOPPED",
      pid: 5,
      code: null,
      signal: "SIGTERM",
    }),
    null,
  );
  assert.equal(alertOf("h", { type: "notice", time: 0, message: "x" }), null);
});

Deno.test("the rate limit lets N per kind per minute through, and the next one counts the rest", () => {
  let now = 0;
  const limit = new AlertRateLimit(2, () => now);
  assert.equal(limit.admit("exited"), 0);
  assert.equal(limit.admit("exited"), 0);
  assert.equal(limit.admit("exited"), null);
  assert.equal(limit.admit("exited"), null);
  assert.equal(limit.admit("fatal"), 0, "another kind has its own budget");
  now = 59_999;
  assert.equal(limit.admit("exited"), null);
  now = 60_000;
  assert.equal(limit.admit("exited"), 3, "three were left out");
  assert.equal(limit.admit("exited"), 0);
});

Deno.test("the syslog line is RFC 3164: priority, local time, tag[pid], then the alert", () => {
  const a = {
    ...alertOf("n1", { ...base, from: "BACKOFF", to: "FATAL", message: "gave up" })!,
    suppressed: 4,
  };
  const line = syslogLine(a, new Date(2026, 2, 5, 7, 8, 9), AGENT_SYSLOG);
  assert.equal(
    line.startsWith(
      `<26>Mar  5 07:08:09 tutti-agent[${Deno.pid}]: n1: gave up (4 more suppressed) {`,
    ),
    true,
    line,
  );
  assert.deepEqual(JSON.parse(line.slice(line.indexOf("{"))), a);
});

Deno.test("alert options: defaults, syslog socket, and precise refusals", () => {
  const d = parseAgentOptions(["--name", "x"]).alerts;
  assert.deepEqual(d, {
    exec: null,
    webhook: null,
    syslog: null,
    perMinute: 10,
    timeoutMs: 10_000,
  });
  assert.equal(parseAgentOptions(["--name", "x", "--alert-syslog"]).alerts.syslog, "/dev/log");
  assert.equal(
    parseAgentOptions(["--name", "x", "--alert-syslog-socket", "/s"]).alerts.syslog,
    "/s",
  );
  assert.throws(
    () => parseAgentOptions(["--name", "x", "--alert-webhook", "ftp://a"]),
    /--alert-webhook "ftp:\/\/a": expected an http/,
  );
  assert.throws(
    () => parseAgentOptions(["--name", "x", "--alert-rate", "0"]),
    /--alert-rate "0": must be at least 1/,
  );
  assert.throws(
    () => parseAgentOptions(["--name", "x", "--alert-exec", " "]),
    /--alert-exec: expected a command/,
  );
});
