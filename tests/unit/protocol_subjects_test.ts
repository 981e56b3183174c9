// Subjects: the one place that spells them, names that must be single tokens, prefixes, and
// the parsing of process-event subjects.
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  checkPrefix,
  checkToken,
  DEFAULT_PREFIX,
  isToken,
  Subjects,
} from "../../protocol/subjects.ts";
import { assertTuttiError } from "./assert_tutti_error.ts";

Deno.test("subjects: tokens are 1-128 of A-Z a-z 0-9 _ -", () => {
  for (const ok of ["a", "g5k-12", "NODE_01", "-", "_", "x".repeat(128), "0"]) {
    strictEqual(isToken(ok), true, ok);
    strictEqual(checkToken("host name", ok), ok);
  }
  for (
    const bad of ["", "a.b", "a b", "*", ">", "g5k-*", "x".repeat(129), "é", "a\n", "a/b", "a\tb"]
  ) {
    strictEqual(isToken(bad), false, JSON.stringify(bad));
    assertTuttiError(
      () => checkToken("host name", bad),
      "EINVAL",
      "host name",
      JSON.stringify(bad),
    );
  }
});

Deno.test("subjects: prefixes are dot-separated tokens", () => {
  for (const ok of ["tutti", "lab.exp1", "a.b.c", "exp-2_x"]) strictEqual(checkPrefix(ok), ok);
  for (const bad of ["", ".", "a.", ".a", "a..b", "a.*", "a.>", "a b", "tutti.>"]) {
    assertTuttiError(() => checkPrefix(bad), "EINVAL", "prefix", JSON.stringify(bad));
  }
  throws(() => new Subjects("bad prefix"), { code: "EINVAL" });
});

Deno.test("subjects: the default prefix spells every subject of PROTOCOL.md", () => {
  const s = new Subjects();
  strictEqual(s.prefix, DEFAULT_PREFIX);
  strictEqual(DEFAULT_PREFIX, "tutti");
  strictEqual(s.host("g5k-1", "run"), "tutti.host.g5k-1.run");
  strictEqual(s.hostAll("g5k-1"), "tutti.host.g5k-1.*");
  strictEqual(s.all("ping"), "tutti.all.ping");
  strictEqual(s.allAll(), "tutti.all.*");
  strictEqual(s.proc("h", "p", "stdout"), "tutti.proc.h.p.stdout");
  strictEqual(s.proc("*", "*", ">"), "tutti.proc.*.*.>");
  strictEqual(s.presence("h"), "tutti.presence.h");
  strictEqual(s.log("h"), "tutti.log.h");
  strictEqual(s.watch("h", "w1"), "tutti.watch.h.w1");
  strictEqual(s.tel("h"), "tutti.tel.h");
  strictEqual(s.telProcs("h"), "tutti.tel.h.procs");
  strictEqual(s.replyTo("Zk3", "run"), "tutti.reply.Zk3.run");
  strictEqual(s.reply("Zk3", "run", "h"), "tutti.reply.Zk3.run.h");
  strictEqual(s.replies("Zk3"), "tutti.reply.Zk3.>");
});

Deno.test("subjects: a multi-token prefix is used as given", () => {
  const s = new Subjects("lab.exp1");
  strictEqual(s.host("n1", "ps"), "lab.exp1.host.n1.ps");
  strictEqual(s.all("run"), "lab.exp1.all.run");
  strictEqual(s.proc("n1", "p9", "exit"), "lab.exp1.proc.n1.p9.exit");
  strictEqual(s.presence("*"), "lab.exp1.presence.*");
});

Deno.test("subjects: verbOf takes the last token", () => {
  const s = new Subjects("lab.exp1");
  strictEqual(s.verbOf(s.host("n1", "signal")), "signal");
  strictEqual(s.verbOf(s.all("logs")), "logs");
  strictEqual(s.verbOf("nodots"), "nodots");
});

Deno.test("subjects: parseProc reads host, proc and event of its own prefix only", () => {
  const s = new Subjects();
  deepStrictEqual(s.parseProc("tutti.proc.g5k-1.p42.stdout"), {
    host: "g5k-1",
    proc: "p42",
    event: "stdout",
  });
  deepStrictEqual(s.parseProc(s.proc("h", "p", "exit")), { host: "h", proc: "p", event: "exit" });
  for (
    const other of [
      "tutti.proc.h.p", // too short
      "tutti.proc.h.p.exit.more", // too long
      "tutti.presence.h",
      "other.proc.h.p.exit",
      "tutti.procx.h.p.exit",
      "xtutti.proc.h.p.exit",
      "",
    ]
  ) {
    strictEqual(s.parseProc(other), null, other);
  }
  const lab = new Subjects("lab.exp1");
  deepStrictEqual(lab.parseProc("lab.exp1.proc.n.p.started"), {
    host: "n",
    proc: "p",
    event: "started",
  });
  strictEqual(lab.parseProc("tutti.proc.n.p.started"), null);
  strictEqual(lab.parseProc("lab.exp2.proc.n.p.started"), null);
});

Deno.test("subjects: an agent answers on the reply subject with its name last, nowhere else", () => {
  const s = new Subjects("lab.exp1");
  strictEqual(s.answerOn("lab.exp1.reply.Zk3.ps", "n-1"), "lab.exp1.reply.Zk3.ps.n-1");
  strictEqual(s.answerOn("lab.exp1.reply.Zk3.7", "n-1"), "lab.exp1.reply.Zk3.7.n-1");
  for (
    const other of [
      "_INBOX.Zk3.ps", // a client's inbox: the name would not be in the subject
      "lab.exp1.reply.Zk3", // no kind
      "lab.exp1.reply.Zk3.ps.n-2", // already someone's answer
      "lab.exp1.reply.Zk3.*", // wildcards and non-token characters
      "lab.exp1.reply.Zk3.>",
      "lab.exp1.reply.Z k.ps",
      "lab.exp1.reply..ps",
      "lab.exp1.reply.Zk3.",
      "tutti.reply.Zk3.ps", // another prefix
      "lab.exp2.reply.Zk3.ps",
      "",
    ]
  ) {
    strictEqual(s.answerOn(other, "n-1"), null, other);
  }
});

Deno.test("subjects: parseReply reads kind and host of one operation's replies only", () => {
  const s = new Subjects();
  deepStrictEqual(s.parseReply("tutti.reply.Zk3.run.g5k-1", "Zk3"), { kind: "run", host: "g5k-1" });
  // The request's own reply subject: where the server's "no responders" status comes.
  deepStrictEqual(s.parseReply("tutti.reply.Zk3.run", "Zk3"), { kind: "run", host: null });
  for (
    const other of [
      "tutti.reply.Zk3.run.g5k-1.x", // too long: no host is the last of several tokens
      "tutti.reply.Zk4.run.g5k-1", // another operation
      "tutti.reply.Zk3x.run.h",
      "tutti.reply.Zk3",
      "tutti.proc.h.p.exit",
      "other.reply.Zk3.run.h",
    ]
  ) {
    strictEqual(s.parseReply(other, "Zk3"), null, other);
  }
});
