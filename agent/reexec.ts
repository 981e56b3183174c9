/**
 * Re-executing the agent in place: execve(2) of its own command line, so
 * that the program on disk (a new bundle, a new binary) takes over under
 * the same pid. A service manager sees the same main process; the keeper,
 * and every process it holds, sees nothing at all.
 *
 * Deno has no exec, so execve is called through its FFI. Every descriptor
 * Deno opens is close-on-exec: the NATS connection and the keeper's socket
 * close on their own, and the new agent attaches to the keeper again.
 */
import { ownCommand, selfCommand, selfEnv } from "./self_command.ts";

/** How long the program on disk may take to answer `--help` before an upgrade. */
const PREFLIGHT_MS = 20_000;

/**
 * Checks that the program on disk starts at all (`agent --help` exits 0),
 * before anything is given up for it. Throws what it printed otherwise.
 */
export async function preflight(): Promise<void> {
  const [program, ...args] = selfCommand(["--help"]);
  const child = new Deno.Command(program, {
    args,
    env: selfEnv(),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), PREFLIGHT_MS);
  try {
    const out = await child.output();
    if (!out.success) {
      const said = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
      throw new Error(
        `${[program, ...args].join(" ")} exits with ${out.signal ?? out.code}${
          said ? `: ${said}` : ""
        }`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Replaces this process with its own command line; returns only if execve failed. */
export function reexec(): Error {
  const argv = ownCommand();
  const env = Object.entries(selfEnv()).map(([k, v]) => `${k}=${v}`);
  const cstr = (s: string) => new TextEncoder().encode(s + "\0");
  const keep: Uint8Array[] = [];
  const array = (items: string[]) => {
    const ptrs = new BigUint64Array(items.length + 1);
    items.forEach((s, i) => {
      const b = cstr(s);
      keep.push(b);
      ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
    });
    return ptrs;
  };
  const libc = Deno.dlopen("libc.so.6", {
    execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  });
  const path = cstr(argv[0]);
  libc.symbols.execve(path, array(argv), array(env));
  const errnoPtr = libc.symbols.__errno_location();
  const errno = errnoPtr ? new Deno.UnsafePointerView(errnoPtr).getInt32() : -1;
  void keep;
  return new Error(`execve ${argv[0]} failed (errno ${errno})`);
}
