#!/usr/bin/env bash
# The README's demo: a local nats-server on a free port, three agents (demo-1..3), and a few
# controller fan-outs. Installs what it needs (scripts/env.sh), cleans up everything on exit.
# `bash scripts/demo.sh plan` runs the example plan (examples/kv) on five agents instead.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
deno install --quiet >/dev/null 2>&1 || deno install
bash compile.sh --bundle-only >/dev/null

work=$(mktemp -d -t tutti-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(deno eval 'const l = Deno.listen({hostname: "127.0.0.1", port: 0}); console.log(l.addr.port); l.close()')
export NATS_URL="nats://127.0.0.1:$port"
export TUTTI_STATE_DIR="$work/controller"
ctl() { deno run -A --no-config dist/controller.js "$@"; }

if [ "${1:-}" = plan ]; then
  # The plan puts files on the nodes: the broker needs JetStream.
  nats-server -a 127.0.0.1 -p "$port" -js -sd "$work/js" >"$work/nats.log" 2>&1 &
  pids+=($!)
  cp -r examples/kv "$work/kv"
  for i in 1 2 3 4 5; do
    deno run -A --no-config dist/agent.js --name "kv-$i" --state-dir "$work/agent-$i" \
      2>"$work/agent-$i.log" &
    pids+=($!)
  done
  for _ in $(seq 1 100); do
    n=$(ctl hosts --json 2>/dev/null | grep -c '"up"' || true)
    [ "$n" -ge 5 ] && break
    sleep 0.2
  done
  echo "broker $NATS_URL (JetStream), agents kv-[1-5], plan $work/kv/kv.yaml"
  while IFS= read -r line; do
    printf '\n$ controller %s\n' "$line"
    eval "ctl $line" || true
  done <<COMMANDS
plan up $work/kv/kv.yaml
plan status kv
plan down kv
COMMANDS
  printf '\n$ cat results/kv-4/result.json\n'
  cat "$work/kv/results/kv-4/result.json"
  echo
  exit 0
fi

nats-server -a 127.0.0.1 -p "$port" >"$work/nats.log" 2>&1 &
pids+=($!)

for i in 1 2 3; do
  rack=$(( (i + 1) / 2 ))
  deno run -A --no-config dist/agent.js --name "demo-$i" --label "rack=r$rack" \
    --state-dir "$work/agent-$i" 2>"$work/agent-$i.log" &
  pids+=($!)
done
# Wait for the three agents (they start in well under a second; give up after 20 s).
for _ in $(seq 1 100); do
  n=$(ctl hosts --json 2>/dev/null | grep -c '"up"' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.2
done

echo "broker $NATS_URL, agents demo-[1-3]"
# Each line is shown as typed, then run.
while IFS= read -r line; do
  printf '\n$ controller %s\n' "$line"
  eval "ctl $line" || true
done <<'COMMANDS'
hosts
run --hosts 'demo-[1-3]' -- sh -c 'echo "$TUTTI_HOST says hello"'
run --hosts 'demo-*' --gather -- uname -s
run --hosts 'demo-*' --where rack=r1 -- sh -c 'echo "$TUTTI_HOST is in rack r1"'
run --hosts 'demo-[1-4]' -- ./no-such-program
run --hosts 'demo-[1-3]' -- sh -c 'exit $(( ${TUTTI_HOST#demo-} - 1 ))'
run --hosts 'demo-[1-3]' --id sleeper --detach -- sh -c 'sleep 600 & sleep 600'
ps --hosts 'demo-*'
kill --hosts 'demo-*' sleeper
COMMANDS
