/** The known-hosts cache: per prefix, merged on save, forgotten on request, never fatal. */
import assert from "node:assert/strict";
import { defaultStateDir, KnownHosts } from "../../controller/known_hosts.ts";

Deno.test("sightings are saved per prefix and merged with another controller's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KnownHosts.load(dir, "tutti");
    a.seen("t-1", { labels: { rack: "r1" }, heartbeat: 5000, version: "0.1.0" }, 1000);
    a.seen("t-2", undefined, 1000);
    await a.save();
    const b = await KnownHosts.load(dir, "tutti");
    assert.deepEqual(b.get("t-1"), {
      lastSeen: 1000,
      labels: { rack: "r1" },
      heartbeat: 5000,
      version: "0.1.0",
    });
    b.seen("t-3", undefined, 2000);
    a.seen("t-2", undefined, 3000);
    await b.save();
    await a.save();
    const c = await KnownHosts.load(dir, "tutti");
    assert.deepEqual(c.names().sort(), ["t-1", "t-2", "t-3"]);
    assert.equal(c.get("t-2")!.lastSeen, 3000);
    const other = await KnownHosts.load(dir, "lab");
    assert.deepEqual(other.names(), [], "another prefix has its own hosts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forget removes a host from the file too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KnownHosts.load(dir, "tutti");
    a.seen("t-1", undefined, 1);
    a.seen("t-2", undefined, 1);
    await a.save();
    const b = await KnownHosts.load(dir, "tutti");
    assert.ok(b.forget("t-1"));
    assert.equal(b.forget("t-9"), false);
    await b.save();
    assert.deepEqual((await KnownHosts.load(dir, "tutti")).names(), ["t-2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged file is an empty cache, and an unwritable directory is not an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/known_hosts.json`, "{not json");
    const k = await KnownHosts.load(dir, "tutti");
    assert.deepEqual(k.names(), []);
    const blocked = await KnownHosts.load(`${dir}/known_hosts.json/sub`, "tutti");
    blocked.seen("x");
    await blocked.save();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the state directory follows TUTTI_STATE_DIR, then XDG_STATE_HOME, then HOME", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(defaultStateDir(env({ TUTTI_STATE_DIR: "/s", HOME: "/h" })), "/s");
  assert.equal(defaultStateDir(env({ XDG_STATE_HOME: "/x", HOME: "/h" })), "/x/tutti");
  assert.equal(defaultStateDir(env({ HOME: "/h" })), "/h/.local/state/tutti");
});
