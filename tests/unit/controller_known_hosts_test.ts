/**
 * The known-hosts cache: per server and prefix, merged on save, forgotten on
 * request, never fatal; an old file keyed by prefix only is read as empty.
 */
import assert from "node:assert/strict";
import {
  defaultStateDir,
  KnownHosts,
  SERVER_EXPIRY_MS,
  serverKey,
} from "../../controller/known_hosts.ts";

const A = "server NA";
const B = "server NB";
/** Sightings near now: a server none of whose hosts was seen for a month leaves the file. */
const T = Date.now();

Deno.test("sightings are saved per server and prefix and merged with another controller's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KnownHosts.load(dir, A, "tutti");
    a.seen("t-1", { labels: { rack: "r1" }, heartbeat: 5000, version: "0.1.0" }, T + 1000);
    a.seen("t-2", undefined, T + 1000);
    await a.save();
    const b = await KnownHosts.load(dir, A, "tutti");
    assert.deepEqual(b.get("t-1"), {
      lastSeen: T + 1000,
      labels: { rack: "r1" },
      heartbeat: 5000,
      version: "0.1.0",
    });
    b.seen("t-3", undefined, T + 2000);
    a.seen("t-2", undefined, T + 3000);
    await b.save();
    await a.save();
    const c = await KnownHosts.load(dir, A, "tutti");
    assert.deepEqual(c.names().sort(), ["t-1", "t-2", "t-3"]);
    assert.equal(c.get("t-2")!.lastSeen, T + 3000);
    const other = await KnownHosts.load(dir, A, "lab");
    assert.deepEqual(other.names(), [], "another prefix has its own hosts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hosts seen on one server are not expected on another", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KnownHosts.load(dir, A, "tutti");
    for (const h of ["a-1", "a-2", "a-3"]) a.seen(h, undefined, T);
    await a.save();
    const b = await KnownHosts.load(dir, B, "tutti");
    assert.deepEqual(b.names(), [], "server B knows none of A's hosts");
    b.seen("b-1", undefined, T);
    await b.save();
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names().sort(), [
      "a-1",
      "a-2",
      "a-3",
    ]);
    assert.deepEqual((await KnownHosts.load(dir, B, "tutti")).names(), ["b-1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server key is the cluster name, else the server's name, else its id", () => {
  assert.equal(serverKey({ server_id: "NID", server_name: "n1", cluster: "lab" }), "cluster lab");
  assert.equal(serverKey({ server_id: "NID", server_name: "frontend" }), "server frontend");
  // An unnamed server's name is its id.
  assert.equal(serverKey({ server_id: "NID", server_name: "NID" }), "server NID");
  assert.equal(serverKey({ server_id: "NID", server_name: "" }), "server NID");
  assert.notEqual(
    serverKey({ server_id: "X", server_name: "lab" }),
    serverKey({ server_id: "X", server_name: "n", cluster: "lab" }),
    "a server named like a cluster is another key",
  );
});

Deno.test("forget removes a host from the file too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await KnownHosts.load(dir, A, "tutti");
    a.seen("t-1", undefined, T);
    a.seen("t-2", undefined, T);
    await a.save();
    const b = await KnownHosts.load(dir, A, "tutti");
    assert.ok(b.forget("t-1"));
    assert.equal(b.forget("t-9"), false);
    await b.save();
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names(), ["t-2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("forgetting without a server removes the host on every server, in that prefix only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [server, prefix] of [[A, "tutti"], [B, "tutti"], [A, "lab"]]) {
      const k = await KnownHosts.load(dir, server, prefix);
      k.seen("t-1", undefined, T);
      k.seen("t-2", undefined, T);
      await k.save();
    }
    const every = await KnownHosts.loadEveryServer(dir, "tutti");
    assert.deepEqual(every.names().sort(), ["t-1", "t-2"]);
    assert.throws(() => every.seen("t-3"), /needs its server/);
    assert.ok(every.forget("t-1"));
    await every.save();
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names(), ["t-2"]);
    assert.deepEqual((await KnownHosts.load(dir, B, "tutti")).names(), ["t-2"]);
    assert.deepEqual((await KnownHosts.load(dir, A, "lab")).names().sort(), ["t-1", "t-2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an old file keyed by prefix only is read as empty and replaced on save", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/known_hosts.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ v: 1, prefixes: { tutti: { "a-1": { lastSeen: T } } } }),
    );
    const k = await KnownHosts.load(dir, A, "tutti");
    assert.deepEqual(k.names(), [], "v1 hosts name no server: none is expected");
    assert.deepEqual((await KnownHosts.loadEveryServer(dir, "tutti")).names(), []);
    k.seen("b-1", undefined, T);
    await k.save();
    const file = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(file, { v: 2, servers: { [A]: { tutti: { "b-1": { lastSeen: T } } } } });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server none of whose hosts was seen for a month leaves the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const old = await KnownHosts.load(dir, A, "tutti");
    old.seen("a-1", undefined, T - SERVER_EXPIRY_MS - 1000);
    await old.save(T - SERVER_EXPIRY_MS);
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names(), ["a-1"]);
    const b = await KnownHosts.load(dir, B, "tutti");
    b.seen("b-1", undefined, T);
    await b.save(T);
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names(), [], "server A expired");
    assert.deepEqual((await KnownHosts.load(dir, B, "tutti")).names(), ["b-1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged file is an empty cache, and an unwritable directory is not an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/known_hosts.json`, "{not json");
    const k = await KnownHosts.load(dir, A, "tutti");
    assert.deepEqual(k.names(), []);
    await Deno.writeTextFile(
      `${dir}/known_hosts.json`,
      JSON.stringify({ v: 2, servers: { [A]: [1], [B]: { tutti: "x" } } }),
    );
    assert.deepEqual((await KnownHosts.load(dir, A, "tutti")).names(), []);
    assert.deepEqual((await KnownHosts.load(dir, B, "tutti")).names(), []);
    const blocked = await KnownHosts.load(`${dir}/known_hosts.json/sub`, A, "tutti");
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
