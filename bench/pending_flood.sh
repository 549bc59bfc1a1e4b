#!/usr/bin/env bash
# The /authorize flood of issue 11.8, as a benchmark: `bench/pending_flood.sh`. See bench/README.md.
#
# For each store (memory, then Redis on a private redis-server), starts a release ferrid pinned
# to one core with bench/ferrid.toml, then sends FLOOD_REQUESTS (default 100,000) cookieless
# `/authorize` requests from one address (wrk on the other core, bench/flood.lua): each one
# starts a pending sign-in. Prints ferrid's RSS before and after (and its peak), and in Redis
# mode Redis's `used_memory` and key count before and after. With pending sign-ins bounded per
# client address (`sessions.pending_logins_per_address`), neither grows with the flood.
# Everything it starts it stops by PID.
#
# Environment (all optional):
#   FLOOD_REQUESTS     requests to send (default 100000)
#   FLOOD_CONNECTIONS  wrk connections (default 16)
#   BENCH_STORES       "memory redis" (default), or one of them
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   cores for ferrid / wrk and redis-server (default 0 / 1)
#   BENCH_FERRID       flood this ferrid binary instead of building one (before/after runs)
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

REQUESTS=${FLOOD_REQUESTS:-100000}
CONNECTIONS=${FLOOD_CONNECTIONS:-16}
STORES=${BENCH_STORES:-"memory redis"}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

log() { printf '%s\n' "$*" >&2; }
die() { log "flood: $*"; exit 1; }

install_debian() {
  log "flood: installing $* (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null 2>&1 || install_debian wrk
command -v curl >/dev/null 2>&1 || install_debian curl
if [[ $STORES == *redis* ]] && ! command -v redis-server >/dev/null 2>&1; then
  install_debian redis-server
fi

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferrid-flood.XXXXXX")
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
rss_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
redis_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }

if [[ -n ${BENCH_FERRID:-} ]]; then
  FERRID=$(realpath "$BENCH_FERRID")
else
  log "flood: building release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  cargo build --release --quiet --bin ferrid
  FERRID=$CARGO_TARGET_DIR/release/ferrid
fi
[[ -x $FERRID ]] || die "no ferrid binary at $FERRID"
taskset -cp "$LOAD_CPU" $$ >/dev/null

REDIRECT_URI_ENC=http%3A%2F%2F127.0.0.1%2Fbench%2Fcallback
PKCE_CHALLENGE=nTMUQq9TpawZ-w7rki5yMp1vI5wyki68Iq_Rf0mL21k
AUTHORIZE="/authorize?response_type=code&client_id=bench-app&redirect_uri=$REDIRECT_URI_ENC&scope=openid&state=flood&code_challenge=$PKCE_CHALLENGE&code_challenge_method=S256"

flood_store() {
  local store=$1 dir=$WORK/$1 env=() rport=
  mkdir -p "$dir"
  if [[ $store == redis ]]; then
    rport=$(free_port)
    taskset -c "$LOAD_CPU" redis-server --port "$rport" --bind 127.0.0.1 --save '' \
      --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
    PIDS+=("$!")
    local tries=0
    until redis-cli -p "$rport" ping >/dev/null 2>&1; do
      tries=$((tries + 1))
      [[ $tries -lt 100 ]] || die "redis-server did not start"
      sleep 0.05
    done
    env=(FERRID_STORE="redis://127.0.0.1:$rport/0"
      FERRID_SECRETS__SYSTEM="flood-system-secret-$(date +%s%N)-0123456789")
  fi
  local port base
  port=$(free_port)
  base=http://127.0.0.1:$port
  (cd "$dir" && exec env FERRID_LOG__FORMAT=json FERRID_LOG__LEVEL=warn \
    FERRID_BIND="127.0.0.1:$port" FERRID_ISSUER="$base" "${env[@]}" \
    taskset -c "$SERVER_CPU" "$FERRID" --config "$ROOT/bench/ferrid.toml" >>"$dir/ferrid.log" 2>&1) &
  local pid=$!
  PIDS+=("$pid")
  local deadline=$((SECONDS + 20))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" 2>/dev/null) == 200 ]]; do
    kill -0 "$pid" 2>/dev/null || die "ferrid exited; see $dir/ferrid.log"
    [[ $SECONDS -lt $deadline ]] || die "ferrid not ready within 20 s"
    sleep 0.05
  done
  # A few sign-ins first, so the allocator has seen the request path before the baseline.
  for _ in 1 2 3; do curl -s -o /dev/null "$base$AUTHORIZE"; done
  sleep 1
  local rss_before used_before=- keys_before=-
  rss_before=$(rss_kb "$pid" VmRSS)
  if [[ -n $rport ]]; then
    used_before=$(redis_memory "$rport")
    keys_before=$(redis-cli -p "$rport" dbsize)
  fi

  local out result started_ns secs
  started_ns=$(date +%s%N)
  out=$(FLOOD_REQUESTS=$REQUESTS wrk -t1 -c"$CONNECTIONS" -d600s --timeout 10s \
    -s "$ROOT/bench/flood.lua" "$base$AUTHORIZE")
  secs=$(awk -v ns=$(($(date +%s%N) - started_ns)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  result=$(grep '^FLOOD_RESULT ' <<<"$out" | sed 's/^FLOOD_RESULT //')
  [[ -n $result ]] || die "wrk printed no result (did it reach $REQUESTS responses?): $out"
  sleep 1
  local rss_after rss_peak used_after=- keys_after=-
  rss_after=$(rss_kb "$pid" VmRSS)
  rss_peak=$(rss_kb "$pid" VmHWM)
  if [[ -n $rport ]]; then
    used_after=$(redis_memory "$rport")
    keys_after=$(redis-cli -p "$rport" dbsize)
  fi
  # The newest sign-in still works.
  local newest
  newest=$(curl -s -c "$dir/jar" -o /dev/null -w '%{redirect_url}' "$base$AUTHORIZE")
  [[ $(curl -s -b "$dir/jar" -o /dev/null -w '%{http_code}' "$newest") == 200 ]] ||
    log "flood: the newest sign-in does not open"

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$result" "$secs" "$(mb "$rss_before")" "$(mb "$rss_after")" \
    "$(mb "$rss_peak")" "$used_before" "$used_after" "$keys_before → $keys_after" >>"$WORK/results"
  log "flood: $store: $result in $secs s; RSS $(mb "$rss_before") → $(mb "$rss_after") MB (peak $(mb "$rss_peak")); Redis used_memory $used_before → $used_after bytes, keys $keys_before → $keys_after"
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}

for store in $STORES; do
  flood_store "$store"
done

echo "| store | requests | req/s | 303s | ferrid RSS before → after (peak), MB | Redis used_memory before → after | Redis keys |"
echo "| --- | ---: | ---: | ---: | --- | --- | --- |"
while IFS=$'\t' read -r store result secs before after peak used_before used_after keys; do
  requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<<"$result")
  rps=$(awk -v n="$requests" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  redirects=$(sed -n 's/.*"redirects":\([0-9]*\).*/\1/p' <<<"$result")
  if [[ $used_before == - ]]; then redis="-"; else
    redis="$(mb $((used_before / 1024))) → $(mb $((used_after / 1024))) MB"
  fi
  [[ $keys == "- → -" ]] && keys=-
  printf '| %s | %s | %s | %s | %s → %s (%s) | %s | %s |\n' "$store" "$requests" "$rps" "$redirects" \
    "$before" "$after" "$peak" "$redis" "$keys"
done <"$WORK/results"
