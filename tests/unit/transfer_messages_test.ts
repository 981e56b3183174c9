// The transfer messages' parsers: a manifest can never name a path outside its destination.
import assert from "node:assert/strict";
import {
  isRelativePath,
  parseGetReply,
  parsePutRequest,
  parseReadRequest,
} from "../../protocol/transfer_messages.ts";
import { TuttiError } from "../../protocol/errors.ts";

const SHA = "a".repeat(64);
const file = (path: string) => ({ path, kind: "file", mode: 0o644, size: 3, sha256: SHA });

function put(items: unknown[]) {
  return { id: "t1", stream: "tutti_xfer", chunks: "tutti.xfer", chunk: 4096, items };
}

function rejects(fn: () => unknown, code: string, re: RegExp) {
  assert.throws(fn, (e) => e instanceof TuttiError && e.code === code && re.test(e.message));
}

Deno.test("isRelativePath refuses absolute paths, empty, . and .. components", () => {
  for (const ok of ["a", "a/b", "a/.hidden", "..x", "a/b..c"]) assert.ok(isRelativePath(ok), ok);
  for (const bad of ["", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "../x", "a\0b"]) {
    assert.ok(!isRelativePath(bad), JSON.stringify(bad));
  }
});

Deno.test("parsePutRequest: a valid request, and EINVAL naming the field otherwise", () => {
  const req = parsePutRequest(put([{
    dest: "/d",
    into: true,
    entries: [{ path: "t", kind: "dir", mode: 0o755 }, file("t/f"), {
      path: "t/l",
      kind: "link",
      mode: 0o777,
      link: "../../etc/passwd",
    }],
  }]));
  assert.equal(req.items[0].entries.length, 3);
  assert.equal(req.items[0].entries[2].link, "../../etc/passwd"); // a link's target is kept as is
  rejects(
    () => parsePutRequest(put([{ dest: "/d", into: true, entries: [file("../escape")] }])),
    "EINVAL",
    /items\[0\]\.entries\[0\]\.path.*relative path/,
  );
  rejects(
    () => parsePutRequest(put([{ dest: "/d", into: true, entries: [file("t/f")] }])),
    "EINVAL",
    /each directory before what it holds/,
  );
  rejects(
    () => parsePutRequest(put([{ dest: "/d", into: true, entries: [file("f"), file("f")] }])),
    "EINVAL",
    /each path once/,
  );
  rejects(
    () => parsePutRequest(put([{ dest: "/d", into: false, entries: [file("f"), file("g")] }])),
    "EINVAL",
    /one file or link when into is false/,
  );
  rejects(
    () =>
      parsePutRequest(
        put([{ dest: "/d", into: true, entries: [{ ...file("f"), sha256: "xyz" }] }]),
      ),
    "EINVAL",
    /sha256.*64 lowercase hex/,
  );
  rejects(
    () => parsePutRequest({ ...put([]), id: "a.b" }),
    "EINVAL",
    /"id".*subject token/,
  );
});

Deno.test("parseGetReply: a host's manifest with an escaping path is EBADMSG", () => {
  const ok = parseGetReply({ sources: [{ asked: "x", path: "/x", entries: [file("x")] }] });
  assert.equal(ok.sources[0].entries[0].sha256, SHA);
  rejects(
    () => parseGetReply({ sources: [{ asked: "x", path: "/x", entries: [file("/etc/passwd")] }] }),
    "EBADMSG",
    /relative path/,
  );
});

Deno.test("parseReadRequest wants an absolute path and a positive limit", () => {
  assert.deepEqual(parseReadRequest({ path: "/a", offset: 0, limit: 1 }), {
    path: "/a",
    offset: 0,
    limit: 1,
  });
  rejects(() => parseReadRequest({ path: "a", offset: 0, limit: 1 }), "EINVAL", /absolute/);
  rejects(() => parseReadRequest({ path: "/a", offset: 0, limit: 0 }), "EINVAL", /limit/);
});
