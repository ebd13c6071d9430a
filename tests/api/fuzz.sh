#!/usr/bin/env bash
# Fuzzes a live release instance on Redis against its own OpenAPI description (README,
# "Endpoints") with schemathesis 4: no 5xx, every response's status, content type,
# headers and body as described, invalid requests refused, required credentials enforced,
# and the links between the token endpoints followed (token -> introspect -> revoke ->
# introspect). Every check runs but positive_data_acceptance: a well-formed request may still
# carry a code, token or password that does not exist, which the service rightly refuses
# (RFC 6749 §5.2). Bounded: MAX_EXAMPLES per operation, a fixed seed, no example database
# carried between runs. Loopback only; cleans up on exit. Configuration (credentials, values
# from the config file): tests/api/schemathesis.toml.
# Needs schemathesis 4.32 or later 4.x (`pip install 'schemathesis>=4.32,<5'`) and redis-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_EXAMPLES=${MAX_EXAMPLES:-60}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cargo build --release --locked --quiet
rport=$(free_port) port=$(free_port)
base="http://127.0.0.1:$port"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$rport" PING >/dev/null 2>&1 && break; sleep 0.1; done
# The fuzzer sends wrong passwords for the development user by the hundred; with the default
# of five failures per username the password grant would answer 429 for most of the run.
TS_LISTEN="127.0.0.1:$port" TS_REDIS_URL="redis://127.0.0.1:$rport" TS_LOG_FORMAT=json RUST_LOG=warn \
  TS_LOGIN_MAX_FAILURES=1000000 target/release/token-service >/tmp/token-service-fuzz.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done

# Real credentials, so every operation gets past authentication: the example client of the
# original API description (its secret is the documented development one) authenticates with
# HTTP Basic, and its password grant for the development user, with `openid`, gives the
# access token /userinfo takes.
client="BA779C49-4D93-4785-9596-25805A24C5DC:4AD3CE00-8ED5-4F0A-A979-ACE64A15207C"
TS_FUZZ_BEARER=$(curl -sf -u "$client" -d grant_type=password -d username=jsmith \
  -d password=password123 --data-urlencode 'scope=openid profile email read' "$base/token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
# The login and logout forms' CSRF protection is a double-submit cookie: any well-formed value
# sent as both cookie and field passes.
TS_FUZZ_CSRF=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export TS_FUZZ_BEARER TS_FUZZ_CSRF

schemathesis --config-file tests/api/schemathesis.toml run "$base/openapi.json" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$MAX_EXAMPLES" --seed 20261130 --generation-database none --no-color
