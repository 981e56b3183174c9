/**
 * A real OpenSSH server for the install tests, started by the test itself on
 * a free loopback port with its own host key, its own configuration and an
 * AuthorizedKeysFile holding a key made for the test. It lets in the user
 * running the tests (no account is created: tests need not be root), and
 * `hosts(names)` writes an ssh client configuration in which each name is an
 * alias of this server, so that "nodes" are names that all lead here.
 * Stopped by its pid.
 */
import { freePort } from "./harness.ts";

const SSHD_CANDIDATES = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"];

export class TestSshd {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly proc: Deno.ChildProcess,
    readonly log: string[],
  ) {}

  /** The sshd binary, or null where OpenSSH's server is not installed (the tests say so). */
  static binary(): string | null {
    return SSHD_CANDIDATES.find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    }) ?? null;
  }

  static async start(dir: string): Promise<TestSshd> {
    const sshd = TestSshd.binary();
    if (sshd === null) throw new Error("no sshd: install openssh-server");
    await keygen(`${dir}/host_ed25519`);
    await keygen(`${dir}/client_ed25519`);
    await keygen(`${dir}/stranger_ed25519`);
    await Deno.copyFile(`${dir}/client_ed25519.pub`, `${dir}/authorized_keys`);
    const user = await whoami();
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/sshd_config`,
      [
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
        `AllowUsers ${user}`,
        `PermitRootLogin ${user === "root" ? "prohibit-password" : "no"}`,
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "MaxStartups 200",
        "MaxSessions 200",
        "",
      ].join("\n"),
    );
    // sshd insists on its privilege separation directory when started as root.
    if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const proc = new Deno.Command(sshd, {
      args: ["-D", "-e", "-f", `${dir}/sshd_config`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log: string[] = [];
    const listening = Promise.withResolvers<void>();
    (async () => {
      const d = new TextDecoder();
      for await (const c of proc.stderr) {
        log.push(d.decode(c, { stream: true }));
        if (log.join("").includes(`Server listening on 127.0.0.1 port ${port}`)) {
          listening.resolve();
        }
      }
      listening.reject(new Error(`sshd ended before listening:\n${log.join("")}`));
    })().catch(() => {});
    await listening.promise;
    return new TestSshd(dir, port, proc, log);
  }

  /**
   * An ssh client configuration where each of `names` leads to this server as
   * this user, with the test's key (or `key`), trusting its host key.
   */
  async hosts(
    names: string[],
    key = `${this.dir}/client_ed25519`,
    file = `${this.dir}/ssh_config`,
  ) {
    const user = await whoami();
    await Deno.writeTextFile(
      file,
      names.map((n) =>
        [
          `Host ${n}`,
          "  HostName 127.0.0.1",
          `  Port ${this.port}`,
          `  User ${user}`,
          `  IdentityFile ${key}`,
          "  IdentitiesOnly yes",
          "  IdentityAgent none",
          "  StrictHostKeyChecking no",
          "  UserKnownHostsFile /dev/null",
          "  LogLevel ERROR",
          "",
        ].join("\n")
      ).join(""),
    );
    return file;
  }

  async stop(): Promise<void> {
    try {
      this.proc.kill("SIGTERM");
    } catch { /* gone */ }
    await this.proc.status;
  }
}

async function keygen(path: string): Promise<void> {
  const out = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path],
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(`ssh-keygen ${path}: ${new TextDecoder().decode(out.stderr)}`);
}

async function whoami(): Promise<string> {
  const out = await new Deno.Command("id", { args: ["-un"], stdin: "null" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}
