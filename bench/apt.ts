/** Peers come from Debian packages; the benchmark installs a missing one with apt-get. */
import { capture } from "./child.ts";

/** The first of `paths` that exists, after installing `pkg` if none does; throws with apt's words. */
export async function ensurePackage(pkg: string, paths: string[]): Promise<string> {
  const found = async () => {
    for (const p of paths) {
      if (await Deno.stat(p).then(() => true, () => false)) return p;
    }
    return null;
  };
  const have = await found();
  if (have) return have;
  if (Deno.uid() !== 0) throw new Error(`${pkg} is not installed (and installing needs root)`);
  console.error(`bench: installing ${pkg} (apt-get) ...`);
  const env = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
  const install = () => capture(env[0], [...env.slice(1), "install", "-y", "-qq", pkg]);
  let r = await install();
  if (!r.ok) {
    await capture(env[0], [...env.slice(1), "update", "-qq"]);
    r = await install();
  }
  const path = await found();
  if (!path) throw new Error(`apt-get install ${pkg} failed: ${r.stderr.trim().slice(-500)}`);
  return path;
}
