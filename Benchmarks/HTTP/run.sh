#!/usr/bin/env bash
# The HTTP benchmark (Docs/Performance.md, "HTTP"): one run on loopback, release build, wrk from Debian.
#   cd Benchmarks && swift build -c release --product HTTPBench && HTTP/run.sh [SECONDS]
# For each server: start it, write its load file (requests signed ahead of time, so the client's signing is not
# in the measurement), warm up for 2 s, then run wrk for SECONDS (default 8) with 2 threads and 16 connections
# (WRK_THREADS and WRK_CONNECTIONS change them: WRK_THREADS=1 WRK_CONNECTIONS=1 for one caller at a time),
# reading the server process's CPU time (utime+stime from /proc) before and after. Reports requests/s, p50/p99
# latency, non-2xx answers and the server's CPU µs per request. The authority's rows count refused answers by
# status and code (HTTP/writ-report.lua) and print them under the table. The two floor rows are the no-auth route
# making one and two raw libsodium verifies per request, sent the re-used and fresh rows' load files: the budgets'
# terms (raw verifies plus the no-auth route) measured together, in one server, at the rate they sustain.
# With WRIT_POSTGRES_URL set (postgres://user:pass@127.0.0.1:5432/DB?sslmode=disable), the authority's issue and
# refresh rows run again with its stores in PostgreSQL (a fresh schema per row, dropped afterwards; psql needed).
# One command for every row: cd Benchmarks && swift build -c release --product HTTPBench && \
#   WRIT_POSTGRES_URL=postgres://postgres:postgres@127.0.0.1:5432/writ_serve_ext?sslmode=disable HTTP/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/HTTPBench}
SECONDS_RUN=${1:-8}
WORK=$(mktemp -d)
PORT=${PORT:-18080}
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-16}
TICK=$(getconf CLK_TCK)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not listen on $PORT" >&2
  return 1
}

# run NAME SERVER LOAD COUNT METHOD PATH
run() {
  local name=$1 server=$2 load=$3 count=$4 method=$5 path=$6
  local script=HTTP/writ.lua
  rm -f "$WORK"/authority.sqlite*
  case $server in authority*) script=HTTP/writ-report.lua ;; esac
  if [ "$server" = authority-pg ]; then
    export WRIT_BENCH_SCHEMA="writ_bench_$$_$RANDOM"
  fi
  "$BIN" serve "$server" "$PORT" "$WORK" > "$WORK/server.log" &
  local pid=$!
  wait_port
  "$BIN" gen "$load" 4000 "$PORT" "$WORK" "$WORK/warm.txt"
  "$BIN" gen "$load" "$count" "$PORT" "$WORK" "$WORK/load.txt"
  wrk -t2 -c16 -d2s -s HTTP/writ.lua "http://127.0.0.1:$PORT$path" -- "$WORK/warm.txt" 2 "$method" "$path" \
    > /dev/null
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_RUN}s" --latency -s "$script" "http://127.0.0.1:$PORT$path" \
    -- "$WORK/load.txt" 2 "$method" "$path" 2> "$WORK/refused.txt")
  after=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ -s "$WORK/refused.txt" ]; then
    { echo "$name — refused:"; sed 's/^/  /' "$WORK/refused.txt"; } >> "$WORK/refusals.txt"
  fi
  if [ "$server" = authority-pg ]; then
    psql -q "$WRIT_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $WRIT_BENCH_SCHEMA CASCADE" > /dev/null 2>&1 || true
  fi
  local requests rps p50 p99 errors
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$requests" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$requests" "$rps" "$p50" "$p99" "${errors:-0}" "$cpu_us"
}

echo "raw libsodium Ed25519 verify, µs (median of 2,000-verify chunks, one core): $("$BIN" raw 3)"
echo "raw libsodium Ed25519 sign, µs (median of 2,000-sign chunks, one core): $("$BIN" raw-sign 2)"
echo
echo "| server | requests | requests/s | p50 | p99 | non-2xx | server CPU µs/request |"
echo "|---|---|---|---|---|---|---|"
run "Hummingbird, no auth (ceiling)" noauth noauth $((SECONDS_RUN * 40000)) GET /repo/bench
run "floor: no auth + 1 raw verify in the route" floor1 reused $((SECONDS_RUN * 20000)) GET /repo/bench
run "floor: no auth + 2 raw verifies in the route" floor2 fresh $((SECONDS_RUN * 15000)) GET /repo/bench
run "Writ middleware, re-used token (1 verify)" writ reused $((SECONDS_RUN * 15000)) GET /repo/bench
run "Writ middleware, fresh token (2 verifies)" writ fresh $((SECONDS_RUN * 12000)) GET /repo/bench
run "jwt-kit bearer JWT (EdDSA), peer" jwt jwt $((SECONDS_RUN * 30000)) GET /repo/bench
run "authority: issue (POST /v1/token, SQLite)" authority issue $((SECONDS_RUN * 4000)) POST /v1/token
run "authority: refresh (POST /v1/token, SQLite)" authority refresh $((SECONDS_RUN * 4000)) POST /v1/token
if [ -n "${WRIT_POSTGRES_URL:-}" ]; then
  run "authority: issue (POST /v1/token, PostgreSQL)" authority-pg issue $((SECONDS_RUN * 4000)) POST /v1/token
  run "authority: refresh (POST /v1/token, PostgreSQL)" authority-pg refresh $((SECONDS_RUN * 4000)) POST /v1/token
else
  echo "| authority on PostgreSQL | skipped: set WRIT_POSTGRES_URL | | | | | |"
fi
echo
if [ -s "$WORK/refusals.txt" ]; then cat "$WORK/refusals.txt"; echo; fi
echo "raw libsodium Ed25519 verify, µs, again: $("$BIN" raw 3)"
