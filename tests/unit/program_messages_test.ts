/**
 * The programs protocol: request parsers (valid requests come back typed,
 * bad ones name their field), the process-name ↔ subject-token mapping, and
 * the controller's supervisorctl-style rendering of replies.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  parseFollowRequest,
  parseInputRequest,
  parseProgramsRequest,
  parseTailRequest,
  type ProgramsReply,
  type ProgramStatus,
} from "../../protocol/program_messages.ts";
import { processFromTokens, processTokens, Subjects } from "../../protocol/subjects.ts";
import { actionLines, programsOutcome, statusLines } from "../../controller/render/programs.ts";
import type { HostReply } from "../../controller/events.ts";
import { programsRequest } from "../../controller/programs.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

Deno.test("programs requests: actions, names, apply", () => {
  deepStrictEqual(parseProgramsRequest({ action: "status" }), { action: "status" });
  deepStrictEqual(
    parseProgramsRequest({ action: "start", names: ["web:*", "nginx", "web:0", "all"], ack: true }),
    { action: "start", names: ["web:*", "nginx", "web:0", "all"], ack: true },
  );
  deepStrictEqual(
    parseProgramsRequest({ action: "apply", config: "programs: {}", file: "p.yaml", timeout: 5 }),
    { action: "apply", config: "programs: {}", file: "p.yaml", timeout: 5 },
  );
  // config and file mean something to apply only.
  deepStrictEqual(parseProgramsRequest({ action: "reload", config: "x" }), { action: "reload" });
});

Deno.test("programs requests: each mistake names its field", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{}, /field "action": expected one of status, start, .*, got nothing/],
    [{ action: "update" }, /field "action".*got "update"/],
    [{ action: "start" }, /field "names": start needs at least one name/],
    [{ action: "stop", names: [] }, /field "names": stop needs at least one name/],
    [{ action: "status", names: ["a b"] }, /names\[0\] "a b" is not a program name/],
    [{ action: "status", names: ["web:x"] }, /names\[0\] "web:x"/],
    [{ action: "status", names: "web" }, /field "names": expected an array of strings/],
    [{ action: "apply" }, /field "config": apply needs the YAML text/],
    [{ action: "apply", config: "x", file: "" }, /field "file"/],
    [{ action: "start", names: ["a"], timeout: 0 }, /field "timeout"/],
    [{ action: "status", ack: "yes" }, /field "ack": expected a boolean/],
  ];
  for (const [m, re] of bad) assertTuttiError(() => parseProgramsRequest(m), "EINVAL", re);
});

Deno.test("tail, follow and input requests", () => {
  deepStrictEqual(parseTailRequest({ name: "web:0" }), {
    name: "web:0",
    stream: "stdout",
    bytes: 65536,
  });
  deepStrictEqual(parseTailRequest({ name: "n", stream: "stderr", bytes: 10 }), {
    name: "n",
    stream: "stderr",
    bytes: 10,
  });
  deepStrictEqual(parseFollowRequest({ name: "n", seconds: 15 }), { name: "n", seconds: 15 });
  const data = new Uint8Array([104, 105]);
  deepStrictEqual(parseInputRequest({ name: "n", data }), { name: "n", data });
  deepStrictEqual(parseInputRequest({ name: "n", eof: true }), { name: "n", eof: true });
  assertTuttiError(() => parseTailRequest({ name: "web:*" }), "EINVAL", /not a process name/);
  assertTuttiError(() => parseTailRequest({}), "EINVAL", /field "name".*missing/);
  assertTuttiError(() => parseTailRequest({ name: "n", bytes: 65537 }), "EINVAL", /"bytes"/);
  assertTuttiError(() => parseTailRequest({ name: "n", bytes: 1.5 }), "EINVAL", /"bytes".*integer/);
  assertTuttiError(() => parseTailRequest({ name: "n", stream: "out" }), "EINVAL", /"stream"/);
  assertTuttiError(() => parseFollowRequest({ name: "n" }), "EINVAL", /"seconds".*missing/);
  assertTuttiError(() => parseFollowRequest({ name: "n", seconds: 601 }), "EINVAL", /seconds/);
  assertTuttiError(() => parseInputRequest({ name: "n" }), "EINVAL", /"data"/);
  assertTuttiError(() => parseInputRequest({ name: "n", data: "hi" }), "EINVAL", /byte string/);
  // A terminal size: both or neither, 1 to 65535.
  const size = { name: "n", rows: 50, cols: 132 };
  deepStrictEqual(parseInputRequest(size), size);
  deepStrictEqual(parseInputRequest({ ...size, data }), { ...size, data });
  assertTuttiError(() => parseInputRequest({ name: "n", rows: 50 }), "EINVAL", /"cols".*both/);
  assertTuttiError(() => parseInputRequest({ name: "n", cols: 80 }), "EINVAL", /"rows".*both/);
  assertTuttiError(() => parseInputRequest({ ...size, rows: 0 }), "EINVAL", /"rows"/);
  assertTuttiError(() => parseInputRequest({ ...size, cols: 65536 }), "EINVAL", /"cols"/);
});

Deno.test("process names map to two subject tokens and back", () => {
  const cases: [string, string][] = [
    ["web:0", "web.0"],
    ["web:12", "web.12"],
    ["nginx", "nginx._"],
    ["a_b-c", "a_b-c._"],
    ["web:*", "web.*"],
    ["*", "*.*"],
  ];
  for (const [name, tokens] of cases) strictEqual(processTokens(name), tokens);
  for (const [name, tokens] of cases.slice(0, 4)) {
    const [program, n] = tokens.split(".");
    strictEqual(processFromTokens(program, n), name);
  }
  strictEqual(processFromTokens("web", "x"), null);
  strictEqual(processFromTokens("we:b", "0"), null);
  const s = new Subjects("lab.x");
  strictEqual(s.prog("h1", "web:3", "stderr"), "lab.x.prog.h1.web.3.stderr");
  strictEqual(s.prog("h1", "*", "*"), "lab.x.prog.h1.*.*.*");
  deepStrictEqual(s.parseProg("lab.x.prog.h1.web.3.stderr"), {
    host: "h1",
    process: "web:3",
    stream: "stderr",
  });
  deepStrictEqual(s.parseProg("lab.x.prog.h1.nginx._.stdout")?.process, "nginx");
  strictEqual(s.parseProg("lab.x.prog.h1.web.stdout"), null);
  strictEqual(s.parseProg("lab.x.proc.h1.web.0.stdout"), null);
});

Deno.test("the controller checks a programs request before sending it", () => {
  deepStrictEqual(programsRequest("stop", { names: ["web"] }), {
    action: "stop",
    names: ["web"],
    ack: true,
    timeout: 60,
  });
  deepStrictEqual(programsRequest("status", {}), { action: "status" });
  throws(() => programsRequest("start", {}), /start needs at least one name/);
  throws(() => programsRequest("status", { names: ["a.b"] }), /not a program name/);
  throws(() => programsRequest("apply", {}), /apply needs the configuration/);
});

function row(name: string, state: ProgramStatus["state"], description: string): ProgramStatus {
  return {
    name,
    program: name.split(":")[0],
    state,
    pid: null,
    uptime: null,
    description,
    started: null,
    stopped: null,
    exitCode: null,
    exitSignal: null,
    spawnerr: null,
  };
}

function reply(host: string, over: Partial<ProgramsReply>): HostReply<ProgramsReply> {
  return { host, ok: true, action: "status", results: [], processes: [], config: "", ...over };
}

Deno.test("status lines are supervisorctl's, prefixed by host, aligned across hosts", () => {
  const lines = statusLines([
    reply("g5k-10", { processes: [row("web:0", "FATAL", "Exited too quickly")] }),
    reply("g5k-3", { processes: [row("nginx", "RUNNING", "pid 4121, uptime 0:03:12")] }),
    { host: "g5k-4", ok: false, error: { code: "ENORESPONSE", message: "no answer" } },
  ]);
  deepStrictEqual(lines, [
    `g5k-3:  nginx${" ".repeat(28)}RUNNING   pid 4121, uptime 0:03:12`,
    `g5k-10: web:0${" ".repeat(28)}FATAL     Exited too quickly`,
  ]);
  const long = "p".repeat(40);
  deepStrictEqual(statusLines([reply("h", { processes: [row(long, "STOPPED", "")] })]), [
    `h: ${long}   STOPPED`,
  ]);
});

Deno.test("action lines fold identical results of several hosts", () => {
  const started = { name: "web:0", ok: true, message: "started" };
  const unknown = {
    name: "nope",
    ok: false,
    message: "no such process",
    error: { code: "ESRCH" as const, message: "nope: no such process" },
  };
  const replies = [
    reply("h1", { action: "start", results: [started, unknown] }),
    reply("h2", { action: "start", results: [started] }),
    reply("h3", {
      action: "reload",
      reload: { source: "p.yaml", added: ["a"], changed: [], removed: ["b"], unchanged: [] },
    }),
  ];
  deepStrictEqual(actionLines(replies), [
    "h[1-2]: web:0: started",
    "h1: nope: ERROR (no such process)",
    "h3: p.yaml: added a; removed b",
  ]);
  deepStrictEqual(replies.map((r) => programsOutcome(r).status), ["failed", "ok", "ok"]);
  deepStrictEqual(programsOutcome(replies[0]).error, {
    code: "ESRCH",
    message: "nope: no such process",
  });
});
