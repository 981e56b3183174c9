/**
 * `controller plan` as a user runs it: Ctrl-C in the middle (commands under
 * way killed, waits ended, components cancelled, what runs left for `plan
 * down`), a record of each operation that `record show` and `record diff`
 * read, and an alert for a failed step sent to a real local webhook.
 */
import assert from "node:assert/strict";
import { jsonLines, World } from "./harness.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test(
  "Ctrl-C: steps under way killed, waits ended, the rest cancelled; down cleans up",
  opts,
  async () => {
    const world = await World.create();
    try {
      await world.agentsNamed(["ct-1", "ct-2"]);
      const file = `${world.dir}/slow.yaml`;
      await Deno.writeTextFile(
        file,
        `name: slow
components:
  svc:
    hosts: ct-1
    steps: [{run: "echo up; exec sleep 1000", name: serve, detach: true}]
    ready: {file: ${world.dir}/never}
  long:
    hosts: ct-2
    steps: [{run: "echo working; exec sleep 1000", name: work}]
  after_svc:
    hosts: ct-2
    after: [svc]
    steps: [{run: "true"}]
`,
      );
      const ctl = world.spawnController(["plan", "up", file, "--json"]);
      // Both under way: svc waits for its readiness, long's command runs.
      await ctl.waitFor("svc started and long running", (out) => {
        const events = jsonLines<
          {
            type: string;
            component?: string;
            status?: string;
            record?: { step: string; status: string };
          }
        >(out);
        return events.some((e) => e.type === "readiness" && e.component === "svc") &&
          events.some((e) =>
            e.type === "step" && e.record?.step === "work" && e.record.status === "running"
          );
      });
      ctl.proc.kill("SIGINT");
      const r = await ctl.result(30_000);
      assert.equal(r.code, 1, r.stderr);
      const events = jsonLines<Record<string, unknown>>(r.stdout);
      const summary = events.at(-1) as {
        type: string;
        components: {
          name: string;
          status: string;
          failure?: { step: string; error: { code: string } };
        }[];
      };
      assert.equal(summary.type, "summary");
      const status = Object.fromEntries(summary.components.map((x) => [x.name, x.status]));
      assert.deepEqual(status, { svc: "cancelled", long: "cancelled", after_svc: "cancelled" });
      const svc = summary.components.find((x) => x.name === "svc")!;
      assert.equal(svc.failure?.step, "ready");
      assert.equal(svc.failure?.error.code, "ECANCELED");
      // long's command was killed on its host; svc's service still runs (down is for that).
      const ps = jsonLines<{ host: string; id: string; state: string }>(
        (await world.controller(["ps", "--hosts", "ct-[1-2]", "--all", "--json"])).stdout,
      );
      const work = ps.find((p) => p.id.startsWith("slow-long-work-"));
      assert.ok(work && work.state !== "running", JSON.stringify(ps));
      const serve = ps.find((p) => p.id.startsWith("slow-svc-serve-"));
      assert.equal(serve?.state, "running");
      const down = await world.controller(["plan", "down", "slow"]);
      assert.equal(down.code, 0, down.stderr);
      const after = jsonLines<{ id: string; state: string }>(
        (await world.controller(["ps", "--hosts", "ct-1", "--json"])).stdout,
      );
      assert.equal(after.filter((p) => p.id.startsWith("slow-")).length, 0, JSON.stringify(after));
    } finally {
      await world.close();
    }
  },
);

Deno.test(
  "records of plan operations, record show and diff; a failed step alerts a webhook",
  opts,
  async () => {
    const world = await World.create();
    const alerts: Record<string, unknown>[] = [];
    const got = Promise.withResolvers<void>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        alerts.push(await req.json());
        got.resolve();
        return new Response("ok");
      },
    );
    try {
      await world.agentsNamed(["rc-1", "rc-2"]);
      const file = `${world.dir}/rec.yaml`;
      const text = (code: number) =>
        `name: rec
components:
  prep:
    hosts: rc-[1-2]
    steps: [{run: "true", name: setup}]
  check:
    hosts: rc-[1-2]
    after: {prep: completed}
    steps: [{run: '[ "$TUTTI_HOST" = rc-2 ] && exit ${code}; exit 0', name: verify}]
`;
      await Deno.writeTextFile(file, text(4));
      const records = `${world.dir}/records`;
      const url = `http://127.0.0.1:${server.addr.port}/alert`;
      const first = await world.controller([
        "plan",
        "up",
        file,
        "--record",
        records,
        "--alert-webhook",
        url,
      ]);
      assert.equal(first.code, 1, first.stderr);
      const path1 = /record: (\S+)/.exec(first.stderr)![1];
      await got.promise;
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].kind, "failed");
      assert.equal(alerts[0].plan, "rec");
      assert.equal(alerts[0].component, "check");
      assert.equal(alerts[0].step, "verify");
      assert.equal(alerts[0].host, "rc-2");
      assert.equal((alerts[0].error as { code: string }).code, "EEXIT");

      const show = await world.controller(["record", "show", path1]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^plan rec-up-\w+: FAILED, /);
      assert.match(show.stdout, /plan: rec up \(.*rec\.yaml\): prep completed, check failed/);
      assert.match(show.stdout, /failed: check step verify on rc-2: EEXIT exited with code 4/);
      assert.match(show.stdout, /check\.verify +rc-2 +failed/);
      const record = JSON.parse(await Deno.readTextFile(path1));
      assert.equal(record.kind, "plan");
      assert.deepEqual(record.facts.map((f: { host: string }) => f.host), ["rc-1", "rc-2"]);
      assert.match(record.plan.gantt, /^<svg /);
      assert.deepEqual(record.plan.definitions.map((d: { name: string }) => d.name), [
        "prep",
        "check",
      ]);

      // Fixed: apply redoes check; its record differs from the first by that step's outcome.
      await Deno.writeTextFile(file, text(0));
      const second = await world.controller(["plan", "apply", file, "--record", records]);
      assert.equal(second.code, 0, second.stderr);
      const path2 = /record: (\S+)/.exec(second.stderr)![1];
      const diff = await world.controller(["record", "diff", path1, path2]);
      assert.equal(diff.code, 1, diff.stderr);
      assert.match(diff.stdout, /rc-2\/check\.verify.*failed.*ok/);
      assert.equal(alerts.length, 1);
    } finally {
      await server.shutdown();
      await world.close();
    }
  },
);
