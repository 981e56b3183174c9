/**
 * Every error code tutti puts on the wire, with its meaning. PROTOCOL.md's
 * table is written from this one (see tests/unit/protocol_doc_test.ts).
 *
 * Codes borrow errno names where the meaning is the same, so that a spawn
 * failure reads like the system call that failed.
 */
export const ERROR_CODES = {
  // Message-level: the request could not be understood.
  EBADMSG: "the payload is not a CBOR map (malformed, truncated or of the wrong type)",
  EPROTO: "the message's protocol version is missing or not supported by this peer",
  ENOSYS:
    "the verb is unknown to this agent (or, at the controller, a run's stdin), or what it asks " +
    "needs Linux (watches, telemetry)",
  EINVAL: "a field is missing, of the wrong type or out of range; the message names it",
  EMSGSIZE: "the payload is larger than the agent accepts",
  EBADSEL: "the selector (host set, glob, label condition) does not parse",
  // Process-level.
  ENOENT: "spawn: the program or the working directory does not exist; run --user: no such user; " +
    "transfers: no such file or directory",
  EACCES: "spawn: permission denied on the program or the working directory; " +
    "transfers: a file or directory may not be read or written",
  ENOEXEC: "spawn: the file is not an executable the system can run",
  ENOTDIR: "spawn or transfers: a component of the path is not a directory",
  ESPAWN: "spawn failed for another reason; the message has the system's words",
  EEXIST: "the process id is already used on this host by a different command",
  ESRCH: "no process with that id on this host (never started, or expired from the table)",
  EPERM:
    "the agent may not do that (signal to a process it does not own, user switch without root); " +
    "at the controller, the NATS server refused one of its publishes or subscriptions",
  EIO: "the agent could not write or read a spool file (disk full, I/O error), " +
    "or a file of a transfer (I/O error); run with stdin: the controller could not read or send " +
    "the input",
  EPIPE:
    "run with stdin: the process closed its stdin or exited before all of its input was written",
  ENOTTY:
    "attach: the program does not run under a pseudo-terminal (its config lacks tty: true), " +
    "so it has no terminal size to set",
  ECANCELED: "run at an instant: the process was signalled before its instant and never started",
  // Transfers (put, get).
  ENOSPC: "transfers: no space left on the device that holds the destination; " +
    "watch: the inotify watch limit is reached (fs.inotify.max_user_watches)",
  EMFILE: "watch: the inotify instance limit (fs.inotify.max_user_instances) or the agent's " +
    "open file limit is reached",
  EISDIR: "transfers: a directory is in the way of a file, or a file was asked and is a directory",
  EINTEGRITY: "transfers: the bytes written do not have the announced SHA-256 (both are named)",
  ENOTSUP: "the server lacks what the operation needs (put needs JetStream: nats-server -js)",
  // Controller-side outcomes, reported per host in results and summaries.
  ENORESPONSE: "the host did not answer before the deadline",
  ELOST: "the host stopped sending heartbeats (or said bye) while a request was pending",
  ETIMEDOUT:
    "the process or the request ran past its timeout; run at an instant: the request reached " +
    "the host after the instant",
  EEXIT: "plan: a step's command exited with a code other than 0, or was killed by a signal " +
    "(the message says which, with the end of its stderr)",
  EINTERNAL: "a bug in tutti; the message has the details (please report it)",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The error object carried in replies: `{code, message}`. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** An Error that carries a wire code; handlers throw it, the dispatcher turns it into a reply. */
export class TuttiError extends Error {
  readonly code: ErrorCode;
  /** `options.cause`: the error this one wraps (kept for stacks, never sent). */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TuttiError";
    this.code = code;
  }
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && Object.hasOwn(ERROR_CODES, s);
}

/**
 * A decoded wire value quoted for an error message, cut to `max` characters.
 * Never throws: CBOR can carry 64-bit integers (BigInt) and, through its
 * shared-reference tags, cyclic maps, both of which JSON.stringify rejects.
 */
export function quoteValue(x: unknown, max = 60): string {
  if (typeof x === "bigint") return `${x}`.slice(0, max);
  try {
    return (JSON.stringify(x) ?? String(x)).slice(0, max);
  } catch {
    return Array.isArray(x) ? "an array" : typeof x;
  }
}

/** Turns anything thrown into a wire error; unknown throwables become EINTERNAL. */
export function toWireError(e: unknown): WireError {
  if (e instanceof TuttiError) return e.toWire();
  const message = e instanceof Error ? e.message : String(e);
  return { code: "EINTERNAL", message };
}
