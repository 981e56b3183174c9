// Connection options with the NATS CLI's names: flags, then environment, then the NATS CLI's
// context file, then the default. The environment-reading cases run in a child process (see
// connect_options_probe.ts) with their own XDG_CONFIG_HOME.
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { splitServers } from "../../protocol/connection/cli_options.ts";
import {
  type ConnectFlags,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_SERVER,
  MAX_PINGS_OUT,
  natsOptions,
} from "../../protocol/connection/connect_flags.ts";
import { assertRejectsTutti } from "./assert_tutti_error.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PROBE = new URL("./connect_options_probe.ts", import.meta.url).pathname;

/** Every variable resolveConnectFlags reads, emptied (it treats "" as unset). */
const CLEAN_ENV = {
  NATS_URL: "",
  NATS_CONTEXT: "",
  NATS_CREDS: "",
  NATS_NKEY: "",
  NATS_USER: "",
  NATS_PASSWORD: "",
};

type Outcome = { ok?: ConnectFlags; error?: { code: string; message: string } };

/** A fresh XDG_CONFIG_HOME with the given files under nats/ (context.txt, context/NAME.json). */
async function configHome(files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tutti-xdg-" });
  await Deno.mkdir(`${dir}/nats/context`, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/nats/${name}`, text);
  }
  return dir;
}

async function resolve(
  flags: ConnectFlags,
  env: Record<string, string>,
  xdg: string,
): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-env", PROBE, JSON.stringify(flags)],
    cwd: ROOT,
    env: { ...CLEAN_ENV, XDG_CONFIG_HOME: xdg, ...env },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 0, `probe failed:\n${stdout}${stderr}`);
  return JSON.parse(stdout);
}

/** Runs `fn` with a fresh config dir and removes it afterwards. */
async function withConfig(
  files: Record<string, string>,
  fn: (xdg: string) => Promise<void>,
): Promise<void> {
  const xdg = await configHome(files);
  try {
    await fn(xdg);
  } finally {
    await Deno.remove(xdg, { recursive: true });
  }
}

/** A context file as `nats context save` writes it (unset fields are ""). */
function contextJson(fields: Record<string, string>): string {
  return JSON.stringify({
    description: "",
    url: "",
    token: "",
    user: "",
    password: "",
    creds: "",
    nkey: "",
    cert: "",
    key: "",
    ca: "",
    nsc: "",
    jetstream_domain: "",
    tls_first: false,
    ...fields,
  });
}

Deno.test("connect options: splitServers takes repeated and comma-separated values", () => {
  deepStrictEqual(splitServers(undefined), []);
  deepStrictEqual(splitServers(""), []);
  deepStrictEqual(splitServers("nats://a:4222"), ["nats://a:4222"]);
  deepStrictEqual(splitServers("nats://a:4222, nats://b:4222,,"), [
    "nats://a:4222",
    "nats://b:4222",
  ]);
  deepStrictEqual(splitServers(["a:1,b:2", " c:3 "]), ["a:1", "b:2", "c:3"]);
});

Deno.test("connect options: nothing set gives the default server", async () => {
  await withConfig({}, async (xdg) => {
    deepStrictEqual(await resolve({}, {}, xdg), { ok: { servers: [DEFAULT_SERVER] } });
  });
});

Deno.test("connect options: NATS_URL, with a comma list, and the other NATS_ variables", async () => {
  await withConfig({}, async (xdg) => {
    const env = {
      NATS_URL: "nats://a:4222,nats://b:4223",
      NATS_CREDS: "/x.creds",
      NATS_NKEY: "/x.nk",
      NATS_USER: "u",
      NATS_PASSWORD: "p",
    };
    deepStrictEqual(await resolve({}, env, xdg), {
      ok: {
        servers: ["nats://a:4222", "nats://b:4223"],
        creds: "/x.creds",
        nkey: "/x.nk",
        user: "u",
        password: "p",
      },
    });
    // Flags win over the environment.
    deepStrictEqual(await resolve({ servers: ["nats://c:1"], user: "v" }, env, xdg), {
      ok: {
        servers: ["nats://c:1"],
        creds: "/x.creds",
        nkey: "/x.nk",
        user: "v",
        password: "p",
      },
    });
  });
});

Deno.test("connect options: the context selected in context.txt is used", async () => {
  const files = {
    "context.txt": "lab\n",
    "context/lab.json": contextJson({
      url: "nats://lab-1:4222,nats://lab-2:4222",
      creds: "/home/me/lab.creds",
      ca: "/etc/lab-ca.pem",
      cert: "/etc/me.pem",
      key: "/etc/me.key",
      token: "s3cret",
    }),
    "context/other.json": contextJson({ url: "nats://other:4222", user: "o", password: "pw" }),
  };
  await withConfig(files, async (xdg) => {
    const r = await resolve({}, {}, xdg);
    deepStrictEqual(r.ok?.servers, ["nats://lab-1:4222", "nats://lab-2:4222"]);
    strictEqual(r.ok?.creds, "/home/me/lab.creds");
    strictEqual(r.ok?.tlsCa, "/etc/lab-ca.pem");
    strictEqual(r.ok?.tlsCert, "/etc/me.pem");
    strictEqual(r.ok?.tlsKey, "/etc/me.key");
    strictEqual(r.ok?.token, "s3cret");

    // --context and NATS_CONTEXT choose another one.
    const byFlag = await resolve({ context: "other" }, {}, xdg);
    deepStrictEqual(byFlag.ok?.servers, ["nats://other:4222"]);
    strictEqual(byFlag.ok?.user, "o");
    strictEqual(byFlag.ok?.password, "pw");
    strictEqual(byFlag.ok?.creds, "");
    const byEnv = await resolve({}, { NATS_CONTEXT: "other" }, xdg);
    deepStrictEqual(byEnv.ok?.servers, ["nats://other:4222"]);

    // Explicit flags and the environment override the context's values, field by field.
    const over = await resolve(
      { servers: ["nats://mine:4222"], creds: "/mine.creds", tlsCa: "/mine-ca.pem" },
      { NATS_USER: "env-user" },
      xdg,
    );
    deepStrictEqual(over.ok?.servers, ["nats://mine:4222"]);
    strictEqual(over.ok?.creds, "/mine.creds");
    strictEqual(over.ok?.tlsCa, "/mine-ca.pem");
    strictEqual(over.ok?.user, "env-user");
    strictEqual(over.ok?.token, "s3cret", "fields not overridden still come from the context");
    const envUrl = await resolve({}, { NATS_URL: "nats://env:1" }, xdg);
    deepStrictEqual(envUrl.ok?.servers, ["nats://env:1"]);
  });
});

Deno.test("connect options: a context with an empty url falls back to the default", async () => {
  await withConfig({ "context.txt": "e", "context/e.json": contextJson({}) }, async (xdg) => {
    const r = await resolve({}, {}, xdg);
    const servers = r.ok?.servers ?? [];
    // Either form connects to the default server: natsOptions fills in an empty list.
    ok(servers.length === 0 || (servers.length === 1 && servers[0] === DEFAULT_SERVER));
    deepStrictEqual((await natsOptions({ servers }, "t")).servers, [DEFAULT_SERVER]);
  });
});

Deno.test("connect options: a context selected by context.txt that is gone is ignored", async () => {
  await withConfig({ "context.txt": "gone" }, async (xdg) => {
    deepStrictEqual(await resolve({}, {}, xdg), { ok: { servers: [DEFAULT_SERVER] } });
  });
});

Deno.test("connect options: a named context that is missing or unreadable is EINVAL with its path", async () => {
  await withConfig({}, async (xdg) => {
    const path = `${xdg}/nats/context/nope.json`;
    for (
      const [flags, env] of [[{ context: "nope" }, {}], [{}, { NATS_CONTEXT: "nope" }]] as const
    ) {
      const r = await resolve(flags, env, xdg);
      strictEqual(r.error?.code, "EINVAL");
      ok(r.error?.message.includes(path), r.error?.message);
      ok(r.error?.message.includes('"nope"'), r.error?.message);
    }
    // A directory where the file should be cannot be read either (tests may run as root, so a
    // mode-000 file would still be readable).
    await Deno.mkdir(`${xdg}/nats/context/dir.json`);
    const r = await resolve({ context: "dir" }, {}, xdg);
    strictEqual(r.error?.code, "EINVAL");
    ok(r.error?.message.includes(`${xdg}/nats/context/dir.json`), r.error?.message);
  });
});

Deno.test("connect options: an invalid context file is EINVAL with its path", async () => {
  const files = {
    "context.txt": "broken",
    "context/broken.json": "{ url: nats://x",
    "context/list.json": '["nats://x"]',
    "context/null.json": "null",
    "context/numeric.json": '{"url": 4222}',
  };
  await withConfig(files, async (xdg) => {
    for (
      const [name, words] of [
        ["broken", ["not valid JSON"]],
        ["list", ["not valid JSON", "not a JSON object"]],
        ["null", ["not a JSON object"]],
        ["numeric", ['"url"', "not a string"]],
      ] as const
    ) {
      // Named by flag, and (for "broken") selected by context.txt: a file that is there must parse.
      const r = await resolve({ context: name }, {}, xdg);
      strictEqual(r.error?.code, "EINVAL", name);
      for (const w of [`${xdg}/nats/context/${name}.json`, ...words]) {
        ok(r.error?.message.includes(w), `${r.error?.message} lacks ${w}`);
      }
    }
    const selected = await resolve({}, {}, xdg);
    strictEqual(selected.error?.code, "EINVAL");
    ok(selected.error?.message.includes(`${xdg}/nats/context/broken.json`));
  });
});

Deno.test("connect options: natsOptions reconnects forever and maps the auth flags", async () => {
  const o = await natsOptions({ servers: ["nats://a:1", "nats://b:2"] }, "agent g5k-1");
  deepStrictEqual(o.servers, ["nats://a:1", "nats://b:2"]);
  strictEqual(o.name, "agent g5k-1");
  strictEqual(o.maxReconnectAttempts, -1, "nats.js gives up after 10 attempts by default");
  ok((o.reconnectJitter ?? 0) > 0, "reconnects are jittered");
  strictEqual(o.waitOnFirstConnect, true);
  strictEqual(o.pingInterval, DEFAULT_PING_INTERVAL_MS);
  strictEqual(o.maxPingOut, MAX_PINGS_OUT);
  strictEqual((await natsOptions({}, "x", 5000)).pingInterval, 5000);
  strictEqual(o.authenticator, undefined);
  strictEqual(o.tls, undefined);

  const auth = await natsOptions({ user: "u", password: "p", token: "t" }, "x");
  ok(Array.isArray(auth.authenticator) && auth.authenticator.length === 2);
  deepStrictEqual(auth.servers, [DEFAULT_SERVER]);

  const tls = await natsOptions({ tlsCa: "/ca.pem", tlsCert: "/c.pem", tlsKey: "/k.pem" }, "x");
  deepStrictEqual(tls.tls, { caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" });
});

Deno.test("connect options: unreadable creds and nkey files are EINVAL with the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tutti-creds-" });
  try {
    await assertRejectsTutti(
      natsOptions({ creds: `${dir}/none.creds` }, "x"),
      "EINVAL",
      "creds file",
      `${dir}/none.creds`,
    );
    await assertRejectsTutti(
      natsOptions({ nkey: `${dir}/none.nk` }, "x"),
      "EINVAL",
      "nkey seed file",
      `${dir}/none.nk`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
