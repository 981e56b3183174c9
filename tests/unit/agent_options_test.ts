import assert from "node:assert/strict";
import { parseAgentOptions, parseBytes } from "../../agent/options.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("defaults", () => {
  const o = parseAgentOptions(["--name", "n1"], env({ HOME: "/home/u" }));
  assert.equal(o.name, "n1");
  assert.equal(o.prefix, "tutti");
  assert.equal(o.stateDir, "/home/u/.local/state/tutti/n1");
  assert.equal(o.heartbeatMs, 5000);
  assert.equal(o.telemetryMs, 0, "telemetry is off unless asked for");
  assert.equal(o.keep, 1000);
  assert.equal(o.keepForMs, 3_600_000);
  assert.equal(o.maxPayload, 1024 * 1024);
  assert.equal(o.liveWindow, 8 * 1024 * 1024);
  assert.deepEqual(o.labels, {});
  assert.equal(o.connect.servers, undefined, "left to NATS_URL / context / default at connect");
  assert.equal(o.help, false);
});

Deno.test("every option", () => {
  const o = parseAgentOptions([
    "-s",
    "nats://a:4222,nats://b:4222",
    "--server",
    "nats://c:4222",
    "--name",
    "g5k-12",
    "--label",
    "cluster=gros",
    "--label",
    "expr=a=b",
    "--prefix",
    "lab.exp1",
    "--state-dir",
    "/var/lib/tutti",
    "--heartbeat",
    "0",
    "--keep",
    "10",
    "--keep-for",
    "10m",
    "--max-payload",
    "64KiB",
    "--live-window",
    "2M",
    "--creds",
    "/c.creds",
    "--user",
    "u",
    "--password",
    "p",
    "--tls-ca",
    "/ca.pem",
  ], env({}));
  assert.deepEqual(o.connect.servers, ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
  assert.deepEqual(o.labels, { cluster: "gros", expr: "a=b" });
  assert.equal(o.prefix, "lab.exp1");
  assert.equal(o.stateDir, "/var/lib/tutti");
  assert.equal(o.heartbeatMs, 0);
  assert.equal(o.keep, 10);
  assert.equal(o.keepForMs, 600_000);
  assert.equal(o.maxPayload, 65536);
  assert.equal(o.liveWindow, 2_000_000);
  assert.deepEqual(
    [o.connect.creds, o.connect.user, o.connect.password, o.connect.tlsCa],
    ["/c.creds", "u", "p", "/ca.pem"],
  );
});

Deno.test("--telemetry takes a period, 0 for off", () => {
  const at = (t: string) =>
    parseAgentOptions(["--name", "x", "--telemetry", t], env({})).telemetryMs;
  assert.equal(at("5s"), 5000);
  assert.equal(at("200ms"), 200);
  assert.equal(at("1"), 1000);
  assert.equal(at("0"), 0);
});

Deno.test("environment: TUTTI_PREFIX and XDG_STATE_HOME", () => {
  const o = parseAgentOptions(["--name", "x"], env({ TUTTI_PREFIX: "p2", XDG_STATE_HOME: "/s" }));
  assert.equal(o.prefix, "p2");
  assert.equal(o.stateDir, "/s/tutti/x");
});

Deno.test("usage errors are one line and name the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--nope"], /--nope/],
    [["--name"], /--name/],
    [["--name", "a.b"], /--name "a\.b"/],
    [["--name", "x", "extra"], /extra/],
    [["--name", "x", "--label", "novalue"], /--label "novalue": expected KEY=VALUE/],
    [["--name", "x", "--heartbeat", "soon"], /--heartbeat/],
    [["--name", "x", "--telemetry", "often"], /--telemetry/],
    [
      ["--name", "x", "--telemetry", "10ms"],
      /--telemetry "10ms": use 0 to turn it off, or at least/,
    ],
    [["--name", "x", "--keep", "-1"], /--keep/],
    [["--name", "x", "--max-payload", "big"], /--max-payload "big"/],
    [["--name", "x", "--live-window", "0"], /--live-window/],
    [["--name", "x", "--prefix", "a..b"], /--prefix/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseAgentOptions(args, env({})), (e: Error) => {
      assert.ok(e instanceof UsageError, `${args}: ${e}`);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  }
});

Deno.test("parseBytes", () => {
  assert.equal(parseBytes("f", "100"), 100);
  assert.equal(parseBytes("f", "1KiB"), 1024);
  assert.equal(parseBytes("f", "1.5MiB"), 1572864);
  assert.equal(parseBytes("f", "1k"), 1000);
  assert.throws(() => parseBytes("f", "1 parsec"), UsageError);
});

Deno.test("--config and --event-log (default: events.log in the state dir)", () => {
  const none = parseAgentOptions(["--name", "n1", "--state-dir", "/s"], env({}));
  assert.equal(none.config, null);
  assert.equal(none.eventLog, "/s/events.log");
  const o = parseAgentOptions(
    ["--name", "n1", "--config", "programs.yaml", "--event-log", "/var/log/tutti.events"],
    env({ HOME: "/h" }),
  );
  assert.equal(o.config, "programs.yaml");
  assert.equal(o.eventLog, "/var/log/tutti.events");
  assert.throws(() => parseAgentOptions(["--name", "n1", "--config", ""], env({})), UsageError);
});
