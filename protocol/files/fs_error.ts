/**
 * A file system error as a wire error that names the path and what was
 * being done: `ENOSPC writing /data/x: no space left on device`. Deno's
 * error classes give the common cases; the rest are told by the system's
 * own words (Deno has no class for ENOSPC or EROFS).
 */
import { type ErrorCode, TuttiError } from "../errors.ts";

export function fsError(e: unknown, doing: string, path: string): TuttiError {
  if (e instanceof TuttiError) return e;
  const raw = e instanceof Error ? e.message : String(e);
  // Deno's messages end with the path and the call ("..., open '/x'"): keep the system's words.
  const words = raw.replace(/:? *\(os error \d+\).*$/s, "").replace(/,? *\w+ '[^']*'$/, "")
    .trim()
    .toLowerCase() || "failed";
  return new TuttiError(codeOf(e, raw), `${doing} ${path}: ${words}`, { cause: e });
}

function codeOf(e: unknown, raw: string): ErrorCode {
  if (e instanceof Deno.errors.NotFound) return "ENOENT";
  if (e instanceof Deno.errors.PermissionDenied) return "EACCES";
  if (e instanceof Deno.errors.AlreadyExists) return "EEXIST";
  if (e instanceof Deno.errors.NotADirectory) return "ENOTDIR";
  if (e instanceof Deno.errors.IsADirectory) return "EISDIR";
  if (/os error 28\b|no space left/i.test(raw)) return "ENOSPC";
  if (/os error 30\b|read-only file system/i.test(raw)) return "EACCES";
  if (/os error 122\b|quota/i.test(raw)) return "ENOSPC";
  // A path the system refuses as such (too long, a loop of links): the asker's to fix.
  if (/os error (36|40)\b|name too long|too many levels of symbolic links|nul byte/i.test(raw)) {
    return "EINVAL";
  }
  return "EIO";
}
