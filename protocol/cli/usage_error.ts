/**
 * Bad usage of a command line (unknown option, missing or malformed value):
 * both programs print its message, one line, and exit 2 without doing anything.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
