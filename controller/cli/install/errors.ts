/**
 * What can go wrong installing an agent over ssh, one code each. These are
 * the controller's own outcomes per host (never on the wire): errno names
 * where one fits, and the words of the tool that failed (ssh, the remote
 * shell, the agent's log) in the message.
 */
export const INSTALL_ERRORS = {
  EAUTH: "ssh: the host refused every key (or password) offered: authentication refused",
  EHOSTKEY: "ssh: the host's key is unknown or changed (known_hosts)",
  ECONNREFUSED: "ssh: nothing listens on the host's ssh port",
  EHOSTUNREACH: "ssh: the host name does not resolve, or no route reaches it",
  ETIMEDOUT: "ssh could not connect in time; or the agent said no hello in time (its log says why)",
  ESSH: "ssh failed for another reason; the message has its words",
  ENOEXEC: "the host's system or machine type (uname -sm) is not the one the agent is built for",
  EACCES: "the install directory cannot be created or written",
  ENOSPC: "not enough free space in the install directory",
  ESERVICE: "systemd was asked for (--service systemd) but cannot run the agent there",
  EAGENT: "the agent does not start there (its own words, e.g. a bad --agent-arg)",
  ESTOP: "the running agent did not stop (uninstall or reinstall)",
  EREMOTE: "a command on the host failed; the message has its words",
} as const;

export type InstallErrorCode = keyof typeof INSTALL_ERRORS;

export class InstallError extends Error {
  constructor(readonly code: InstallErrorCode, message: string) {
    super(message);
    this.name = "InstallError";
  }
}
