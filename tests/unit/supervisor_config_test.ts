/**
 * The programs file: defaults, every key, supervisord's umask, and errors
 * that name the file, the line and the key, all of them at once.
 */
import { deepStrictEqual, fail, ok, strictEqual, throws } from "node:assert/strict";
import { splitCommand } from "../../agent/supervisor/command_line.ts";
import {
  type ConfigContext,
  ConfigError,
  parseConfig,
  type SupervisorConfig,
} from "../../agent/supervisor/config.ts";
import { expandProcesses } from "../../agent/supervisor/diff.ts";

const PASSWD = `root:x:0:0:root:/root:/bin/bash
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;

const CTX: ConfigContext = {
  source: "programs.yaml",
  baseDir: "/etc/tutti",
  uid: 0,
  passwd: PASSWD,
};

function parse(text: string, ctx: Partial<ConfigContext> = {}): SupervisorConfig {
  return parseConfig(text, { ...CTX, ...ctx });
}

/** The message lines of the ConfigError `text` raises. */
function problems(text: string, ctx: Partial<ConfigContext> = {}): string[] {
  try {
    parse(text, ctx);
  } catch (e) {
    if (!(e instanceof ConfigError)) fail(`expected a ConfigError, got ${e}`);
    return e.message.split("\n");
  }
  fail("expected a ConfigError, the file was accepted");
}

Deno.test("a program with only cmd gets supervisord's defaults", () => {
  const [p] = parse("programs:\n  web:\n    cmd: ./server --port 8080\n").programs;
  deepStrictEqual(p, {
    name: "web",
    cmd: "./server --port 8080",
    argv: ["./server", "--port", "8080"],
    numprocs: 1,
    umask: null,
    workingdir: null,
    autostart: true,
    autorestart: "unexpected",
    exitcodes: [0],
    startretries: 3,
    starttime: 1,
    stopsignal: "SIGTERM",
    stoptime: 10,
    stdout: null,
    stderr: null,
    env: {},
    user: null,
    tty: false,
  });
});

Deno.test("every key of the issue's example is read", () => {
  const [p] = parse(`
programs:
  nginx:
    cmd: "/usr/local/bin/nginx -c /etc/nginx/test.conf"
    numprocs: 1
    umask: 022
    workingdir: /tmp
    autostart: true
    autorestart: unexpected   # always | never | unexpected
    exitcodes: [0, 2]         # or a single number
    startretries: 3
    starttime: 5              # seconds running before it counts as started
    stopsignal: TERM
    stoptime: 10              # seconds after the stop signal before SIGKILL
    stdout: /tmp/nginx.stdout # a path, or discard
    stderr: /tmp/nginx.stderr
    env: {STARTED_BY: tutti, ANSWER: 42}
    user: www-data
`).programs;
  deepStrictEqual(p.argv, ["/usr/local/bin/nginx", "-c", "/etc/nginx/test.conf"]);
  strictEqual(p.umask, 0o022);
  strictEqual(p.workingdir, "/tmp");
  deepStrictEqual(p.exitcodes, [0, 2]);
  strictEqual(p.starttime, 5);
  strictEqual(p.stopsignal, "SIGTERM");
  strictEqual(p.stdout, "/tmp/nginx.stdout");
  deepStrictEqual(p.env, { STARTED_BY: "tutti", ANSWER: "42" });
  deepStrictEqual(p.user, { name: "www-data", uid: 33, gid: 33, home: "/var/www" });
});

Deno.test("umask is octal whatever its YAML form, as supervisord reads it", () => {
  for (
    const [written, value] of [["022", 0o22], ["22", 0o22], ["0o22", 0o22], ['"027"', 0o27], [
      "0",
      0,
    ], ["777", 0o777]] as const
  ) {
    const [p] = parse(`programs:\n  a:\n    cmd: x\n    umask: ${written}\n`).programs;
    strictEqual(p.umask, value, written);
  }
  deepStrictEqual(problems("programs:\n  a:\n    cmd: x\n    umask: 089\n"), [
    "programs.yaml:4: programs.a.umask: expected an octal umask such as 022, got 089",
  ]);
});

Deno.test("other forms: single exitcode, list cmd, numeric signal, decimals, relative paths, discard", () => {
  const base = Deno.makeTempDirSync();
  Deno.mkdirSync(`${base}/run`);
  Deno.mkdirSync(`${base}/logs`);
  const [p] = parse(
    `
programs:
  a:
    cmd: [/bin/echo, "two words"]
    exitcodes: 3
    stopsignal: 9
    starttime: 0.25
    workingdir: run
    stdout: discard
    stderr: logs/a.err
    user: 65534
`,
    { baseDir: base },
  ).programs;
  deepStrictEqual(p.argv, ["/bin/echo", "two words"]);
  deepStrictEqual(p.exitcodes, [3]);
  strictEqual(p.stopsignal, "SIGKILL");
  strictEqual(p.starttime, 0.25);
  strictEqual(p.workingdir, `${base}/run`);
  strictEqual(p.stdout, "discard");
  strictEqual(p.stderr, `${base}/logs/a.err`);
  strictEqual(p.user?.name, "nobody");
  deepStrictEqual(
    problems(
      "programs:\n  a:\n    cmd: x\n    workingdir: nope\n    stdout: run\n    stderr: no/such.err\n",
      { baseDir: base },
    ),
    [
      `programs.yaml:4: programs.a.workingdir: ${base}/nope: no such directory`,
      `programs.yaml:5: programs.a.stdout: ${base}/run is a directory`,
      `programs.yaml:6: programs.a.stderr: ${base}/no: no such directory`,
    ],
  );
  Deno.removeSync(base, { recursive: true });
});

Deno.test("an empty programs map is no programs; a file without programs is an error", () => {
  deepStrictEqual(parse("programs: {}\n").programs, []);
  deepStrictEqual(parse("programs:\n").programs, []);
  deepStrictEqual(problems(""), [
    "programs.yaml:1: expected a map with the key programs, got an empty file",
  ]);
  deepStrictEqual(problems("- a\n- b\n"), [
    "programs.yaml:1: expected a map with the key programs, got a list",
  ]);
});

Deno.test("errors name the file, the line and the key, all of them at once", () => {
  deepStrictEqual(
    problems(`programs:
  nginx:
    cmd: nginx
    numprocs: 0
    autostart: yes
    exitcodes: [0, 300]
    autorestart: sometimes
    stopsignal: BOGUS
    startretries: -1
    starttime: "5"
    autorestrat: always
    env: {A: [1]}
  bad.name:
    cmd: x
  nocmd:
    autostart: false
  quote:
    cmd: "echo 'unclosed"
extra: 1
`),
    [
      "programs.yaml:4: programs.nginx.numprocs: expected a whole number from 1 to 10000, got 0",
      'programs.yaml:5: programs.nginx.autostart: expected true or false, got "yes"',
      "programs.yaml:6: programs.nginx.exitcodes: expected an exit code from 0 to 255 or a list of them, got 300",
      'programs.yaml:7: programs.nginx.autorestart: expected always, never or unexpected, got "sometimes"',
      'programs.yaml:8: programs.nginx.stopsignal: expected a signal name such as TERM, got "BOGUS"',
      "programs.yaml:9: programs.nginx.startretries: expected a whole number from 0 to 1000, got -1",
      'programs.yaml:10: programs.nginx.starttime: expected a number of seconds from 0 to 86400, got "5"',
      "programs.yaml:11: programs.nginx.autorestrat: unknown key (did you mean autorestart?)",
      "programs.yaml:12: programs.nginx.env: A: expected a string or a number, got a list",
      'programs.yaml:13: programs.bad.name: program name "bad.name" is not valid: use 1-128 characters from A-Z a-z 0-9 _ -',
      "programs.yaml:15: programs.nocmd: cmd is missing",
      `programs.yaml:18: programs.quote.cmd: cannot split "echo 'unclosed": no closing quotation (' at column 6)`,
      "programs.yaml:19: extra: unknown key (the file has only programs)",
    ],
  );
});

Deno.test("a YAML syntax error names its line", () => {
  const lines = problems("programs:\n  a:\n    cmd: x\n  a:\n    cmd: y\n");
  strictEqual(lines.length, 1);
  ok(lines[0].startsWith("programs.yaml:4: YAML syntax: Map keys must be unique"), lines[0]);
  const flow = problems("programs:\n  a: {cmd: [x\n");
  ok(flow.every((l) => /^programs\.yaml:\d+: YAML syntax: /.test(l)), flow.join("\n"));
});

Deno.test("user: unknown users are errors; switching needs root (EPERM)", () => {
  deepStrictEqual(problems("programs:\n  a:\n    cmd: x\n    user: ghost\n"), [
    'programs.yaml:4: programs.a.user: no user "ghost" in /etc/passwd',
  ]);
  const text = "programs:\n  a:\n    cmd: x\n    user: www-data\n";
  try {
    parse(text, { uid: 1000 });
    fail("accepted");
  } catch (e) {
    ok(e instanceof ConfigError);
    strictEqual(e.code, "EPERM");
    strictEqual(
      e.message,
      "programs.yaml:4: programs.a.user: cannot switch to user www-data: the agent does not run as root (it runs as uid 1000)",
    );
  }
  // Naming the user the agent already is needs no switch.
  strictEqual(parse(text, { uid: 33 }).programs[0].user?.uid, 33);
});

Deno.test("numprocs N gives prog:0 .. prog:N-1; one process keeps the bare name", () => {
  const config = parse(`
programs:
  web:
    cmd: server
    numprocs: 3
  db:
    cmd: postgres
    stdout: discard
`);
  const specs = expandProcesses(config, "/state");
  deepStrictEqual(specs.map((s) => [s.name, s.index, s.stdoutPath, s.stderrPath]), [
    ["web:0", 0, "/state/programs/web.0.stdout", "/state/programs/web.0.stderr"],
    ["web:1", 1, "/state/programs/web.1.stdout", "/state/programs/web.1.stderr"],
    ["web:2", 2, "/state/programs/web.2.stdout", "/state/programs/web.2.stderr"],
    ["db", 0, null, "/state/programs/db.stderr"],
  ]);
});

Deno.test("cmd is split like shlex.split: quotes, escapes, no shell", () => {
  const cases: [string, string[]][] = [
    ["a b  c", ["a", "b", "c"]],
    [`sh -c 'echo "$HOME"; exit 2'`, ["sh", "-c", `echo "$HOME"; exit 2`]],
    [`a "b c" d`, ["a", "b c", "d"]],
    [`"a\\"b" 'c\\d'`, ['a"b', "c\\d"]],
    [`a\\ b`, ["a b"]],
    [`x""y ''`, ["xy", ""]],
    [`  `, []],
    [`$HOME *.txt`, ["$HOME", "*.txt"]],
  ];
  for (const [input, words] of cases) deepStrictEqual(splitCommand(input), words, input);
  throws(() => splitCommand(`"open`), /no closing quotation/);
  throws(() => splitCommand(`a\\`), /no escaped character/);
});
