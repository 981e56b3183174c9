import { jetStreamWorld } from "./transfer_support.ts";
const { world, close } = await jetStreamWorld();
try {
  const names = Array.from({ length: 20 }, (_, i) => `qb-${i + 1}`);
  await world.agentsNamed(names);
  const list = `${world.dir}/tasks`;
  await Deno.writeTextFile(list, Array.from({ length: 10000 }, (_, i) => `${i + 1}\n`).join(""));
  const t0 = Date.now();
  const r = await world.controller(["queue", "submit", "--hosts", "qb-[1-20]", "--slots", "4", "--name", "zq", "--tasks", list, "--", "true"]);
  console.log("took", Date.now() - t0, "code", r.code, r.stderr.slice(0, 600));
  const res = await world.controller(["queue", "results", "zq", "--json"]);
  const tasks = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const bad = tasks.filter((t) => t.state !== "done");
  console.log("bad", bad.length, JSON.stringify(bad.slice(0, 2)));
  for (const b of bad.slice(0, 3)) {
    const l = await world.controller(["logs", b.host, b.proc, "--stream", "stderr"]);
    console.log("stderr", b.host, b.proc, JSON.stringify(l.stdout), l.stderr);
  }
} finally {
  await close();
}
