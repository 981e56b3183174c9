// The file helpers of transfers: partial files, digests, error words, and the trees walked.
import assert from "node:assert/strict";
import { partPath } from "../../protocol/files/part_file.ts";
import { fsError } from "../../protocol/files/fs_error.ts";
import { sha256File } from "../../protocol/files/sha256.ts";
import { walkTree } from "../../protocol/files/file_tree.ts";
import { formatBytes } from "../../controller/render/transfer.ts";

Deno.test("partPath: hidden, beside the destination, named for the content", () => {
  assert.equal(
    partPath("/d/x.bin", "0123456789abcdef".repeat(4)),
    "/d/.x.bin.0123456789ab.tutti-part",
  );
});

Deno.test("fsError: the code from the system's error, the path and what was done", () => {
  for (
    const [fn, code] of [
      [() => Deno.openSync("/nonexistent-dir/x"), "ENOENT"],
      [() => Deno.writeFileSync("/dev/full", new Uint8Array(8)), "ENOSPC"],
      [() => Deno.mkdirSync("/etc/hostname/sub"), "ENOTDIR"],
    ] as const
  ) {
    try {
      fn();
      assert.fail("no error");
    } catch (e) {
      const t = fsError(e, "writing", "/p");
      assert.equal(t.code, code);
      assert.match(t.message, /^writing \/p: [a-z]/);
    }
  }
});

Deno.test("walkTree: sorted, directories first, links kept, digests of files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/t/b`, { recursive: true });
    await Deno.writeTextFile(`${dir}/t/b/z`, "z");
    await Deno.writeTextFile(`${dir}/t/a`, "abc");
    await Deno.symlink("/nowhere", `${dir}/t/l`);
    const tree = await walkTree(`${dir}/t/`);
    assert.deepEqual(tree.map((e) => [e.path, e.kind]), [
      ["t", "dir"],
      ["t/a", "file"],
      ["t/b", "dir"],
      ["t/b/z", "file"],
      ["t/l", "link"],
    ]);
    assert.equal(
      tree[1].sha256,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    assert.equal(tree[1].sha256, await sha256File(`${dir}/t/a`));
    assert.equal(tree[4].link, "/nowhere");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatBytes", () => {
  assert.deepEqual([0, 1023, 1536, 3 << 20, 5 * 2 ** 30].map(formatBytes), [
    "0 B",
    "1023 B",
    "1.5 KiB",
    "3.0 MiB",
    "5.0 GiB",
  ]);
});
