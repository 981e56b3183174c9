import assert from "node:assert/strict";
import {
  agentPermissions,
  controllerPermissions,
  READ_ONLY_VERBS,
  viewerPermissions,
} from "../../protocol/permissions.ts";
import { Subjects, VERBS } from "../../protocol/subjects.ts";
import { renderNatsConfig } from "../../controller/nats_config.ts";

/** NATS subject matching: `*` one token, `>` one or more at the end. */
function allows(patterns: string[], subject: string): boolean {
  const s = subject.split(".");
  return patterns.some((p) => {
    const t = p.split(".");
    for (let i = 0; i < t.length; i++) {
      if (t[i] === ">") return s.length > i;
      if (i >= s.length || (t[i] !== "*" && t[i] !== s[i])) return false;
    }
    return t.length === s.length;
  });
}

const s = new Subjects("lab.exp1");

Deno.test("an agent receives its own and broadcast requests, publishes only its own events", () => {
  const p = agentPermissions(s, "n-1");
  for (const verb of VERBS) {
    assert.ok(allows(p.subscribe, s.host("n-1", verb)), verb);
    assert.ok(allows(p.subscribe, s.all(verb)), verb);
    assert.ok(!allows(p.subscribe, s.host("n-2", verb)), verb);
    assert.ok(!allows(p.publish, s.host("n-2", verb)), verb);
    assert.ok(!allows(p.publish, s.all(verb)), verb);
  }
  for (
    const own of [
      s.proc("n-1", "p7", "exit"),
      s.proc("n-1", "p7", "stdout"),
      s.presence("n-1"),
      s.log("n-1"),
      s.prog("n-1", "web:0", "stderr"),
      s.prog("n-1", "nginx", "stdout"),
      s.watch("n-1", "w1"),
      s.tel("n-1"),
      s.telProcs("n-1"),
      s.reply("Xq81ak", "run", "n-1"),
      s.reply("Xq81ak", "programs", "n-1"),
    ]
  ) {
    assert.ok(allows(p.publish, own), own);
    const other = own.replace("n-1", "n-2");
    assert.notEqual(other, own);
    assert.ok(!allows(p.publish, other), other);
  }
  assert.ok(!allows(p.subscribe, s.proc("n-2", "p7", "stdout")));
  // A run's input is one message for all its hosts: read by agents, sent by none of them.
  assert.ok(allows(p.subscribe, s.stdin("r1")));
  assert.ok(!allows(p.publish, s.stdin("r1")));
  assert.ok(allows(p.publish, s.proc("n-1", "r1", "input")));
  assert.ok(!allows(p.publish, s.proc("n-2", "r1", "input")));
});

Deno.test("an agent answers only on its own name: no reply for another host, none elsewhere", () => {
  const p = agentPermissions(s, "n-1");
  for (
    const forged of [
      s.reply("Xq81ak", "run", "n-2"), // another host's answer
      s.replyTo("Xq81ak", "run"), // the request's own reply subject (the server's status)
      `${s.reply("Xq81ak", "run", "n-2")}.n-1`, // n-2's answer with n-1 after it
      `${s.replyTo("Xq81ak", "n-1")}`, // a kind that looks like a host
      "_INBOX.abc.def", // a client's inbox
      "lab.exp1.reply.n-1",
      "tutti.reply.Xq81ak.run.n-1", // another prefix
    ]
  ) {
    assert.ok(!allows(p.publish, forged), forged);
  }
  assert.ok(!allows(p.subscribe, s.replies("Xq81ak")), "nor read the replies of others");
  assert.ok(!allows(p.subscribe, "_INBOX.abc"));
  // What the agent computes for a request, and only for a reply subject of that shape.
  assert.equal(s.answerOn(s.replyTo("Xq81ak", "run"), "n-1"), s.reply("Xq81ak", "run", "n-1"));
  for (
    const bad of [
      "_INBOX.abc.def",
      "lab.exp1.reply.Xq81ak",
      "lab.exp1.reply.Xq81ak.run.n-2",
      "lab.exp1.reply.*.run",
      "lab.exp1.reply.Xq81ak.>",
      "tutti.reply.Xq81ak.run",
    ]
  ) {
    assert.equal(s.answerOn(bad, "n-1"), null, bad);
  }
});

Deno.test("a controller sends every verb and reads everything; never speaks for an agent", () => {
  const p = controllerPermissions(s);
  for (const verb of VERBS) {
    assert.ok(allows(p.publish, s.host("n-1", verb)));
    assert.ok(allows(p.publish, s.all(verb)));
  }
  assert.ok(allows(p.subscribe, s.proc("n-1", "p", "exit")));
  assert.ok(allows(p.subscribe, s.replies("Xq81ak")));
  assert.ok(!allows(p.publish, s.proc("n-1", "p", "exit")));
  assert.ok(!allows(p.publish, s.reply("Xq81ak", "run", "n-1")));
  assert.ok(!allows(p.publish, s.presence("n-1")));
  assert.ok(!allows(p.subscribe, "tutti.proc.n-1.p.exit"), "another prefix");
  assert.ok(allows(p.publish, s.stdin("r1")), "a run's input");
  assert.ok(!allows(p.publish, "tutti.stdin.r1"), "another prefix");
});

Deno.test("a viewer sends only the read-only verbs and reads events, not requests", () => {
  const p = viewerPermissions(s);
  for (const verb of VERBS) {
    const readOnly = (READ_ONLY_VERBS as readonly string[]).includes(verb);
    assert.equal(allows(p.publish, s.host("n-1", verb)), readOnly, verb);
    assert.equal(allows(p.publish, s.all(verb)), readOnly, verb);
    assert.ok(!allows(p.subscribe, s.host("n-1", verb)), verb);
  }
  for (const verb of ["run", "signal", "shutdown", "programs", "input", "watch"]) {
    assert.ok(!(READ_ONLY_VERBS as readonly string[]).includes(verb), verb);
  }
  assert.ok(allows(p.subscribe, s.proc("n-1", "p", "stdout")));
  assert.ok(allows(p.subscribe, s.tel("n-1")));
  assert.ok(allows(p.subscribe, s.replies("Xq81ak")), "its own replies");
  assert.ok(allows(p.subscribe, s.reply("Xq81ak", "ps", "n-1")));
  assert.ok(!allows(p.publish, s.presence("n-1")));
  assert.ok(!allows(p.publish, s.reply("Xq81ak", "ps", "n-1")));
  assert.ok(!allows(p.publish, s.stdin("r1")), "no input to anyone's run");
  assert.ok(!allows(p.subscribe, s.stdin("r1")), "nor reading it: it is the controller's request");
  assert.ok(allows(p.subscribe, s.proc("n-1", "r1", "input")), "the progress is an event");
});

Deno.test("work queue: agents pull, acknowledge and record; only controllers queue and create", () => {
  const a = agentPermissions(s, "n-1");
  const c = controllerPermissions(s);
  const stream = s.queueStream("sweep");
  const bucket = s.queueBucket("sweep");
  for (
    const subject of [
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.agents`,
      `$JS.ACK.${stream}.agents.1.7.7.1733400000000000000.0`,
      `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.task.t1`,
      `$KV.${bucket}.task.t1`,
      `$JS.API.STREAM.INFO.${stream}`,
    ]
  ) {
    assert.ok(allows(a.publish, subject), subject);
  }
  assert.ok(allows(c.publish, `$KV.${bucket}.config`), "the controller writes config");
  for (
    const subject of [
      s.queueTasks("sweep"),
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.PURGE.${stream}`,
      `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.agents`,
    ]
  ) {
    assert.ok(!allows(a.publish, subject), subject);
    assert.ok(allows(c.publish, subject), subject);
  }
  // A viewer has no JetStream at all: it cannot read a queue, nor change one.
  assert.ok(!allows(viewerPermissions(s).publish, `$KV.${bucket}.task.t1`));
});

Deno.test("the configuration lists each user with its key and its permissions", () => {
  const text = renderNatsConfig([
    { role: "controller", name: "controller", nkey: "UCTL", permissions: controllerPermissions(s) },
    { role: "agent", name: "n-1", nkey: "UN1", permissions: agentPermissions(s, "n-1") },
  ], ["head line"]);
  assert.equal(
    text,
    `# head line
authorization {
  users = [
    # controller: sends requests and run input to every agent, reads everything
    {
      nkey: "UCTL"
      permissions: {
        publish: { allow: ["lab.exp1.host.*.*", "lab.exp1.all.*", "lab.exp1.stdin.*", "lab.exp1.xfer.>", "$JS.API.INFO", "$JS.API.STREAM.INFO.lab_exp1_xfer", "$JS.API.STREAM.CREATE.lab_exp1_xfer", "$JS.API.STREAM.MSG.GET.lab_exp1_xfer", "$JS.API.DIRECT.GET.lab_exp1_xfer", "lab.exp1.queue.*.task", "$JS.API.STREAM.CREATE.*", "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.PURGE.*", "$JS.API.CONSUMER.DURABLE.CREATE.*.agents", "$JS.API.DIRECT.GET.*.>", "$JS.API.STREAM.MSG.GET.*", "$JS.API.CONSUMER.CREATE.*", "$JS.API.CONSUMER.CREATE.*.>", "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.DELETE.*.*", "$JS.FC.*.>", "$KV.*.>"] }
        subscribe: { allow: ["lab.exp1.>", "_INBOX.>"] }
      }
    }
    # agent n-1: its own requests, broadcasts and run input in, its own events and replies out
    {
      nkey: "UN1"
      permissions: {
        publish: { allow: ["lab.exp1.proc.n-1.*.*", "lab.exp1.presence.n-1", "lab.exp1.log.n-1", "lab.exp1.prog.n-1.*.*.*", "lab.exp1.watch.n-1.*", "lab.exp1.tel.n-1", "lab.exp1.tel.n-1.procs", "lab.exp1.reply.*.*.n-1", "$JS.API.DIRECT.GET.lab_exp1_xfer", "$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO.*", "$JS.API.CONSUMER.MSG.NEXT.*.agents", "$JS.ACK.*.agents.>", "$JS.API.DIRECT.GET.*.>", "$JS.API.STREAM.MSG.GET.*", "$JS.API.CONSUMER.CREATE.*", "$JS.API.CONSUMER.CREATE.*.>", "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.DELETE.*.*", "$JS.FC.*.>", "$KV.*.>"] }
        subscribe: { allow: ["lab.exp1.host.n-1.*", "lab.exp1.all.*", "lab.exp1.stdin.*", "lab.exp1.in.n-1.>"] }
      }
    }
  ]
}
`,
  );
});
