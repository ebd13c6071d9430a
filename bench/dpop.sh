#!/usr/bin/env bash
# Server CPU per 1,000 tokens, plain client_credentials (bench/token.js) against the same with a
# DPoP proof each (bench/dpop.js), in one run on one server (memory store): the server on core
# 0, k6 on core 1, CPU time (user + system, all threads) from /proc/PID/stat. ROUNDS alternate the two; proofs are made
# right before each DPoP round (bench/dpop_proofs.py, PyJWT).
#
#   bench/dpop.sh            N=5000 ROUNDS=3 VUS=4 by default; ALG=EdDSA for Ed25519 proofs
#
# Needs k6 and PyJWT (the CI venv has both), taskset. Only 127.0.0.1 is used; the server it
# starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
ROUNDS=${ROUNDS:-3}
VUS=${VUS:-4}
PORT=${TS_PORT:-18089}
TARGET=${CARGO_TARGET_DIR:-target}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin token-service
taskset -c 0 env -u RUST_LOG -u TS_REDIS_URL TS_LISTEN="127.0.0.1:$PORT" TS_LOG_FORMAT=json \
  TS_CONFIG_FILE=config/dev.toml TS_KEYS_DIR=keys "$TARGET/release/token-service" \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf -u reporting-service:reporting-secret-change-me -d grant_type=client_credentials \
    "http://127.0.0.1:$PORT/token" >/dev/null && break
  sleep 0.1
done

# The process's user + system time, every thread's, in ns (clock ticks of /proc/PID/stat).
tick_ns=$((1000000000 / $(getconf CLK_TCK)))
cpu_ns() {
  local fields
  fields=$(sed 's/.*) //' "/proc/$pid/stat")
  echo $(( ($(echo "$fields" | cut -d' ' -f12) + $(echo "$fields" | cut -d' ' -f13)) * tick_ns ))
}

# measure NAME K6-ARGS...: runs k6 on core 1, prints NAME, tokens answered 200, server CPU ms.
measure() {
  local name=$1
  shift
  local before after
  before=$(cpu_ns)
  taskset -c 1 k6 run --quiet --summary-export "$work/$name.json" "$@" >/dev/null 2>&1 || true
  after=$(cpu_ns)
  python3 - "$work/$name.json" "$name" "$before" "$after" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
ok = summary["metrics"]["checks"]["passes"] // 2
print(sys.argv[2], ok, (int(sys.argv[4]) - int(sys.argv[3])) / 1e6)
PY
}

common=(-e "BASE=http://127.0.0.1:$PORT" -e "VUS=$VUS")
measure warmup "${common[@]}" -e MODE=count -e ITERATIONS=1000 bench/token.js >/dev/null
for round in $(seq "$ROUNDS"); do
  measure plain "${common[@]}" -e MODE=count -e "ITERATIONS=$N" bench/token.js
  python3 bench/dpop_proofs.py "$N" "$work/proofs.json"
  measure dpop "${common[@]}" -e "PROOFS=$work/proofs.json" bench/dpop.js
done | python3 -c '
import sys
rows = [line.split() for line in sys.stdin]
per = {}
for name, ok, ms in rows:
    per.setdefault(name, []).append(float(ms) / int(ok) * 1000)
    print(f"{name:5} {int(ok):6} tokens  {float(ms):8.1f} ms server CPU  {float(ms) / int(ok) * 1000:7.1f} ms per 1,000")
med = {k: sorted(v)[len(v) // 2] for k, v in per.items()}
plain, dpop = med["plain"], med["dpop"]
print(f"median ms per 1,000 tokens: plain {plain:.1f}, DPoP {dpop:.1f}, ratio {dpop / plain:.2f}")
'
