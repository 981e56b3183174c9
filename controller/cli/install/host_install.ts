/**
 * One host's install or uninstall, step by step over ssh (remote.ts holds
 * the scripts): probe, decide, copy, activate, then wait for the agent's
 * hello through the controller's presence. What it decides:
 *
 * - the same version with the same options already runs: skipped;
 * - installed but not running: started again;
 * - running another version with the same options: upgraded in place (the
 *   agent re-executes the new files under its pid: its processes go on);
 * - running with other options (server, name, credentials, service): its
 *   clean stop, then the new one;
 * - nothing there: installed.
 *
 * Where systemd runs (as root: a system unit; otherwise a user unit, when
 * the user's manager lingers), the agent is a unit; elsewhere a detached
 * process in a session of its own, with a pid file.
 */
import { createHash } from "node:crypto";
import type { Artifact } from "./artifact.ts";
import { InstallError } from "./errors.ts";
import type { Hellos } from "./hellos.ts";
import type { Target } from "./hosts.ts";
import {
  type Action,
  activateScript,
  diagnoseScript,
  parseAnswer,
  probeScript,
  type Service,
  uninstallScript,
  uploadCommand,
} from "./remote.ts";
import { ssh, type SshConfig } from "./ssh.ts";
import { renderUnit, unitName } from "./unit.ts";

export type ServiceChoice = "auto" | "systemd" | "process";

export interface InstallContext {
  ssh: SshConfig;
  artifact: Artifact;
  hellos: Hellos;
  /** The agent's options other than --name and --state-dir (server, prefix, credentials, extra). */
  agentArgs: (t: Target, dir: string) => string[];
  /** Credential files to copy (name in DIR → content), per target. */
  secrets: (t: Target) => Record<string, string>;
  service: ServiceChoice;
  waitMs: number;
  /** Holds one of the --fanout slots while `fn` runs. */
  slot<T>(fn: () => Promise<T>): Promise<T>;
}

export type Kind =
  | "installed"
  | "started"
  | "reinstalled"
  | "upgraded"
  | "skipped"
  | "removed"
  | "absent"
  | "failed";

export interface HostResult {
  host: string;
  dest: string;
  name: string;
  kind: Kind;
  /** What happened, in words (the error's message for a failure). */
  detail: string;
  dir?: string;
  pid?: number;
  service?: Service;
  digest?: string;
  code?: string;
}

/** Free space asked for beyond the files and what they unpack: logs, spool, Deno's own cache. */
const SPARE_BYTES = 16 * 1024 * 1024;
const MiB = 1024 * 1024;

export async function installOn(t: Target, ctx: InstallContext): Promise<HostResult> {
  const base = { host: t.host, dest: t.dest, name: t.name };
  try {
    const step = await ctx.slot(() => prepareAndActivate(t, ctx));
    if (step.kind === "skipped") return { ...base, ...step };
    const info = await ctx.hellos.wait(t.name, step.hello, ctx.waitMs);
    if (info === null) {
      const why = await ctx.slot(() => diagnose(t, ctx, step));
      throw new InstallError(
        "ETIMEDOUT",
        `no hello from agent ${t.name} within ${ctx.waitMs / 1000}s: ${why}`,
      );
    }
    return { ...base, ...step, detail: `${step.detail}, said hello` };
  } catch (e) {
    return failed(base, e);
  }
}

export async function uninstallOn(
  t: Target,
  ctx: Pick<InstallContext, "ssh" | "slot">,
): Promise<HostResult> {
  const base = { host: t.host, dest: t.dest, name: t.name };
  try {
    const a = await ctx.slot(async () =>
      answer(await ssh(ctx.ssh, t.dest, "sh -s", { text: uninstallScript(t.dir) }))
    );
    if (a.result === "absent") {
      return { ...base, kind: "absent", dir: a.dir, detail: `nothing installed in ${a.dir}` };
    }
    const stopped = a.stopped
      ? ` (agent pid ${a.stopped} stopped)`
      : " (its agent was not running)";
    return { ...base, kind: "removed", dir: a.dir, detail: `removed ${a.dir}${stopped}` };
  } catch (e) {
    return failed(base, e);
  }
}

function failed(base: Pick<HostResult, "host" | "dest" | "name">, e: unknown): HostResult {
  if (e instanceof InstallError) {
    return { ...base, kind: "failed", code: e.code, detail: e.message };
  }
  return { ...base, kind: "failed", code: "EREMOTE", detail: (e as Error).message ?? String(e) };
}

/** The script's `key=value` answer; an `error=CODE message` line is thrown as it is. */
function answer(r: { code: number; stdout: string; stderr: string }): Record<string, string> {
  const a = parseAnswer(r.stdout);
  if (a.error !== undefined) {
    const sp = a.error.indexOf(" ");
    const code = a.error.slice(0, sp) as InstallError["code"];
    throw new InstallError(code, a.error.slice(sp + 1).trim());
  }
  if (r.code !== 0) {
    const said = r.stderr.trim().split("\n").slice(-2).join(" | ") || `exit status ${r.code}`;
    throw new InstallError("EREMOTE", `the remote shell failed: ${said}`);
  }
  return a;
}

interface Step {
  kind: Kind;
  detail: string;
  dir: string;
  pid: number;
  service: Service;
  digest: string;
  /** Which presence proves the new agent up. */
  hello: (info: { pid?: number; started?: number }) => boolean;
}

async function prepareAndActivate(t: Target, ctx: InstallContext): Promise<Step> {
  const art = ctx.artifact;
  const p = answer(await ssh(ctx.ssh, t.dest, "sh -s", { text: probeScript(t.dir, "install") }));
  const dir = p.dir;
  checkMachine(p.os, p.machine, art.target);
  if (p.writable !== "yes") {
    throw new InstallError(
      "EACCES",
      `cannot write ${dir}: ${(p.writable ?? "").replace(/^no /, "").trim()}`,
    );
  }
  const service = chooseService(ctx.service, p);
  const unit = unitName(t.name);
  const argv = [
    ...art.command(dir),
    "--name",
    t.name,
    "--state-dir",
    `${dir}/state`,
    ...ctx.agentArgs(t, dir),
  ];
  const env = art.env(dir);
  const secrets = ctx.secrets(t);
  const config = digestOf(JSON.stringify({ argv, env, service, secrets }));
  const running = p.pid ? Number(p.pid) : 0;
  const sameFiles = p.installed_digest === art.digest;
  const sameConfig = p.installed_config === config;
  const how = service !== "process"
    ? `systemd ${service} unit ${unit}`
    : ctx.service === "process"
    ? "detached process"
    : p.systemd === "user"
    ? "detached process (the user's systemd does not linger)"
    : "detached process (no systemd)";
  if (running && sameFiles && sameConfig) {
    return {
      kind: "skipped",
      detail: `skipped: ${art.digest} already running in ${dir}: ${how}, pid ${running}`,
      dir,
      pid: running,
      service,
      digest: art.digest,
      hello: () => true,
    };
  }
  let action: Action;
  if (p.installed_digest === undefined) action = "fresh";
  else if (!running) action = "start";
  else if (sameConfig) action = "upgrade";
  else action = "restart";
  // In place only where the running agent is known here: its pid, and a start time to see change.
  if (action === "upgrade") {
    await ctx.hellos.ready;
    if (ctx.hellos.seen(t.name)?.pid !== running) action = "restart";
  }
  const started = ctx.hellos.seen(t.name)?.started;

  if (!sameFiles) {
    const free = Number(p.free_kib) * 1024;
    const need = art.files.reduce((n, f) => n + f.size, 0) + art.unpacked + SPARE_BYTES;
    if (p.free_kib && free < need) {
      throw new InstallError(
        "ENOSPC",
        `no space left in ${dir}: ${(free / MiB).toFixed(0)} MiB free, ${
          (need / MiB).toFixed(0)
        } MiB needed`,
      );
    }
    for (const f of art.files) await upload(ctx.ssh, t.dest, dir, f.local, f.name, f.size);
  }
  const a = answer(
    await ssh(ctx.ssh, t.dest, "sh -s", {
      text: activateScript({
        dir,
        action,
        service,
        unit,
        old: { service: p.installed_service ?? "", unit: p.installed_unit ?? "", pid: p.pid ?? "" },
        files: sameFiles ? [] : art.files.map((f) => f.name),
        argv,
        env,
        checkArgv: sameFiles
          ? argv
          : [...art.command(`${dir}/.upload`), ...argv.slice(art.command(dir).length)],
        secrets,
        unitText: renderUnit({
          name: t.name,
          dir,
          argv,
          env,
          scope: service === "user" ? "user" : "system",
        }),
        info: [
          `digest=${art.digest}`,
          `config=${config}`,
          `service=${service}`,
          `unit=${service === "process" ? "" : unit}`,
          `name=${t.name}`,
          `kind=${art.kind}`,
          "",
        ].join("\n"),
        keepCache: art.kind === "one-file" ? art.digest : "",
      }),
    }),
  );
  const pid = Number(a.pid);
  if (!(pid > 0)) {
    throw new InstallError("EREMOTE", `the agent's pid is unknown (${a.pid ?? "nothing said"})`);
  }
  const words: Record<Action, [Kind, string]> = {
    fresh: ["installed", `installed ${art.digest} in ${dir}`],
    start: ["started", `started ${art.digest} in ${dir}`],
    restart: [
      "reinstalled",
      `reinstalled ${art.digest} in ${dir} (options changed: pid ${running} stopped)`,
    ],
    upgrade: [
      "upgraded",
      `upgraded in place ${p.installed_digest} → ${art.digest} in ${dir} (its processes kept)`,
    ],
  };
  const [kind, text] = words[action];
  return {
    kind,
    detail: `${text}: ${how}, pid ${pid}`,
    dir,
    pid,
    service,
    digest: art.digest,
    // After an upgrade the pid is the same: the new program is the one with another start time.
    hello: action === "upgrade"
      ? (info) => info.pid === pid && info.started !== started
      : (info) => info.pid === pid,
  };
}

/** The node's `uname -s`/`uname -m` against the artifact's target (`x86_64-unknown-linux-gnu`). */
function checkMachine(os: string | undefined, machine: string | undefined, target: string): void {
  const [arch] = target.split("-");
  const wantOs = target.includes("-linux-") ? "Linux" : target.includes("-darwin") ? "Darwin" : "?";
  const m = machine === "arm64" ? "aarch64" : machine;
  if (os !== wantOs || m !== arch) {
    throw new InstallError(
      "ENOEXEC",
      `unsupported architecture: ${os ?? "?"} ${
        machine ?? "?"
      } (uname -sm); the agent is built for ${target}`,
    );
  }
}

function chooseService(choice: ServiceChoice, p: Record<string, string>): Service {
  const systemd = p.systemd === "system"
    ? "system"
    : p.systemd === "user" && p.linger === "yes"
    ? "user"
    : null;
  if (choice === "process") return "process";
  if (choice === "systemd") {
    if (systemd !== null) return systemd;
    throw new InstallError(
      "ESERVICE",
      p.systemd === "user"
        ? `systemd runs, but this user's manager does not linger: the agent would stop at logout ` +
          `(loginctl enable-linger ${"$USER"}, or --service process)`
        : "systemd does not run on this host (--service auto falls back to a detached process)",
    );
  }
  return systemd ?? "process";
}

async function upload(
  cfg: SshConfig,
  dest: string,
  dir: string,
  local: string,
  name: string,
  size: number,
) {
  const r = await ssh(cfg, dest, uploadCommand(dir, name), { file: local });
  const got = Number(r.stdout.trim());
  if (r.code === 0 && got === size) return;
  const said = r.stderr.trim().split("\n").at(-1) ?? "";
  if (/No space left/i.test(said)) {
    throw new InstallError("ENOSPC", `no space left in ${dir} copying ${name}: ${said}`);
  }
  if (/Permission denied|Read-only/i.test(said)) {
    throw new InstallError("EACCES", `cannot write ${dir}: ${said}`);
  }
  throw new InstallError(
    "EREMOTE",
    `copying ${name} to ${dest}:${dir} failed: ${said || `${got} of ${size} bytes arrived`}`,
  );
}

async function diagnose(t: Target, ctx: InstallContext, step: Step): Promise<string> {
  try {
    const a = parseAnswer(
      (await ssh(ctx.ssh, t.dest, "sh -s", {
        text: diagnoseScript(step.dir, step.service, unitName(t.name), String(step.pid)),
      })).stdout,
    );
    const log = (a.log ?? "").split("|").filter((l) => l.trim() !== "").slice(-2).join(" | ");
    const state = a.alive === "yes" ? `pid ${step.pid} runs` : `pid ${step.pid} exited`;
    return `${state}; its log: ${log || "(empty)"}`;
  } catch (e) {
    return `(and asking the host why failed: ${(e as Error).message})`;
  }
}

function digestOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
