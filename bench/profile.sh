#!/usr/bin/env bash
# Where ferrid's CPU goes in one scenario:
# `bench/profile.sh [token|jwks|discovery|introspection|healthz] [c]`.
#
# Starts the release ferrid pinned to core 0 (memory store), drives the scenario with wrk on
# core 1 (concurrency c, default 64), samples ferrid with `perf record` (installed from the
# Debian packages when missing) for BENCH_DURATION seconds (default 8), and prints the share of
# ferrid's CPU time by category (RSA and other aws-lc crypto, kernel, libc allocation and
# copying, everything else) and the top symbols. Stops everything it started by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCENARIO=${1:-token}
C=${2:-64}
DURATION=${BENCH_DURATION:-8}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v perf >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }

if [[ -n ${BENCH_FERRID:-} ]]; then
  FERRID=$(realpath "$BENCH_FERRID")
else
  cargo build --release --quiet --bin ferrid
  FERRID=$CARGO_TARGET_DIR/release/ferrid
fi
taskset -cp 1 $$ >/dev/null

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferrid-profile.XXXXXX")
FERRID_PID=
cleanup() {
  if [[ -n $FERRID_PID ]] && kill -0 "$FERRID_PID" 2>/dev/null; then
    kill -TERM "$FERRID_PID"
    wait "$FERRID_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$((20000 + RANDOM % 30000))
BASE=http://127.0.0.1:$PORT
(cd "$WORK" && exec env FERRID_LOG__FORMAT=json FERRID_BIND="127.0.0.1:$PORT" FERRID_ISSUER="$BASE" \
  taskset -c 0 "$FERRID" --config "$ROOT/bench/ferrid.toml" >"$WORK/ferrid.log" 2>&1) &
FERRID_PID=$!
for _ in $(seq 200); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz" 2>/dev/null) == 200 ]] && break
  sleep 0.05
done
SERVICE_AUTH="Basic $(printf 'bench-service:bench-service-secret' | base64 -w0)"

case $SCENARIO in
  token)
    export BENCH_METHOD=POST BENCH_BODY='grant_type=client_credentials&scope=read'
    export BENCH_AUTHORIZATION=$SERVICE_AUTH
    URL=$BASE/token ;;
  introspection)
    TOKEN=$(curl -sf -H "Authorization: $SERVICE_AUTH" -d grant_type=client_credentials -d scope=read "$BASE/token" |
      sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
    export BENCH_METHOD=POST BENCH_BODY="token=$TOKEN" BENCH_AUTHORIZATION=$SERVICE_AUTH
    URL=$BASE/introspect ;;
  jwks) URL=$BASE/.well-known/jwks.json ;;
  discovery) URL=$BASE/.well-known/openid-configuration ;;
  healthz) URL=$BASE/healthz ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac

wrk -t1 -c"$C" -d"$((DURATION + 3))s" --timeout 10s -s "$ROOT/bench/wrk.lua" "$URL" >"$WORK/wrk.txt" &
WRK_PID=$!
sleep 1.5
perf record -F 4999 -p "$FERRID_PID" -o "$WORK/perf.data" -- sleep "$DURATION" 2>/dev/null
wait "$WRK_PID"
echo "$SCENARIO c=$C: $(grep '^BENCH_RESULT' "$WORK/wrk.txt")"

perf report -i "$WORK/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
  grep -v '^#' | grep -v '^$' >"$WORK/symbols.txt"
awk '{
  share = $1; sub("%", "", share)
  if ($0 ~ /\[k\]/) kernel += share
  else if ($0 ~ /(bn_|BN_|mulx|sqrx|postx|powerx|rsa|RSA|mont|sha256_block|ctr_drbg|CRYPTO_|aes_hw|jent_|keccak)/) crypto += share
  else if ($0 ~ /(malloc|free|memmove|memcpy|memset|unlink_chunk|realloc)/) alloc += share
  else other += share
} END {
  printf "share of ferrid CPU time: RSA and other aws-lc crypto %.1f%%, kernel %.1f%%, libc allocation and copying %.1f%%, everything else (hyper, poem, serde, tracing, ferrid) %.1f%%\n", crypto, kernel, alloc, other
}' "$WORK/symbols.txt"
echo "top symbols:"
head -25 "$WORK/symbols.txt" | cut -c1-150
