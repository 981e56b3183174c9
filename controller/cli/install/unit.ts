/**
 * The systemd unit `install` writes where systemd runs: the unit tutti
 * ships (packaging/tutti-agent.service, held here word for word and checked
 * against the file by tests/unit/install_unit_test.ts), with this node's
 * command line, environment and, for a user's own manager, its target.
 * Everything else (KillMode=process, ExecReload as the in-place upgrade,
 * Restart=on-failure) is the shipped unit's, for the reasons it gives.
 */

/** packaging/tutti-agent.service. */
export const UNIT_TEMPLATE =
  `# tutti's agent as a systemd service. Copy dist/tutti-agent (the agent in one file) to
# /usr/local/bin/, this file to /etc/systemd/system/, adjust ExecStart, then
#   systemctl daemon-reload && systemctl enable --now tutti-agent
# (\`controller install --ssh SEL\` does this for many nodes, one unit per agent, from this file.)
#
# What each path does to the processes the agent runs (started by \`run\` or supervised):
#   systemctl reload   SIGUSR1: the agent re-executes itself in place from the program on disk
#                      (an upgrade: install the new binary first), every process kept and adopted.
#                      \`controller upgrade --hosts SEL\` does the same for many nodes at once.
#   systemctl stop     SIGTERM: the agent's clean stop, every process and program stopped first.
#   systemctl restart  a stop, then a start: processes are stopped (use reload to keep them).
#   a crash, OOM kill  Restart= starts the agent again; its keeper held the processes meanwhile,
#                      and the new agent adopts them.
#
# KillMode=process: systemd signals the agent alone and never kills the rest of the unit's
# cgroup (the keeper and the processes it holds). The default, control-group, would kill every
# process on each restart and defeat all of the above. The agent's own clean stop is what
# stops them on \`stop\`; if it does not finish within TimeoutStopSec, systemd kills the agent
# alone, and the next start adopts what was left.
[Unit]
Description=tutti agent: runs, watches and supervises processes for tutti controllers
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/bin/tutti-agent --server nats://frontend:4222 --state-dir /var/lib/tutti
ExecReload=/bin/kill -USR1 $MAINPID
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=1
StateDirectory=tutti
# Where the one file unpacks its runtime on the first start (once per version).
CacheDirectory=tutti
Environment=TUTTI_CACHE_DIR=/var/cache/tutti

[Install]
WantedBy=multi-user.target
`;

export interface UnitSpec {
  /** The agent's name, in the description. */
  name: string;
  /** The install directory, in the header comment. */
  dir: string;
  argv: string[];
  env: Record<string, string>;
  /** `system`: /etc/systemd/system, as root; `user`: the user's own manager. */
  scope: "system" | "user";
}

/** `tutti-agent-NAME.service`: one unit per agent, so several can share a machine. */
export function unitName(name: string): string {
  return `tutti-agent-${name}.service`;
}

export function renderUnit(spec: UnitSpec): string {
  const body = UNIT_TEMPLATE.slice(UNIT_TEMPLATE.indexOf("[Unit]"));
  const out: string[] = [
    `# tutti agent ${spec.name}, installed in ${spec.dir} by \`controller install\`.`,
    "# From packaging/tutti-agent.service: see there what stop, reload and restart do to the",
    "# processes the agent runs, and why KillMode=process.",
  ];
  for (const line of body.split("\n")) {
    const key = /^(\w+)=/.exec(line)?.[1];
    if (line.startsWith("#")) continue;
    // The install directory holds the state and the cache: no /var/lib/tutti, no /var/cache/tutti.
    if (key === "StateDirectory" || key === "CacheDirectory") continue;
    // A user's manager knows nothing of the system's targets.
    if (spec.scope === "user" && (key === "After" || key === "Wants")) continue;
    if (key === "Description") {
      out.push(`${line} (${spec.name})`);
    } else if (key === "ExecStart") {
      out.push(`ExecStart=${spec.argv.map(systemdWord).join(" ")}`);
    } else if (key === "Environment") {
      for (const [k, v] of Object.entries(spec.env)) {
        out.push(`Environment=${systemdWord(`${k}=${v}`)}`);
      }
    } else if (key === "WantedBy") {
      out.push(`WantedBy=${spec.scope === "user" ? "default.target" : "multi-user.target"}`);
    } else {
      out.push(line);
    }
  }
  return out.join("\n").replace(/\n+$/, "\n");
}

/**
 * One word of a command line or an assignment, as systemd reads it: `%` is a
 * specifier and `$` a variable (both doubled), and a word with blanks,
 * quotes or backslashes goes in double quotes.
 */
export function systemdWord(s: string): string {
  const escaped = s.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (s !== "" && !/[\s"'\\;]/.test(s)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
