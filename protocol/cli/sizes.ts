/**
 * Sizes as users write them on a command line (the agent's spool limits,
 * `queue submit --min-free-mem`): decimal and binary units.
 */
import { UsageError } from "./usage_error.ts";

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000_000,
  mb: 1000_000,
  mib: 1024 * 1024,
  g: 1000_000_000,
  gb: 1000_000_000,
  gib: 1024 * 1024 * 1024,
  t: 1000_000_000_000,
  tb: 1000_000_000_000,
  tib: 1024 ** 4,
};

/** `65536`, `64KiB`, `1MiB`, `1M` (decimal) → bytes. */
export function parseBytes(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? BYTE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(
      `${flag} ${JSON.stringify(text)}: expected a size such as 65536, 64KiB or 1MiB`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}
