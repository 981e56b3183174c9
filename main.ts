/**
 * The one entry point. `main.ts agent ...` runs the agent daemon and
 * `main.ts controller ...` the controller CLI. Built as `dist/agent` or
 * `dist/agent.js` (and the controller likewise), the program takes its mode
 * from the name it was started under, so `dist/agent --server ...` needs no
 * mode word.
 */
const MODES = {
  agent: () => import("./agent/main.ts").then((m) => m.agentMain),
  controller: () => import("./controller/main.ts").then((m) => m.controllerMain),
} as const;
type Mode = keyof typeof MODES;

function modeFromName(): Mode | null {
  const names = [Deno.execPath(), Deno.mainModule];
  for (const n of names) {
    const base = n.slice(n.lastIndexOf("/") + 1).replace(/\.js$/, "");
    if (base === "agent" || base === "controller") return base;
  }
  return null;
}

const USAGE = `usage: main.ts agent [options]        run the node daemon (see: agent --help)
       main.ts controller VERB ...   address agents (see: controller --help)`;

if (import.meta.main) {
  let args = [...Deno.args];
  let mode = modeFromName();
  if (args[0] === "agent" || args[0] === "controller") {
    mode = args[0];
    args = args.slice(1);
  }
  if (mode === null) {
    const asked = args[0] === "--help" || args[0] === "-h";
    if (!asked) {
      const what = args[0] === undefined
        ? "no mode given"
        : `unknown mode ${JSON.stringify(args[0])}`;
      console.error(`tutti: ${what}: expected agent or controller`);
    }
    (asked ? console.log : console.error)(USAGE);
    Deno.exit(asked ? 0 : 2);
  }
  const main = await MODES[mode]();
  Deno.exit(await main(args));
}
