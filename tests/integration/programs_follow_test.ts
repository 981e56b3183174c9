/**
 * Output and input of supervised programs through the controller library:
 * nothing is published while nobody follows, a follow continues the tail
 * without a byte missing or repeated, `attach` forwards input and reports
 * the process's state changes, and live output has its documented subject
 * (`P.prog.<host>.<program>.<n>.<stream>`).
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { Msg } from "@nats-io/transport-node";
import { Controller, type ProgramOutputEvent, TuttiError } from "../../controller/mod.ts";
import { until, World } from "./harness.ts";
import { closeWorld, supervisingAgent, writeConfig } from "./programs_support.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function connect(world: World): Promise<Controller> {
  return Controller.connect({
    servers: [world.broker.url],
    prefix: world.prefix,
    stateDir: false,
    ackTimeoutMs: 3000,
  });
}

const CONFIG = `programs:
  counter:
    cmd: sh -c 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.02; done'
    starttime: 0.2
    stoptime: 1
  echo:
    cmd: sh -c 'while read l; do echo "got $l"; done; echo eof; sleep 0.5'
    numprocs: 2
    starttime: 0.2
    stoptime: 1
`;

Deno.test(
  "nothing is published until someone follows; a follow continues the tail exactly",
  opts,
  async () => {
    const world = await World.create();
    let c: Controller | undefined;
    try {
      const live: Msg[] = [];
      const sub = world.nc.subscribe(`${world.prefix}.prog.>`, {
        callback: (_e, m) => void live.push(m),
      });
      await world.nc.flush();
      const { log } = await supervisingAgent(world, "h1", writeConfig(world, CONFIG));
      await log.reached("counter", "RUNNING");
      c = await connect(world);
      // Each tail reply comes after whatever the agent published before it.
      await until("50 lines of output", async () => {
        const text = await collect(c!.programTail("h1", "counter"));
        return text.split("\n").length > 50;
      });
      strictEqual(live.length, 0, "no live output while nobody follows");

      const follow = c.programTail("h1", "counter", { follow: true, bytes: 100 });
      let text = "";
      let next: number | null = null;
      for await (const e of follow) {
        ok(e.type !== "gap", JSON.stringify(e));
        if (e.type !== "output") continue;
        if (next !== null) strictEqual(e.offset, next, "chunks follow each other");
        next = e.offset + e.data.length;
        text += new TextDecoder().decode(e.data);
        if (text.split("\n").length > 60) await follow.close();
      }
      // At most 100 bytes of the past, cut anywhere, then every line in order.
      const lines = text.split("\n").slice(1, -1);
      const numbers = lines.map((l) => Number(l.replace("line ", "")));
      for (let i = 1; i < numbers.length; i++) strictEqual(numbers[i], numbers[i - 1] + 1);
      ok(live.length > 0, "followed output was published");
      deepStrictEqual(
        [...new Set(live.map((m) => m.subject))],
        [`${world.prefix}.prog.h1.counter._.stdout`],
      );
      strictEqual(live[0].headers?.get("Tutti-Proc"), "counter");
      strictEqual(live[0].headers?.get("Tutti-Stream"), "stdout");
      ok(Number.isSafeInteger(Number(live[0].headers?.get("Tutti-Offset"))));
      sub.unsubscribe();

      let refused: unknown = null;
      await collect(c.programTail("h1", "nope")).catch((e) => refused = e);
      ok(refused instanceof TuttiError && refused.code === "ESRCH", String(refused));
      log.close();
    } finally {
      await c?.close();
      await closeWorld(world);
    }
  },
);

Deno.test("attach forwards input and reports the process's state changes", opts, async () => {
  const world = await World.create();
  let c: Controller | undefined;
  try {
    const raw: Msg[] = [];
    const sub = world.nc.subscribe(`${world.prefix}.prog.h1.echo.1.stdout`, {
      callback: (_e, m) => void raw.push(m),
    });
    await world.nc.flush();
    const { log } = await supervisingAgent(world, "h1", writeConfig(world, CONFIG));
    await log.reached("echo:1", "RUNNING");
    c = await connect(world);
    const a = c.attach("h1", "echo:1");
    await a.ready;
    await a.write("hello\n");
    await a.write(new TextEncoder().encode("world\n"));
    await a.closeInput();
    const seen: ProgramOutputEvent[] = [];
    let text = "";
    for await (const e of a) {
      seen.push(e);
      if (e.type === "output") text += new TextDecoder().decode(e.data);
      if (e.type === "event" && e.event.type === "state" && e.event.to === "EXITED") {
        await a.detach();
      }
    }
    strictEqual(text, "got hello\ngot world\neof\n");
    const exited = seen.find((e) => e.type === "event" && e.event.type === "state");
    ok(exited && exited.type === "event" && exited.event.type === "state");
    strictEqual(exited.event.process, "echo:1");
    strictEqual(exited.event.expected, true);
    // The raw subject of echo:1 carried the same bytes; echo:0 is untouched.
    strictEqual(raw.map((m) => new TextDecoder().decode(m.data)).join(""), text);
    const status = await c.programs("status", { hosts: "h1", names: ["echo"] }).done;
    deepStrictEqual(
      status.flatMap((r) => r.ok ? r.processes.map((p) => `${p.name}=${p.state}`) : []),
      ["echo:0=RUNNING", "echo:1=EXITED"],
    );

    // Input to a process that no longer runs is refused.
    const late = c.attach("h1", "echo:1");
    let refused: unknown = null;
    await late.write("late\n").catch((e) => refused = e);
    ok(refused instanceof TuttiError && refused.code === "ESRCH", String(refused));
    await late.detach();
    sub.unsubscribe();
    log.close();
  } finally {
    await c?.close();
    await closeWorld(world);
  }
});

async function collect(tail: AsyncIterable<ProgramOutputEvent>): Promise<string> {
  let text = "";
  for await (const e of tail) if (e.type === "output") text += new TextDecoder().decode(e.data);
  return text;
}
