/**
 * Grid'5000's own fan-out tools, through the benchmark's loopback sshd like
 * the rest of the ssh family: TakTuk (self-propagating, its deployment tree
 * built by work stealing, every node logging into the next with the same
 * ssh connector) and ansible ad-hoc (the engine under EnOSlib). An exit
 * status 0 does not say that every host answered (TakTuk's, when
 * connections fail; ansible's, when its inventory names no host), so each
 * host's answer is read from their output.
 */
import type { Sshd } from "./sshd.ts";
import type { Tool } from "./ssh_peers.ts";

/** ansible's parallel workers, as given on its command line. */
const ANSIBLE_FORKS = 50;

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `b-${i + 1}`);
}

/**
 * `-s`: TakTuk copies itself to each node it reaches (none has it
 * installed); `-d 0`: work stealing with no limit on arity, so that nodes
 * already up deploy the rest (a tree, as Kadeploy uses it). The connector
 * runs on every node of the tree as the ssh account: it reads the account's
 * own copy of the key and configuration.
 */
export function taktuk(n: number, dir: string): Tool {
  return {
    peer: "taktuk",
    pkg: "taktuk",
    bin: "/usr/bin/taktuk",
    label: `taktuk -s -d 0 -f <b-1 … b-${n}> broadcast exec [ true ]`,
    command: async (sshd: Sshd) => {
      const machines = `${dir}/taktuk-${n}.hosts`;
      await Deno.writeTextFile(machines, names(n).join("\n") + "\n");
      const connector = `ssh -F ${sshd.accountClientConfig}`;
      return {
        args: [
          "-s",
          "-d",
          "0",
          "-c",
          connector,
          "-f",
          machines,
          "broadcast",
          "exec",
          "[",
          "true",
          "]",
        ],
        env: {},
      };
    },
    answered: taktukAnswered,
  };
}

/** `b-7-3: true (4242): status > Exited with status 0` (host, then its rank) → `b-7`. */
export function taktukAnswered(line: string): string | undefined {
  return /^(b-\d+)--?\d+: true \(\d+\): status > Exited with status 0$/.exec(line)?.[1];
}

/**
 * An inventory naming `b-[1:N]`, every name led to the loopback account by
 * the ssh client configuration. Pipelining (one ssh session per host, no
 * module file copied) and a known interpreter are what a tuned setup uses;
 * ControlPersist is off, so that every round opens its connections afresh
 * like the other peers and no master connection outlives the run.
 */
export function ansible(n: number, dir: string): Tool {
  return {
    peer: "ansible",
    pkg: "ansible-core",
    bin: "/usr/bin/ansible",
    label: `ansible all -i 'b-[1:${n}]' -f ${ANSIBLE_FORKS} -m command -a true`,
    command: async (sshd: Sshd) => {
      const home = `${dir}/ansible-${n}`;
      await Deno.mkdir(home, { recursive: true });
      await Deno.writeTextFile(
        `${home}/inventory`,
        [
          "[all]",
          `b-[1:${n}]`,
          "[all:vars]",
          "ansible_connection=ssh",
          `ansible_ssh_common_args='-F ${sshd.clientConfig}'`,
          "ansible_python_interpreter=/usr/bin/python3",
          "",
        ].join("\n"),
      );
      // An empty configuration file: no ansible.cfg of this machine's or the working directory's.
      await Deno.writeTextFile(`${home}/ansible.cfg`, "");
      return {
        args: [
          "all",
          "-i",
          `${home}/inventory`,
          "-f",
          String(ANSIBLE_FORKS),
          "-m",
          "command",
          "-a",
          "true",
        ],
        env: {
          ANSIBLE_CONFIG: `${home}/ansible.cfg`,
          ANSIBLE_HOME: home,
          ANSIBLE_LOCAL_TEMP: `${home}/tmp`,
          ANSIBLE_HOST_KEY_CHECKING: "False",
          ANSIBLE_PIPELINING: "True",
          ANSIBLE_SSH_ARGS: "-o ControlMaster=no",
          ANSIBLE_NOCOLOR: "1",
        },
      };
    },
    answered: ansibleAnswered,
  };
}

/** `b-7 | CHANGED | rc=0 >>` → `b-7`. */
export function ansibleAnswered(line: string): string | undefined {
  return /^(b-\d+) \| CHANGED \| rc=0 >>$/.exec(line)?.[1];
}
