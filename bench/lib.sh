# Shared by bench/family_growth.sh and bench/two_instances.sh (sourced, after `cd` to the
# repository root and with ROOT set): the ferrid under test, a work directory and the processes
# to stop at exit, free ports, CPU accounting and a private redis-server.

# FERRID: $BENCH_FERRID, or a release build of this checkout.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ -n ${BENCH_FERRID:-} ]]; then
  FERRID=$(realpath "$BENCH_FERRID")
else
  cargo build --release --quiet --bin ferrid
  FERRID=$CARGO_TARGET_DIR/release/ferrid
fi

# work_dir NAME: WORK, a fresh directory; every PID in PIDS is stopped (and WORK removed) at exit.
PIDS=()
work_dir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferrid-$1.XXXXXX")
  trap cleanup EXIT
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
# Nanoseconds all of a process's threads have spent on a CPU.
proc_on_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { printf "%.0f", ns }'; }

# start_redis: a private redis-server on RPORT (no persistence), stopped at exit.
start_redis() {
  RPORT=$(free_port)
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  until redis-cli -p "$RPORT" ping >/dev/null 2>&1; do sleep 0.05; done
}
# redis_work: "<commands> <CPU µs>" Redis has done so far.
redis_work() {
  redis-cli -p "$RPORT" info all | tr -d '\r' | awk -F'[:,=]' '
    /^cmdstat_/ { calls += $3 }
    /^used_cpu_sys:/ || /^used_cpu_user:/ { cpu += $2 }
    END { printf "%d %.0f\n", calls, cpu * 1000000 }'
}
