#!/usr/bin/env bash
# Counts the instructions token-service and the bare signer spend per client_credentials
# token under callgrind (repeatable, unlike timings on a shared machine), and writes each
# one's annotated profile (inclusive cost per function) next to the printed figures.
#
#   bench/profile.sh            REQUESTS=2000 by default; output in ${OUT:-/tmp/token-profile}
#   RUST_LOG=warn bench/profile.sh    the same without per-request logs, to see their share
#   ONLY_SERVICE=1 / ONLY_BARE=1       profile one of the two
#   CACHE_SIM=1 bench/profile.sh       also simulates this machine's caches (L1i, L1d, and its
#                                      private L2 as the last level; LL=bytes sets another) and
#                                      prints misses per token beside the instructions
#
# Builds the `profiling` profile (release with symbols). Needs valgrind, k6, python3. Only
# 127.0.0.1; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${REQUESTS:-2000}
OUT=${OUT:-/tmp/token-profile}
TARGET=${CARGO_TARGET_DIR:-target}
PORT=${PORT:-18099}
mkdir -p "$OUT"
sim=()
if [ -n "${CACHE_SIM:-}" ]; then
  # cache LEVEL TYPE: "size,ways,line" of cpu0's cache of that level and type, from sysfs.
  cache() {
    local dir
    for dir in /sys/devices/system/cpu/cpu0/cache/index*; do
      if [ "$(cat "$dir/level")" = "$1" ] && [ "$(cat "$dir/type")" = "$2" ]; then
        local size
        size=$(cat "$dir/size")
        case $size in *K) size=$((${size%K} * 1024)) ;; *M) size=$((${size%M} * 1024 * 1024)) ;; esac
        echo "$size,$(cat "$dir/ways_of_associativity"),$(cat "$dir/coherency_line_size")"
        return
      fi
    done
    echo "bench: no level $1 $2 cache in sysfs" >&2
    exit 1
  }
  l2=$(cache 2 Unified)
  [ -n "${LL:-}" ] && l2="$LL,${l2#*,}"
  sim=(--cache-sim=yes "--I1=$(cache 1 Instruction)" "--D1=$(cache 1 Data)" "--LL=$l2")
fi
cargo build --profile profiling --quiet --bin token-service --example bare_signer
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; true; }
trap cleanup EXIT

# profile NAME COMMAND...: warms up, zeroes the counters, sends REQUESTS, dumps.
profile() {
  local name=$1
  shift
  rm -f "$OUT/$name".callgrind.out*
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.callgrind.out" \
    --collect-atstart=yes "${sim[@]}" "$@" >"$OUT/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    curl -sf -u reporting-service:reporting-secret-change-me -d grant_type=client_credentials \
      "http://127.0.0.1:$PORT/token" >/dev/null && break
    sleep 0.2
  done
  k6 run --quiet --no-color -e BASE="http://127.0.0.1:$PORT" -e MODE=count -e ITERATIONS=200 \
    bench/token.js >/dev/null 2>&1
  callgrind_control -z "$pid" >/dev/null
  k6 run --quiet --no-color -e BASE="http://127.0.0.1:$PORT" -e MODE=count \
    -e ITERATIONS="$REQUESTS" bench/token.js >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
  local dump
  dump=$(ls -t "$OUT/$name".callgrind.out.* | head -1)
  callgrind_annotate --inclusive=yes --threshold=99 "$dump" >"$OUT/$name.inclusive.txt"
  callgrind_annotate --threshold=95 "$dump" >"$OUT/$name.self.txt"
  local total
  total=$(grep -m1 'PROGRAM TOTALS' "$OUT/$name.self.txt" | grep -oP '^\s*\K[0-9,]+' | tr -d ,)
  printf '%s: %s instructions per token (%s tokens)\n' "$name" "$((total / REQUESTS))" "$REQUESTS"
  if [ ${#sim[@]} -gt 0 ]; then
    # The totals line's columns: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
    grep -m1 'PROGRAM TOTALS' "$OUT/$name.self.txt" | python3 -c "
import re, sys
n = [int(v.replace(',', '')) for v in re.findall(r'([0-9,]+) \(', sys.stdin.read())]
per = lambda v: v / $REQUESTS
print(f'$name: per token L1i misses {per(n[3]):,.0f}, L1d misses {per(n[4] + n[5]):,.0f}, '
      f'last-level misses code {per(n[6]):,.1f} data {per(n[7] + n[8]):,.1f}')"
  fi
  eval "per_token_$name=$((total / REQUESTS))"
}

# Default logging (info, JSON lines) unless RUST_LOG is given; the bare signer ignores these.
unset TS_REDIS_URL
export TS_LISTEN="127.0.0.1:$PORT" TS_LOG_FORMAT=json TS_CONFIG_FILE=config/dev.toml TS_KEYS_DIR=keys
[ -n "${ONLY_BARE:-}" ] || profile token_service "$TARGET/profiling/token-service"
[ -n "${ONLY_SERVICE:-}" ] || profile bare "$TARGET/profiling/examples/bare_signer" "127.0.0.1:$PORT" keys/0000-dev-es256.pem
if [ -n "${per_token_token_service:-}" ] && [ -n "${per_token_bare:-}" ]; then
  printf 'token_service at %s%% of the bare signer (its instructions per token over the service'"'"'s)\n' \
    "$(python3 -c "print(round(100 * $per_token_bare / $per_token_token_service, 1))")"
fi
echo "profiles: $OUT/{token_service,bare}.{inclusive,self}.txt"
