/**
 * Signal names as they travel on the wire: always the full `SIGXXX` form.
 * Users may write `TERM`, `sigterm`, `SIGTERM` or `15`; `parseSignal`
 * accepts all of them and answers the canonical name.
 */
import { TuttiError } from "./errors.ts";

/** Linux signal numbers (x86_64/arm64 agree on these). */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

export type SignalName = keyof typeof SIGNALS;

/**
 * A real-time signal by its Linux number: `SIGRT34` is signal 34. Numbers,
 * not `SIGRTMIN+N`, because SIGRTMIN is the C library's, not the kernel's
 * (glibc keeps 32 and 33 for itself and calls 34 SIGRTMIN; musl starts at
 * 35): the number is what the kernel reported, whatever the program's libc.
 */
export type RtSignalName = `SIGRT${number}`;

/** The kernel's real-time signals: 32 to 64 on Linux. */
export const RT_SIGNAL_FIRST = 32;
export const RT_SIGNAL_LAST = 64;

const RT_SIGNAL = /^SIGRT(3[2-9]|[4-5][0-9]|6[0-4])$/;

/** `SIGRT34` for 34; null for a number that is not a real-time signal. */
export function rtSignalName(n: number): RtSignalName | null {
  return Number.isInteger(n) && n >= RT_SIGNAL_FIRST && n <= RT_SIGNAL_LAST ? `SIGRT${n}` : null;
}

/**
 * What a process may have died of, as an agent reports it: a signal of the
 * table; SIGSTKFLT (16), which Linux never sends but a process can be
 * killed with (`kill -16`) and Deno names; or a real-time signal
 * (`SIGRT34`, `kill -34`). Users cannot ask for the last two.
 */
export type ExitSignalName = SignalName | "SIGSTKFLT" | RtSignalName;

export function isExitSignal(s: unknown): s is ExitSignalName {
  return typeof s === "string" &&
    (s === "SIGSTKFLT" || Object.hasOwn(SIGNALS, s) || RT_SIGNAL.test(s));
}

export function parseSignal(input: string | number): SignalName {
  const s = String(input).trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    const found = (Object.keys(SIGNALS) as SignalName[]).find((k) => SIGNALS[k] === n);
    if (found) return found;
  } else {
    const name = s.startsWith("SIG") ? s : `SIG${s}`;
    if (Object.hasOwn(SIGNALS, name)) return name as SignalName;
  }
  throw new TuttiError("EINVAL", `unknown signal ${JSON.stringify(input)}`);
}

/** The shell's convention for a death by signal: 128 + number. */
export function signalExitCode(name: SignalName): number {
  return 128 + SIGNALS[name];
}
