/**
 * The benchmark's TakTuk and ansible peers exit 0 when hosts fail, so their
 * round only counts when every host's success line is read: the lines
 * below are what taktuk 3.7 and ansible-core 2.14 print, successes and
 * failures. And `--peers` takes both by name.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { ansibleAnswered, taktukAnswered } from "../../bench/g5k_peers.ts";
import { parseBenchOptions } from "../../bench/options.ts";
import { UsageError } from "../../protocol/cli/usage_error.ts";

Deno.test("taktuk: a host answered when its command exited 0, whatever its rank", () => {
  const lines = [
    "b-4-4: true (17436): status > Exited with status 0",
    "b-17--1: true (30550): status > Exited with status 0",
    "b-3-3: true (17437): status > Exited with status 1",
    "b-5: b-13 (17697): connector > tuttibench@127.0.0.1: Permission denied (publickey).",
    "b-5: b-13 (17697): state > Connection failed",
    "b-2-2: true (17435): output > b-9-9: true (1): status > Exited with status 0",
  ];
  deepStrictEqual(lines.map(taktukAnswered), [
    "b-4",
    "b-17",
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

Deno.test("ansible: a host answered when it reports CHANGED with rc=0", () => {
  const lines = [
    "b-6 | CHANGED | rc=0 >>",
    "b-12 | CHANGED | rc=0 >>",
    "b-7 | FAILED | rc=1 >>",
    "b-8 | UNREACHABLE! => {",
    "",
  ];
  deepStrictEqual(lines.map(ansibleAnswered), ["b-6", "b-12", undefined, undefined, undefined]);
});

Deno.test("--peers takes taktuk and ansible; quick mode keeps parallel ssh alone", () => {
  deepStrictEqual(parseBenchOptions(["--peers", "taktuk,ansible"]).peers, ["taktuk", "ansible"]);
  deepStrictEqual(parseBenchOptions(["--quick"]).peers, ["ssh"]);
  strictEqual(parseBenchOptions([]).peers.length, 5);
  throws(() => parseBenchOptions(["--peers", "kadeploy"]), (e) => {
    return e instanceof UsageError && /taktuk, ansible/.test(e.message);
  });
});
