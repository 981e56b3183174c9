/**
 * The output pump measured alone: a supervisor in a process of its own runs
 * a program that writes `TOTAL` bytes to its output file, while this
 * process samples its own resident memory. Prints one JSON line:
 * `{base, peak, code, size, tail, offset}`. Run by supervisor_output_test.ts,
 * so that other tests running in parallel (in the test runner's process)
 * cannot be counted as the pump's memory.
 *
 * usage: deno run -A supervisor_output_fixture.ts DIR TOTAL
 */
import { Supervisor } from "../../agent/supervisor/supervisor.ts";

const [dir, totalText] = Deno.args;
const total = Number(totalText);
const out = `${dir}/big.out`;
const config = `${dir}/programs.yaml`;
Deno.writeTextFileSync(
  config,
  `programs:
  yes:
    cmd: sh -c 'yes | head -c ${total}'
    stdout: ${out}
    starttime: 0
    autorestart: never
`,
);
const { promise: exited, resolve } = Promise.withResolvers<number | null>();
const sup = await Supervisor.open({
  stateDir: `${dir}/state`,
  onEvent: (e) => {
    if (e.type === "state" && e.process === "yes" && e.to === "EXITED") resolve(e.code ?? null);
  },
});
const base = Deno.memoryUsage().rss;
let peak = base;
// Sampling, not synchronisation: the EXITED event ends the wait.
const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 5);
await sup.load({ path: config });
const code = await exited;
clearInterval(sampler);
peak = Math.max(peak, Deno.memoryUsage().rss);
const { data, offset } = sup.tail("yes", "stdout");
const tail = new TextDecoder().decode(data.subarray(data.length - 4));
await sup.shutdown();
console.log(
  JSON.stringify({
    base,
    peak,
    code,
    size: Deno.statSync(out).size,
    tail,
    offset,
    tailBytes: data.length,
  }),
);
