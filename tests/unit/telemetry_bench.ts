/**
 * Cost of one telemetry tick: `deno bench -A tests/unit/telemetry_bench.ts`.
 * The sampler's reads are synchronous, so wall time per iteration is CPU
 * time of the agent (plus the kernel's time generating the /proc files).
 */
import { Sampler } from "../../agent/telemetry/sampler.ts";

const sampler = new Sampler();
sampler.sample();

// Four managed processes to sample (idle ones: the cost of reading does not depend on their load).
const sleepers = Array.from(
  { length: 4 },
  () => new Deno.Command("sleep", { args: ["600"], stdout: "null", stderr: "null" }).spawn(),
);
const procs = sleepers.map((c, i) => ({ id: `p${i}`, pid: c.pid }));
sampler.sampleProcs(procs);

Deno.bench("machine sample", { group: "tick", baseline: true }, () => {
  sampler.sample();
});

Deno.bench("4 managed processes", { group: "tick" }, () => {
  sampler.sampleProcs(procs);
});

Deno.bench("machine + 4 processes (one tick at 1 Hz)", { group: "tick" }, () => {
  sampler.sample();
  sampler.sampleProcs(procs);
});

globalThis.addEventListener("unload", () => {
  for (const c of sleepers) c.kill("SIGKILL");
  sampler.close();
});
