/**
 * `get`: files from many agents into `LOCALDIR/<host>/`, exact, `~` and
 * relative paths from the agent's home, precise errors per host, skipped
 * when already there, and continued across an agent restart.
 */
import assert from "node:assert/strict";
import { TcpProxy } from "./tcp_proxy.ts";
import {
  bytesOf,
  connect,
  describeTree,
  jetStreamWorld,
  opts,
  sha,
  shaOf,
} from "./transfer_support.ts";

Deno.test(
  "get: every host's tree under LOCALDIR/<host>/, ~ and relative paths from its home",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      const hosts = ["g-1", "g-2", "g-3"];
      for (const [i, h] of hosts.entries()) {
        const home = `${world.dir}/home-${h}`;
        await Deno.mkdir(`${home}/results/deep`, { recursive: true });
        await Deno.writeFile(`${home}/results/out.bin`, bytesOf(1_500_000 + i, i + 1));
        await Deno.writeTextFile(`${home}/results/deep/log.txt`, `log of ${h}\n`);
        await Deno.symlink("deep/log.txt", `${home}/results/latest`);
        await Deno.writeTextFile(`${home}/notes.txt`, `notes of ${h}\n`);
        await Deno.chmod(`${home}/notes.txt`, 0o600);
        await world.agent(h, { env: { HOME: home } });
      }
      const local = `${world.dir}/collected`;
      const op = c.get({ hosts: "g-[1-3]" }, { paths: ["~/results", "notes.txt"], dir: local });
      let progress = 0;
      for await (const e of op) if (e.type === "progress") progress++;
      const s = await op.done;
      assert.equal(s.ok, true, JSON.stringify(s.hosts));
      assert.ok(progress > 0);
      for (const h of hosts) {
        const home = `${world.dir}/home-${h}`;
        assert.deepEqual(
          await describeTree(`${local}/${h}/results`),
          await describeTree(`${home}/results`),
          h,
        );
        assert.equal(await Deno.readTextFile(`${local}/${h}/notes.txt`), `notes of ${h}\n`);
        assert.equal(Deno.statSync(`${local}/${h}/notes.txt`).mode! & 0o777, 0o600);
      }
      const again = await c.get({ hosts: "g-[1-3]" }, {
        paths: ["~/results", "notes.txt"],
        dir: local,
      })
        .done;
      assert.equal(again.ok, true);
      for (const r of again.hosts) assert.deepEqual([r.files, r.skipped, r.bytes], [0, 3, 0]);
    } finally {
      await c.close();
      await close();
    }
  },
);

Deno.test(
  "get: a missing path fails its host with ENOENT naming it; the others succeed",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agentsNamed(["m-1", "m-2"]);
      await Deno.writeTextFile(`${world.dir}/file-m-1`, "one\n");
      const r = await world.controller([
        "get",
        "--hosts",
        "m-[1-2]",
        `${world.dir}/file-{host}`,
        `${world.dir}/out`,
      ]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`^m-2: ENOENT reading ${world.dir}/file-m-2: no such file`, "m"),
      );
      assert.match(r.stderr, /^2 hosts: 1 ok, 1 failed \(m-2\)$/m);
      assert.equal(await Deno.readTextFile(`${world.dir}/out/m-1/file-m-1`), "one\n");
    } finally {
      await close();
    }
  },
);

Deno.test(
  "get: an agent restarted in the middle of a get; the file arrives whole",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      const proxy = TcpProxy.start(world.broker.url);
      proxy.throttle(8 << 20);
      const a = await world.agent("k-1", { server: proxy.url });
      const size = 24 << 20;
      const src = `${world.dir}/big.bin`;
      await Deno.writeFile(src, bytesOf(size, 9));
      const op = c.get({ hosts: "k-1" }, { paths: [src], dir: `${world.dir}/out` });
      let restarted = false;
      for await (const e of op) {
        if (!restarted && e.type === "progress" && e.done > 4 << 20 && e.done < size / 2) {
          restarted = true;
          await a.kill();
          await world.agent("k-1", { server: proxy.url });
        }
      }
      const s = await op.done;
      assert.ok(restarted, "the agent was restarted mid-get");
      assert.equal(s.ok, true, JSON.stringify(s.hosts));
      assert.equal(await shaOf(`${world.dir}/out/k-1/big.bin`), sha(await Deno.readFile(src)));
      assert.ok(s.hosts[0].bytes < size + (4 << 20), `no restart from zero: ${s.hosts[0].bytes}`);
    } finally {
      await c.close();
      await close();
    }
  },
);
