/** Which supervised processes a watch target names, and the refusals when it names none. */
import assert from "node:assert/strict";
import type { ProgramStatus } from "../../protocol/program_messages.ts";
import { resolveTarget } from "../../agent/watch/program_source.ts";

function row(name: string, program: string): ProgramStatus {
  return {
    name,
    program,
    state: "RUNNING",
    pid: 1,
    uptime: 1,
    description: "",
    started: 0,
    stopped: null,
    exitCode: null,
    exitSignal: null,
    spawnerr: null,
  };
}

const ROWS = [row("web:0", "web"), row("web:1", "web"), row("db", "db")];

Deno.test("watch targets: a process, a program's only process, all of a program's", () => {
  assert.deepEqual(resolveTarget(ROWS, "web:1"), ["web:1"]);
  assert.deepEqual(resolveTarget(ROWS, "db"), ["db"]);
  assert.deepEqual(resolveTarget(ROWS, "web"), ["web:0", "web:1"]);
  assert.deepEqual(resolveTarget(ROWS, "web:*"), ["web:0", "web:1"]);
  assert.deepEqual(resolveTarget(ROWS, "db:*"), ["db"]);
});

Deno.test("watch targets: ESRCH says what exists", () => {
  const refused = (target: string, rows: ProgramStatus[], message: string) =>
    assert.throws(() => resolveTarget(rows, target), (e: Error) => {
      assert.equal((e as { code?: string }).code, "ESRCH");
      assert.equal(e.message, message);
      return true;
    });
  refused("web:2", ROWS, "no process web:2 on this host: program web has web:0, web:1");
  refused("db:0", ROWS, "no process db:0 on this host: program db has db");
  refused(
    "api",
    ROWS,
    "no process api on this host, and no program of that name (programs: web, db)",
  );
  refused("api:*", ROWS, "no program api on this host (programs: web, db)");
  refused(
    "api",
    [],
    "no process api on this host, and no program of that name (no supervised programs)",
  );
  const many = Array.from({ length: 12 }, (_, i) => row(`p${i}`, `p${i}`));
  refused(
    "api",
    many,
    "no process api on this host, and no program of that name (programs: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, and 2 more)",
  );
});
