/**
 * `put`: a tree to many agents with one upload, exact at every destination
 * (contents, modes, links), skipped when already there, precise errors,
 * and continued across an agent restart and a broker restart.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import type { TransferEvent } from "../../controller/mod.ts";
import { partPath } from "../../protocol/files/part_file.ts";
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
  "put: a tree reaches every host exactly, uploaded once; a second put skips it",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      const src = `${world.dir}/src`;
      await Deno.mkdir(`${src}/bin`, { recursive: true });
      await Deno.mkdir(`${src}/ro`, { mode: 0o755 });
      await Deno.writeFile(`${src}/bin/tool`, bytesOf(3_000_000, 1), { mode: 0o755 });
      await Deno.writeFile(`${src}/ro/conf`, new TextEncoder().encode("x=1\n"), { mode: 0o640 });
      await Deno.writeFile(`${src}/copy`, bytesOf(3_000_000, 1)); // same content as bin/tool
      await Deno.writeFile(`${src}/empty`, new Uint8Array(0));
      await Deno.symlink("bin/tool", `${src}/tool`);
      await Deno.chmod(`${src}/bin/tool`, 0o755);
      await Deno.chmod(`${src}/ro/conf`, 0o640);
      await Deno.chmod(`${src}/ro`, 0o555);
      await world.agentsNamed(["p-1", "p-2", "p-3"]);
      const dest = `${world.dir}/dest/{host}/`;
      const put = c.put({ hosts: "p-[1-3]" }, { specs: [{ sources: [src], dest }] });
      const events: TransferEvent[] = [];
      for await (const e of put) events.push(e);
      const s = await put.done;
      assert.equal(s.ok, true, JSON.stringify(s.hosts));
      assert.deepEqual(s.hosts.map((h) => h.host), ["p-1", "p-2", "p-3"]);
      // One upload of each distinct content: bin/tool and copy are one, conf is 4 bytes.
      assert.equal(s.uploaded, 3_000_000 + 4);
      const want = await describeTree(src);
      for (const h of ["p-1", "p-2", "p-3"]) {
        assert.deepEqual(await describeTree(`${world.dir}/dest/${h}/src`), want, h);
        const r = s.hosts.find((x) => x.host === h)!;
        assert.deepEqual([r.files, r.skipped, r.bytes], [4, 0, 6_000_004]);
      }
      assert.ok(events.some((e) => e.type === "upload"));
      assert.equal(events.filter((e) => e.type === "result").length, 3);

      // The same again: every file is already there, nothing is uploaded or fetched.
      const again = await c.put({ hosts: "p-[1-3]" }, { specs: [{ sources: [src], dest }] }).done;
      assert.equal(again.ok, true);
      assert.equal(again.uploaded, 0);
      for (const r of again.hosts) assert.deepEqual([r.files, r.skipped, r.bytes], [0, 4, 0]);
    } finally {
      await c.close();
      await close();
    }
  },
);

Deno.test(
  "put: one file to a name, into a directory, and a batch; the CLI's summary",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      await world.agentsNamed(["f-1", "f-2"]);
      const a = `${world.dir}/a.txt`;
      const b = `${world.dir}/b.txt`;
      await Deno.writeTextFile(a, "alpha\n");
      await Deno.writeTextFile(b, "beta\n");
      await Deno.mkdir(`${world.dir}/out-f-1/existing`, { recursive: true });
      await Deno.mkdir(`${world.dir}/out-f-2/existing`, { recursive: true });
      const list = `${world.dir}/list`;
      await Deno.writeTextFile(
        list,
        [
          "# a batch",
          `${a} ${world.dir}/out-{host}/renamed.txt`,
          `${b} ${world.dir}/out-{host}/existing`,
          "",
          `${a} ${b} ${world.dir}/out-{host}/both`,
        ].join("\n"),
      );
      const r = await world.controller(["put", "--hosts", "f-[1-2]", "--list", list]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^2 hosts: 2 ok$/m);
      for (const h of ["f-1", "f-2"]) {
        const out = `${world.dir}/out-${h}`;
        assert.equal(await Deno.readTextFile(`${out}/renamed.txt`), "alpha\n");
        assert.equal(await Deno.readTextFile(`${out}/existing/b.txt`), "beta\n");
        assert.equal(await Deno.readTextFile(`${out}/both/a.txt`), "alpha\n");
        assert.equal(await Deno.readTextFile(`${out}/both/b.txt`), "beta\n");
      }
      const json = await world.controller([
        "put",
        "--hosts",
        "f-1",
        "--json",
        a,
        `${world.dir}/j.txt`,
      ]);
      assert.equal(json.code, 0, json.stderr);
      const lines = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(lines.at(-1).type, "summary");
      assert.equal(lines.at(-1).ok, true);
    } finally {
      await close();
    }
  },
);

Deno.test(
  "put: precise errors per host, nothing partial under a destination's name",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      await world.agentsNamed(["e-1", "e-2"]);
      const src = `${world.dir}/data.bin`;
      await Deno.writeFile(src, bytesOf(2_500_000, 7));

      // No such source: refused on the controller, before anything is sent.
      await assert.rejects(
        c.put({ hosts: "e-[1-2]" }, { specs: [{ sources: [`${world.dir}/nope`], dest: "/tmp/x" }] })
          .done,
        (e: Error & { code?: string }) => e.code === "ENOENT" && /nope/.test(e.message),
      );

      // e-1's destination is under a regular file; e-2's is fine.
      await Deno.writeTextFile(`${world.dir}/blocker-e-1`, "a file, not a directory");
      await Deno.mkdir(`${world.dir}/blocker-e-2`);
      const s = await c.put({ hosts: "e-[1-2]" }, {
        specs: [{ sources: [src], dest: `${world.dir}/blocker-{host}/sub/data.bin` }],
      }).done;
      assert.equal(s.ok, false);
      const [e1, e2] = s.hosts;
      assert.equal(e1.status, "failed");
      assert.match(e1.error!.code, /^(ENOTDIR|EEXIST)$/);
      assert.match(e1.error!.message, /blocker-e-1\/sub/);
      assert.equal(e2.status, "ok");
      assert.equal(await shaOf(`${world.dir}/blocker-e-2/sub/data.bin`), await shaOf(src));

      // A partial file with wrong bytes (a whole chunk of zeros): the digest check catches it,
      // names both digests, removes the part and leaves nothing under the destination's name.
      const dest = `${world.dir}/mismatch-e-1/data.bin`;
      await Deno.mkdir(`${world.dir}/mismatch-e-1`);
      const want = await shaOf(src);
      await Deno.writeFile(partPath(dest, want), new Uint8Array(2_000_000));
      const m = await c.put({ hosts: "e-1" }, {
        specs: [{ sources: [src], dest: `${world.dir}/mismatch-{host}/data.bin` }],
      }).done;
      assert.equal(m.hosts[0].error?.code, "EINTEGRITY", JSON.stringify(m.hosts));
      assert.match(
        m.hosts[0].error!.message,
        new RegExp(`expected sha256 ${want}, got [0-9a-f]{64}`),
      );
      assert.deepEqual([...Deno.readDirSync(`${world.dir}/mismatch-e-1`)], []);
      // Run again, it now writes the file whole.
      const fixed = await c.put({ hosts: "e-1" }, {
        specs: [{ sources: [src], dest: `${world.dir}/mismatch-{host}/data.bin` }],
      }).done;
      assert.equal(fixed.ok, true);
      assert.equal(await shaOf(dest), want);
    } finally {
      await c.close();
      await close();
    }
  },
);

Deno.test(
  "put: a content whose chunks were purged from the stream is uploaded again at once",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      await world.agentsNamed(["u-1"]);
      const src = `${world.dir}/data.bin`;
      await Deno.writeFile(src, bytesOf(3_000_000, 7));
      const spec = (n: number) => ({ sources: [src], dest: `${world.dir}/got-${n}/data.bin` });
      const first = await c.put({ hosts: "u-1" }, { specs: [spec(1)] }).done;
      assert.equal(first.ok, true, JSON.stringify(first.hosts));
      // Well within the stream's duplicate window: the server still knows the chunks' ids.
      const jsm = await jetstreamManager(world.nc);
      await jsm.streams.purge(world.subjects.xferStream());
      const again = await c.put({ hosts: "u-1" }, { specs: [spec(2)] }).done;
      assert.equal(again.ok, true, JSON.stringify(again.hosts));
      assert.equal(again.uploaded, 3_000_000);
      assert.equal(await shaOf(`${world.dir}/got-2/data.bin`), await shaOf(src));
    } finally {
      await c.close();
      await close();
    }
  },
);

Deno.test("put: a server without JetStream is a clear error", opts, async () => {
  const { World } = await import("./harness.ts");
  const world = await World.create();
  const c = await connect(world);
  try {
    await world.agentsNamed(["n-1"]);
    await Deno.writeTextFile(`${world.dir}/f`, "x");
    await assert.rejects(
      c.put({ hosts: "n-1" }, { specs: [{ sources: [`${world.dir}/f`], dest: "/tmp/f" }] }).done,
      (e: Error & { code?: string }) => e.code === "ENOTSUP" && /-js/.test(e.message),
    );
    const r = await world.controller(["put", "--hosts", "n-1", `${world.dir}/f`, "/tmp/f"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ENOTSUP|JetStream/);
  } finally {
    await c.close();
    await world.close();
  }
});

Deno.test(
  "put: an agent killed mid-transfer continues from its partial file once restarted",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      // A throttled link, so that the transfer is still going when the agent is killed.
      const proxy = TcpProxy.start(world.broker.url);
      proxy.throttle(8 << 20);
      const a = await world.agent("r-1", { server: proxy.url });
      const size = 24 << 20;
      const src = `${world.dir}/big.bin`;
      await Deno.writeFile(src, bytesOf(size, 3));
      const put = c.put({ hosts: "r-1" }, {
        specs: [{ sources: [src], dest: `${world.dir}/got/big.bin` }],
      });
      let killed = false;
      for await (const e of put) {
        if (!killed && e.type === "progress" && e.done > 4 << 20 && e.done < size / 2) {
          killed = true;
          await a.kill();
          await world.agent("r-1", { server: proxy.url });
        }
      }
      const s = await put.done;
      assert.ok(killed, "the transfer was interrupted");
      assert.equal(s.ok, true, JSON.stringify(s.hosts));
      assert.ok(s.hosts[0].resumed > 0, `continued from the part: ${JSON.stringify(s.hosts[0])}`);
      assert.ok(s.hosts[0].bytes < size, "not all of it fetched again");
      assert.equal(await shaOf(`${world.dir}/got/big.bin`), sha(await Deno.readFile(src)));
    } finally {
      await c.close();
      await close();
    }
  },
);

Deno.test(
  "put: the broker restarted mid-transfer loses nothing (the stream is on disk)",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    try {
      // Agents behind a throttled link, so that the put is still going when the broker goes.
      const proxy = TcpProxy.start(world.broker.url);
      proxy.throttle(16 << 20);
      for (const h of ["b-1", "b-2"]) await world.agent(h, { server: proxy.url });
      const size = 64 << 20;
      const src = `${world.dir}/big.bin`;
      await Deno.writeFile(src, bytesOf(size, 5));
      const ctl = world.spawnController([
        "put",
        "--hosts",
        "b-[1-2]",
        "--json",
        src,
        `${world.dir}/got-{host}.bin`,
      ]);
      // Once a host has fetched a few MiB, the broker goes away and comes back on the same port.
      await ctl.waitFor(
        "a host past 5 MB",
        (out) => /"type":"progress"[^}]*"done":([5-9]\d{6}|[1-9]\d{7,})/.test(out),
        60_000,
      );
      await world.broker.stop();
      await world.broker.restart();
      const r = await ctl.result(120_000);
      assert.equal(r.code, 0, r.stderr);
      const want = sha(await Deno.readFile(src));
      for (const h of ["b-1", "b-2"]) {
        assert.equal(
          await shaOf(`${world.dir}/got-${h}.bin`),
          want,
          h,
        );
      }
    } finally {
      await close();
    }
  },
);

Deno.test("put: a full disk is ENOSPC naming the file; nothing under its name", opts, async () => {
  const { world, close } = await jetStreamWorld();
  const c = await connect(world);
  const small = `${world.dir}/small`;
  await Deno.mkdir(small);
  let mounted = true;
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small],
    stderr: "null",
  }).output();
  try {
    await world.agentsNamed(["d-1"]);
    const src = `${world.dir}/big.bin`;
    await Deno.writeFile(src, bytesOf(3_000_000, 11));
    // Without the right to mount, a partial file that is /dev/full stands in for the full disk.
    if (!mount.success) {
      mounted = false;
      await Deno.symlink("/dev/full", partPath(`${small}/big.bin`, await shaOf(src)));
    }
    const s = await c.put({ hosts: "d-1" }, { specs: [{ sources: [src], dest: `${small}/` }] })
      .done;
    assert.equal(s.ok, false);
    assert.equal(s.hosts[0].error?.code, "ENOSPC", JSON.stringify(s.hosts));
    assert.match(
      s.hosts[0].error!.message,
      new RegExp(`writing ${small}/big\\.bin.*no space left`),
    );
    assert.ok(!Deno.readDirSync(small).some((e) => e.name === "big.bin"), "nothing under the name");
  } finally {
    if (mounted && mount.success) {
      await new Deno.Command("umount", { args: ["-l", small] }).output().catch(() => {});
    }
    await c.close();
    await close();
  }
});

Deno.test(
  "put: a controller killed mid-upload; the next put uploads only the rest",
  opts,
  async () => {
    const { world, close } = await jetStreamWorld();
    const c = await connect(world);
    try {
      await world.agentsNamed(["u-1"]);
      const size = 48 << 20;
      const src = `${world.dir}/big.bin`;
      await Deno.writeFile(src, bytesOf(size, 13));
      // The first controller uploads through a slow link, and is killed half-way.
      const proxy = TcpProxy.start(world.broker.url);
      proxy.throttle(8 << 20);
      const ctl = world.spawnController([
        "--server",
        proxy.url,
        "put",
        "--hosts",
        "u-1",
        "--json",
        src,
        `${world.dir}/got.bin`,
      ]);
      await ctl.waitFor(
        "a third of the upload",
        (out) => /"type":"upload","done":(1[6-9]|[2-9]\d)\d{6}/.test(out),
        60_000,
      );
      await ctl.kill();
      const s = await c.put({ hosts: "u-1" }, {
        specs: [{ sources: [src], dest: `${world.dir}/got.bin` }],
      })
        .done;
      assert.equal(s.ok, true, JSON.stringify(s.hosts));
      assert.ok(s.uploaded > 0 && s.uploaded <= size - (8 << 20), `uploaded again: ${s.uploaded}`);
      assert.equal(await shaOf(`${world.dir}/got.bin`), sha(await Deno.readFile(src)));
    } finally {
      await c.close();
      await close();
    }
  },
);
