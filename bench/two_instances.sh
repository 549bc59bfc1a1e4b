#!/usr/bin/env bash
# Checks the capacity model's first assumption (BENCHMARKS.md): ferrid's token rate scales with
# the cores it is given, not with the number of instances, while one Redis serves them all. On
# one private redis-server (core 1, with wrk), it runs client-credentials tokens against ONE
# ferrid on core 0, then against TWO ferrids sharing core 0 and the same Redis (one wrk per
# instance, the connections split between them), and prints both aggregate rates, their ratio,
# and Redis's commands and CPU per request. Same cores, same load generator, one run.
#
#   bench/two_instances.sh                         # builds release
#   BENCH_FERRID=/path/to/ferrid BENCH_DURATION=8 BENCH_CONNECTIONS=32 BENCH_NICE=-10
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${BENCH_DURATION:-8}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
NICE=${BENCH_NICE:-0}
source bench/lib.sh
taskset -cp "$LOAD_CPU" $$ >/dev/null
[[ $NICE == 0 ]] || renice -n "$NICE" -p $$ >/dev/null
work_dir two
start_redis

SECRET="two-instances-system-secret-0123456789abcdef"
PREFIX="ferrid-two:$$:"
# start_ferrid DIR: one instance on SERVER_CPU sharing the Redis, the prefix and the secret.
start_ferrid() {
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir"
  (cd "$dir" && exec env FERRID_LOG__LEVEL=warn FERRID_BIND="127.0.0.1:$port" \
    FERRID_ISSUER="http://127.0.0.1:$port" FERRID_STORE="redis://127.0.0.1:$RPORT/0" \
    FERRID_REDIS__PREFIX="$PREFIX" FERRID_SECRETS__SYSTEM="$SECRET" \
    taskset -c "$SERVER_CPU" "$FERRID" --config "$ROOT/bench/ferrid.toml" >>"$dir/ferrid.log" 2>&1) &
  PIDS+=($!)
  LAST_PID=$!
  LAST_URL=http://127.0.0.1:$port
  for _ in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$LAST_URL/readyz") == 200 ]] && return
    sleep 0.05
  done
  echo "two_instances: ferrid did not become ready" >&2
  exit 1
}
export BENCH_METHOD=POST BENCH_BODY="grant_type=client_credentials&scope=read" BENCH_FEED=
export BENCH_AUTHORIZATION="Basic $(printf 'bench-service:bench-service-secret' | base64 -w0)"
rps() { sed -n 's/^BENCH_RESULT .*"rps":\([0-9.]*\).*/\1/p' "$1"; }
requests() { sed -n 's/^BENCH_RESULT .*"requests":\([0-9]*\).*/\1/p' "$1"; }

start_ferrid "$WORK/a"
A_PID=$LAST_PID A_URL=$LAST_URL
start_ferrid "$WORK/b"
B_PID=$LAST_PID B_URL=$LAST_URL
[[ $NICE == 0 ]] || renice -n "$NICE" -p "$A_PID" "$B_PID" >/dev/null
# Warm-up of both.
wrk -t1 -c4 -d1s -s "$ROOT/bench/wrk.lua" "$A_URL/token" >/dev/null
wrk -t1 -c4 -d1s -s "$ROOT/bench/wrk.lua" "$B_URL/token" >/dev/null

# One instance (the other idle), all connections.
before=$(redis_work)
one_before=$(proc_on_cpu_ns "$A_PID")
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/wrk.lua" "$A_URL/token" >"$WORK/one.out"
after=$(redis_work)
one_after=$(proc_on_cpu_ns "$A_PID")
ONE=$(rps "$WORK/one.out")
# Tokens per second of ferrid CPU, and how busy ferrid kept its core.
ONE_PER_CPU=$(awk -v n="$(requests "$WORK/one.out")" -v ns=$((one_after - one_before)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
ONE_BUSY=$(awk -v ns=$((one_after - one_before)) -v d="$DURATION" 'BEGIN { printf "%.2f", ns / 1e9 / d }')
ONE_REDIS=$(awk -v b="$before" -v a="$after" -v n="$(requests "$WORK/one.out")" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%.2f cmds, %.1f us", (y[1] - x[1] - 1) / n, (y[2] - x[2]) / n }')

# Two instances, half the connections each, at the same time.
before=$(redis_work)
a_before=$(proc_on_cpu_ns "$A_PID") b_before=$(proc_on_cpu_ns "$B_PID")
wrk -t1 -c"$((CONNECTIONS / 2))" -d"${DURATION}s" -s "$ROOT/bench/wrk.lua" "$A_URL/token" >"$WORK/a.out" &
wa=$!
wrk -t1 -c"$((CONNECTIONS / 2))" -d"${DURATION}s" -s "$ROOT/bench/wrk.lua" "$B_URL/token" >"$WORK/b.out" &
wb=$!
wait "$wa" "$wb"
after=$(redis_work)
a_after=$(proc_on_cpu_ns "$A_PID") b_after=$(proc_on_cpu_ns "$B_PID")
TWO=$(awk -v a="$(rps "$WORK/a.out")" -v b="$(rps "$WORK/b.out")" 'BEGIN { printf "%.1f", a + b }')
N=$(($(requests "$WORK/a.out") + $(requests "$WORK/b.out")))
TWO_REDIS=$(awk -v b="$before" -v a="$after" -v n="$N" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%.2f cmds, %.1f us", (y[1] - x[1] - 1) / n, (y[2] - x[2]) / n }')
TWO_PER_CPU=$(awk -v n="$N" -v ns=$((a_after - a_before + b_after - b_before)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
TWO_BUSY=$(awk -v ns=$((a_after - a_before + b_after - b_before)) -v d="$DURATION" 'BEGIN { printf "%.2f", ns / 1e9 / d }')
SHARE=$(awk -v a=$((a_after - a_before)) -v b=$((b_after - b_before)) 'BEGIN { printf "%.2f", (a + b > 0 ? a / (a + b) : 0) }')

echo "| instances on core $SERVER_CPU | tokens/s (aggregate) | tokens per ferrid CPU-second | core $SERVER_CPU busy with ferrid | Redis work per request |"
echo "| --- | ---: | ---: | ---: | --- |"
echo "| 1 | $ONE | $ONE_PER_CPU | $ONE_BUSY | $ONE_REDIS |"
echo "| 2 (instance A's share of the CPU: $SHARE) | $TWO | $TWO_PER_CPU | $TWO_BUSY | $TWO_REDIS |"
echo
echo "two instances / one instance, same core: $(awk -v a="$TWO" -v b="$ONE" 'BEGIN { printf "%.2f", a / b }') by wall clock, $(awk -v a="$TWO_PER_CPU" -v b="$ONE_PER_CPU" 'BEGIN { printf "%.2f", a / b }') per CPU-second"
