/**
 * The ssh peer: Debian's `openssh-server`, started by the benchmark as a
 * child on a free loopback port with its own host key, client key and
 * configuration, logging into a dedicated account whose shell is `/bin/sh`
 * (so that no shell start-up file is timed). Stopped by its PID at the end.
 */
import { ensurePackage } from "./apt.ts";
import { capture, start, type Started } from "./child.ts";
import { freePort } from "./broker.ts";
import { childrenOf } from "./proc_stat.ts";
import type { Scope } from "./scope.ts";

export const SSH_USER = "tuttibench";
const SSHD_CANDIDATES = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"];
/** How long sessions get to end before sshd is stopped anyway. */
const SESSION_DRAIN_MS = 5_000;

/** Why the ssh peer cannot be measured on this machine (reported, not thrown away). */
export class SshUnavailable extends Error {}

export class Sshd {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly s: Started,
  ) {}

  /** Installs what is missing, writes keys and config into a temp dir, and starts sshd. */
  static async start(scope: Scope): Promise<Sshd> {
    if (Deno.uid() !== 0) {
      throw new SshUnavailable(
        "needs root: the benchmark installs openssh-server, creates the account and starts sshd",
      );
    }
    let sshd: string;
    try {
      sshd = await ensurePackage("openssh-server", SSHD_CANDIDATES);
    } catch (e) {
      throw new SshUnavailable((e as Error).message);
    }
    const owner = await ensureAccount();
    // sshd refuses to start without its privilege separation directory.
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });

    const dir = await scope.tempDir("tutti-bench-sshd-");
    // The account reads authorized_keys with its own rights: the directory must be traversable.
    await Deno.chmod(dir, 0o755);
    await keygen(`${dir}/host_ed25519`);
    await keygen(`${dir}/client_ed25519`);
    await Deno.copyFile(`${dir}/client_ed25519.pub`, `${dir}/authorized_keys`);
    await Deno.chmod(`${dir}/authorized_keys`, 0o644);

    const port = freePort();
    const version = await sshdVersion(sshd);
    await Deno.writeTextFile(`${dir}/sshd_config`, config(dir, port, version));
    await Deno.writeTextFile(`${dir}/ssh_config`, clientConfig(`${dir}/client_ed25519`, port));
    await accountCopy(dir, port, owner);

    // An absolute path: sshd re-executes itself for every connection.
    const s = start(scope, sshd, ["-D", "-e", "-f", `${dir}/sshd_config`], { service: true });
    const server = new Sshd(port, dir, s);
    scope.defer("stop sshd", () => server.stop());
    await s.stderr.waitFor(/Server listening on 127\.0\.0\.1 port/, "sshd", 10_000);
    const probe = await new Deno.Command("ssh", { args: server.args("true"), stdin: "null" })
      .output();
    if (!probe.success) {
      throw new Error(
        `ssh ${SSH_USER}@127.0.0.1 true failed (${probe.code}): ${
          new TextDecoder().decode(probe.stderr).trim()
        }\nsshd says:\n${s.stderr}`,
      );
    }
    return server;
  }

  get pid(): number {
    return this.s.child.pid;
  }

  /**
   * An ssh client configuration (`ssh -F`) under which every host name leads
   * to the loopback account: how pdsh and clush address `b-[1-N]`.
   */
  get clientConfig(): string {
    return `${this.dir}/ssh_config`;
  }

  /**
   * The same configuration, and the client key it names, owned by the
   * account (mode 600): for tools whose remote side logs in onward as that
   * account, such as TakTuk's deployment tree, where ssh reads the key with
   * the rights of whoever runs it. Root reads them too.
   */
  get accountClientConfig(): string {
    return `${this.dir}/account/ssh_config`;
  }

  /** The `ssh` arguments that run `command` on the loopback account, non-interactively. */
  args(...command: string[]): string[] {
    return [
      "-F", // no user configuration: only what is written here
      "/dev/null",
      "-p",
      String(this.port),
      "-i",
      `${this.dir}/client_ed25519`,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      `${SSH_USER}@127.0.0.1`,
      ...command,
    ];
  }

  /**
   * Lets the listener reap its session processes first (their clients have
   * been stopped), so that none is orphaned; then stops it by its PID.
   */
  async stop(): Promise<void> {
    const end = Date.now() + SESSION_DRAIN_MS;
    // No event announces a child's end to a non-parent: poll /proc with a deadline.
    while (childrenOf(this.pid).length > 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const pid of childrenOf(this.pid)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* exited meanwhile */ }
    }
    try {
      this.s.child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.s.child.status;
  }
}

function config(dir: string, port: number, version: number): string {
  const lines = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/host_ed25519`,
    `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    "UsePAM no",
    "StrictModes no",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    `AllowUsers ${SSH_USER}`,
    "PermitRootLogin no",
    "UseDNS no",
    "PrintMotd no",
    "PrintLastLog no",
    // Up to a few hundred connections arrive at once; the defaults (10:30:100) would drop them.
    "MaxStartups 1000",
    "MaxSessions 1000",
    // scp speaks SFTP since OpenSSH 9.0: the transfer section's scp and clush need it.
    "Subsystem sftp internal-sftp",
  ];
  // OpenSSH 9.8 added per-source penalties, which would slow a burst from one address.
  if (version >= 9.8) lines.push("PerSourcePenalties no", "PerSourceMaxStartups none");
  return lines.join("\n") + "\n";
}

function clientConfig(key: string, port: number): string {
  return [
    "Host *",
    "  HostName 127.0.0.1",
    `  Port ${port}`,
    `  User ${SSH_USER}`,
    `  IdentityFile ${key}`,
    "  IdentitiesOnly yes",
    "  StrictHostKeyChecking no",
    "  UserKnownHostsFile /dev/null",
    "  BatchMode yes",
    "  LogLevel ERROR",
    "",
  ].join("\n");
}

/** `dir/account/`: the client key and configuration again, readable by the account alone. */
async function accountCopy(dir: string, port: number, owner: Owner): Promise<void> {
  const copy = `${dir}/account`;
  await Deno.mkdir(copy, { mode: 0o700 });
  await Deno.copyFile(`${dir}/client_ed25519`, `${copy}/client_ed25519`);
  await Deno.writeTextFile(`${copy}/ssh_config`, clientConfig(`${copy}/client_ed25519`, port));
  for (const p of [copy, `${copy}/client_ed25519`, `${copy}/ssh_config`]) {
    await Deno.chown(p, owner.uid, owner.gid);
    await Deno.chmod(p, p === copy ? 0o700 : 0o600);
  }
}

interface Owner {
  uid: number;
  gid: number;
}

/**
 * The dedicated account: created if missing, shell /bin/sh, not locked (sshd
 * without PAM refuses locked accounts). Answers its uid and gid.
 */
async function ensureAccount(): Promise<Owner> {
  let entry = await account();
  if (!entry) {
    const r = await capture("useradd", ["--create-home", "--shell", "/bin/sh", SSH_USER]);
    if (!r.ok) throw new SshUnavailable(`useradd ${SSH_USER} failed: ${r.stderr.trim()}`);
    entry = await account();
  }
  if (!entry) throw new SshUnavailable(`account ${SSH_USER} not found after useradd`);
  if (entry.shell !== "/bin/sh") {
    throw new SshUnavailable(
      `account ${SSH_USER} exists with shell ${entry.shell}; the benchmark needs /bin/sh`,
    );
  }
  const shadow = await Deno.readTextFile("/etc/shadow").catch(() => "");
  const line = shadow.split("\n").find((l) => l.startsWith(`${SSH_USER}:`));
  if (line && line.split(":")[1].startsWith("!")) {
    // `*`: no password can log in, but the account is not locked for key logins.
    const r = await capture("usermod", ["--password", "*", SSH_USER]);
    if (!r.ok) throw new SshUnavailable(`usermod ${SSH_USER} failed: ${r.stderr.trim()}`);
  }
  return entry;
}

/** The ssh account's uid and gid: what the peers write into must belong to it. */
export async function sshAccountIds(): Promise<{ uid: number; gid: number }> {
  const r = await capture("getent", ["passwd", SSH_USER]);
  const fields = r.stdout.trim().split(":");
  if (!r.ok || fields.length < 4) throw new SshUnavailable(`account ${SSH_USER} not found`);
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function account(): Promise<{ shell: string } & Owner | null> {
  const r = await capture("getent", ["passwd", SSH_USER]);
  if (!r.ok) return null;
  const fields = r.stdout.trim().split(":");
  return { uid: Number(fields[2]), gid: Number(fields[3]), shell: fields[6] ?? "" };
}

async function keygen(path: string): Promise<void> {
  const r = await capture("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path]);
  if (!r.ok) throw new Error(`ssh-keygen ${path} failed: ${r.stderr.trim()}`);
}

/** `OpenSSH_9.2p1 ...` → 9.2 (sshd -V prints it on stderr). */
export async function sshdVersion(sshd = "/usr/sbin/sshd"): Promise<number> {
  const r = await capture(sshd, ["-V"]);
  const m = /OpenSSH_(\d+\.\d+)/.exec(r.stderr + r.stdout);
  return m ? Number(m[1]) : 0;
}
