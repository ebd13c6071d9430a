#!/usr/bin/env bash
# Fuzzes a live release instance on Redis against its own OpenAPI description (README, "Endpoints") with
# schemathesis: no 5xx, and every response's status, content type, headers and body conform
# to the description. Bounded: MAX_EXAMPLES per operation. Loopback only; cleans up on exit.
# Needs schemathesis (`pip install schemathesis`) and redis-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_EXAMPLES=${MAX_EXAMPLES:-60}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cargo build --release --locked --quiet
rport=$(free_port) port=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$rport" PING >/dev/null 2>&1 && break; sleep 0.1; done
TS_LISTEN="127.0.0.1:$port" TS_REDIS_URL="redis://127.0.0.1:$rport" TS_LOG_FORMAT=json RUST_LOG=warn \
  target/release/token-service >/tmp/token-service-fuzz.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
# The example client of the original API description, so /token and friends get past
# client authentication (its secret is the documented development one).
schemathesis run "http://127.0.0.1:$port/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --auth "BA779C49-4D93-4785-9596-25805A24C5DC:4AD3CE00-8ED5-4F0A-A979-ACE64A15207C" \
  --max-examples "$MAX_EXAMPLES" --seed 20261130 --no-color
