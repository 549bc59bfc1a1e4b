#!/usr/bin/env bash
# ferrid's load benchmark: one command, `bench/run.sh`. See bench/README.md.
#
# Builds release; measures the signing ceiling on the server's core; then, for each store
# (memory, Redis), starts ferrid pinned to one core (taskset) with the load generator (wrk) on the
# other, waits for /readyz, runs every scenario at each concurrency for a fixed duration, and
# prints one line per run (req/s, p50, p99, non-2xx) plus ferrid's RSS idle, at the end and peak.
# Finishes with the tracked ratios against the targets and a Markdown table. Everything it starts
# it stops by PID.
#
# Environment (all optional):
#   BENCH_DURATION     seconds per run (default 8)
#   BENCH_REPEAT       runs per scenario and concurrency, keeping the fastest (default 1)
#   BENCH_NICE         niceness for everything measured (e.g. -10 on a machine shared with
#                      builds; needs root; default 0)
#   BENCH_CONCURRENCY  connection counts (default "1 16 64")
#   BENCH_STORES       "memory redis" (default), or one of them
#   BENCH_SCENARIOS    regex selecting scenarios by name (default: all)
#   BENCH_SERVER_CPU / BENCH_LOAD_CPU   cores for ferrid / wrk and redis-server (default 0 / 1)
#   BENCH_CEILING_SECS seconds the signing ceiling is measured for (default 5)
#   BENCH_REDIS_URL    use this Redis (under a unique key prefix, never flushed) instead of
#                      starting a private redis-server
#   BENCH_REDIS_REPLICA=1  give the private redis-server a replica (on the load core) for the
#                      `redis` store too; the `redis-replicated` store always has one and runs
#                      ferrid with store.durability = "replicated"
#   BENCH_LOGINS       sign-ins measured per Redis store (default 50; 0 skips)
#   BENCH_LOG_LEVEL    ferrid's log level (default info: the access and audit lines it ships with)
#   BENCH_KEEP=1       keep the work directory (keys, logs) instead of deleting it
#   BENCH_FERRID       benchmark this ferrid binary instead of building one (before/after runs)
#   CARGO_TARGET_DIR   where cargo builds (default ./target)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=${BENCH_DURATION:-8}
REPEAT=${BENCH_REPEAT:-1}
NICE=${BENCH_NICE:-0}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 16 64"}
STORES=${BENCH_STORES:-"memory redis"}
SCENARIO_FILTER=${BENCH_SCENARIOS:-.}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
CEILING_SECS=${BENCH_CEILING_SECS:-5}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# Scenarios, one per line: name|method|path|body|authorization|feed
#   authorization: service (bench-service, client_secret_basic), app (bench-app, the same),
#   user (Bearer, a user's access token from the code flow) or none. @ACCESS_TOKEN@ in the body
#   is replaced by a fresh client-credentials access token.
#   feed: codes (each request appends a fresh authorization code to the body), refresh (each
#   request appends the refresh token the previous rotation returned), dpop (each request carries
#   the next of a batch of fresh DPoP proofs in its DPoP header), or empty.
# To add one, add a line here; nothing else changes.
REDIRECT_URI=http://127.0.0.1/bench/callback
REDIRECT_URI_ENC=http%3A%2F%2F127.0.0.1%2Fbench%2Fcallback
PKCE_VERIFIER=ferrid-bench-pkce-verifier-0123456789-abcdefghijklmnop
PKCE_CHALLENGE=nTMUQq9TpawZ-w7rki5yMp1vI5wyki68Iq_Rf0mL21k
SCENARIOS=(
  "token_client_credentials|POST|/token|grant_type=client_credentials&scope=read|service|"
  "token_client_credentials_dpop|POST|/token|grant_type=client_credentials&scope=read|service|dpop"
  "jwks|GET|/.well-known/jwks.json||none|"
  "discovery|GET|/.well-known/openid-configuration||none|"
  "healthz|GET|/healthz||none|"
  "introspection|POST|/introspect|token=@ACCESS_TOKEN@|service|"
  "userinfo|GET|/userinfo||user|"
  "authorization_code|POST|/token|grant_type=authorization_code&redirect_uri=$REDIRECT_URI_ENC&code_verifier=$PKCE_VERIFIER&code=|app|codes"
  "refresh_rotation|POST|/token|grant_type=refresh_token&refresh_token=|app|refresh"
)
# RSA signatures per request of each signing scenario: the code and refresh scenarios grant
# `openid`, so each answer carries an access token and an ID token.
declare -A SIGNATURES=([token_client_credentials]=1 [token_client_credentials_dpop]=1 [authorization_code]=2 [refresh_rotation]=2)

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# ---------------------------------------------------------------- tools
install_debian() {
  log "bench: installing $* (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null 2>&1 || install_debian wrk
command -v taskset >/dev/null 2>&1 || install_debian util-linux
command -v curl >/dev/null 2>&1 || install_debian curl
if [[ $STORES == *redis* && -z ${BENCH_REDIS_URL:-} ]] && ! command -v redis-server >/dev/null 2>&1; then
  install_debian redis-server
fi
[[ $(nproc --all) -ge 2 ]] || log "bench: warning: fewer than 2 cores; ferrid and wrk share one"
# DPoP proofs are made just before each run and accepted for dpop.max_age_secs (60 s).
[[ $DURATION -le 50 ]] || log "bench: warning: runs longer than 50 s send stale DPoP proofs (non-2xx)"

# ---------------------------------------------------------------- processes we own
PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferrid-bench.XXXXXX")
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then log "bench: work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local kept=() p
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

now_ns() { date +%s%N; }
# Busy and total ticks of one core: user, nice, system and steal (the host took it) count as
# busy; interrupts and softirqs do not, since on the server core they are mostly ferrid's own
# network traffic.
cpu_ticks() { awk -v cpu="cpu$1" '$1 == cpu { busy = $2 + $3 + $4 + $9; print busy, busy + $5 + $6 + $7 + $8 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Nanoseconds all of a process's threads have spent on a CPU.
proc_on_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ ns += $1 } END { printf "%.0f", ns }'; }
# other_load BEFORE AFTER PROC_BEFORE PROC_AFTER: % of the core's time used by anything but ferrid
# (other processes, interrupts, the host), so a disturbed run shows itself.
other_load() {
  awk -v b="$1" -v a="$2" -v pb="$3" -v pa="$4" 'BEGIN {
    split(b, x, " "); split(a, y, " "); total = y[2] - x[2]
    if (total <= 0) { print 0; exit }
    v = 100 * ((y[1] - x[1]) - (pa - pb)) / total; if (v < 0) v = 0; printf "%.0f", v }'
}
rss_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# ---------------------------------------------------------------- build
log "bench: building release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
if [[ -n ${BENCH_FERRID:-} ]]; then
  FERRID=$(realpath "$BENCH_FERRID")
else
  cargo build --release --quiet --bin ferrid
  FERRID=$CARGO_TARGET_DIR/release/ferrid
fi
CEILING_BIN=$(cargo bench --quiet -p ferrid-benches --no-run --bench sign_ceiling --message-format=json 2>/dev/null |
  grep '"name":"sign_ceiling"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
DPOP_BIN=$(cargo bench --quiet -p ferrid-benches --no-run --bench dpop_proofs --message-format=json 2>/dev/null |
  grep '"name":"dpop_proofs"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x $FERRID && -x $CEILING_BIN && -x $DPOP_BIN ]] ||
  die "build did not produce ferrid and the sign_ceiling and dpop_proofs benches"
# From here on this script and everything it starts (curl, wrk, redis-server) stay off the
# server's core; only ferrid and the signing ceiling are pinned to it.
taskset -cp "$LOAD_CPU" $$ >/dev/null
if [[ $NICE != 0 ]]; then
  renice -n "$NICE" -p $$ >/dev/null || die "cannot renice to $NICE"
fi

# ---------------------------------------------------------------- ferrid
# start_ferrid STORE_DIR [ENV...]: starts ferrid in STORE_DIR pinned to SERVER_CPU; sets
# FERRID_PID, PORT, BASE and FERRID_STARTED_NS.
start_ferrid() {
  local dir=$1
  shift
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  FERRID_STARTED_NS=$(now_ns)
  (cd "$dir" && exec env FERRID_LOG__FORMAT=json FERRID_LOG__LEVEL="$LOG_LEVEL" \
    FERRID_BIND="127.0.0.1:$PORT" FERRID_ISSUER="$BASE" "$@" \
    taskset -c "$SERVER_CPU" "$FERRID" --config "$ROOT/bench/ferrid.toml" >>"$dir/ferrid.log" 2>&1) &
  FERRID_PID=$!
  PIDS+=("$FERRID_PID")
}

# wait_for PATH: waits (10 s at most) until ferrid answers 200 on PATH; prints the ms since start.
wait_for() {
  local deadline=$(($(now_ns) + 10000000000))
  while [[ $(now_ns) -lt $deadline ]]; do
    kill -0 "$FERRID_PID" 2>/dev/null || die "ferrid exited; see its log"
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE$1" 2>/dev/null) == 200 ]]; then
      echo $((($(now_ns) - FERRID_STARTED_NS) / 1000000))
      return
    fi
  done
  die "ferrid did not answer 200 on $1 within 10 s"
}

# ---------------------------------------------------------------- clients and the user (bench/ferrid.toml)
SERVICE_AUTH="Basic $(printf 'bench-service:bench-service-secret' | base64 -w0)"
APP_AUTH="Basic $(printf 'bench-app:bench-app-secret' | base64 -w0)"
AUTHORIZE_QUERY="response_type=code&client_id=bench-app&redirect_uri=$REDIRECT_URI_ENC&code_challenge=$PKCE_CHALLENGE&code_challenge_method=S256"

# login: signs the bench user in through ferrid's login page, keeping the session cookie in $JAR
# (bench-app skips consent), so that /authorize answers with a code straight away from then on.
login() {
  local page interaction csrf location
  page=$(curl -sfL -c "$JAR" -b "$JAR" "$BASE/authorize?$AUTHORIZE_QUERY&scope=openid") ||
    die "GET /authorize failed"
  interaction=$(sed -n 's/.*name="interaction" value="\([^"]*\)".*/\1/p' <<<"$page")
  csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page")
  [[ -n $interaction && -n $csrf ]] || die "no login form at /authorize"
  location=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' \
    --data-urlencode "interaction=$interaction" --data-urlencode "csrf_token=$csrf" \
    -d username=bench -d password=bench-password "$BASE/login")
  [[ $location == "$REDIRECT_URI"* || $location == "$BASE"* ]] || die "login failed (redirect: '$location')"
}

# issue_codes N SCOPE FILE: N fresh authorization codes for bench-app, one per line, in FILE:
# one curl, one connection, N /authorize requests on the signed-in session (the URL's state
# parameter is a curl range, 1..N).
issue_codes() {
  local n=$1 scope=$2 file=$3
  curl -s -b "$JAR" -o /dev/null -w '%{stderr}%{redirect_url}\n' \
    "$BASE/authorize?$AUTHORIZE_QUERY&scope=${scope// /%20}&state=[1-$n]" 2>"$file.raw"
  sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' "$file.raw" >"$file"
  rm -f "$file.raw"
  [[ $(wc -l <"$file") -eq $n ]] || die "asked for $n codes, got $(wc -l <"$file")"
}

# redeem CODE: the token response for CODE (bench-app, client_secret_basic).
redeem() {
  curl -sf -w '\n' -H "Authorization: $APP_AUTH" \
    -d "grant_type=authorization_code&redirect_uri=$REDIRECT_URI_ENC&code_verifier=$PKCE_VERIFIER&code=$1" \
    "$BASE/token"
}

# refresh_tokens N FILE: N refresh tokens of separate grants (openid offline_access), in FILE.
refresh_tokens() {
  local code
  issue_codes "$1" "openid offline_access" "$2.codes"
  while read -r code; do
    redeem "$code" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p'
  done <"$2.codes" >"$2"
  [[ $(wc -l <"$2") -eq $1 ]] || die "asked for $1 refresh tokens, got $(wc -l <"$2")"
}

# user_token: an access token of the bench user (openid profile email), for userinfo.
user_token() {
  issue_codes 1 "openid profile email" "$WORK/user.code"
  redeem "$(cat "$WORK/user.code")" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

# prepare_feed C SECS: the codes, refresh tokens or DPoP proofs a run of the current scenario
# consumes (codes: 1.2 times what the signing ceiling allows in SECS, since each redemption signs
# twice; unused ones stay in the store until their 60 s expire, and count in ferrid's RSS;
# proofs: 1.2 times the ceiling, one signature each, made now so that their iat is fresh).
prepare_feed() {
  case $SCENARIO_FEED in
    codes) issue_codes "$(awk -v r="$CEILING_BEFORE" -v s="$2" 'BEGIN { printf "%d", r * s * 0.6 + 200 }')" openid "$WORK/feed" ;;
    refresh) refresh_tokens "$1" "$WORK/feed" ;;
    dpop)
      FERRID_BENCH_DPOP_HTU="$BASE/token" \
        FERRID_BENCH_DPOP_COUNT="$(awk -v r="$CEILING_BEFORE" -v s="$2" 'BEGIN { printf "%d", r * s * 1.2 + 200 }')" \
        "$DPOP_BIN" >"$WORK/feed"
      ;;
  esac
}

# ---------------------------------------------------------------- measurements
RESULTS=$WORK/results.tsv # store scenario c rps p50_us p99_us non2xx socket_errors other_load% cpu_us_per_req redis_cmds_per_req redis_cpu_us_per_req
: >"$RESULTS"
declare -A FACTS RSS_AFTER

measure_ceiling() {
  local out share
  out=$(FERRID_BENCH_KEYS="$1" FERRID_BENCH_SECS="$CEILING_SECS" taskset -c "$SERVER_CPU" "$CEILING_BIN")
  share=$(sed -n 's/.*"cpu_share":\([0-9.]*\).*/\1/p' <<<"$out")
  if awk -v s="$share" 'BEGIN { exit !(s != "" && s < 0.95) }'; then
    log "bench: warning: the signing ceiling ran only ${share} of its time on core $SERVER_CPU (something else used it)"
  fi
  # "tokens/s CPU-us-per-token"
  echo "$(sed -n 's/.*"sign_ceiling_per_sec":\([0-9.]*\).*/\1/p' <<<"$out") $(sed -n 's/.*"cpu_us_per_token":\([0-9.]*\).*/\1/p' <<<"$out")"
}

# redis_work: "<commands> <CPU µs>" Redis has served so far (INFO commandstats calls, and
# used_cpu_sys + used_cpu_user), or "- -" without a Redis store. On a shared BENCH_REDIS_URL
# other clients' work counts too.
redis_work() {
  [[ -n ${REDIS_CLI_URL:-} ]] || { echo "- -"; return; }
  redis-cli -u "$REDIS_CLI_URL" info all 2>/dev/null | tr -d '\r' | awk -F'[:,=]' '
    /^cmdstat_/ { calls += $3 }
    /^used_cpu_sys:/ || /^used_cpu_user:/ { cpu += $2 }
    END { printf "%d %.0f\n", calls, cpu * 1000000 }'
}
# per_request BEFORE AFTER N: the Redis work between two redis_work samples per request.
per_request() {
  awk -v b="$1" -v a="$2" -v n="$3" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    if (x[1] == "-" || n <= 0) { print "- -"; exit }
    printf "%.1f %.1f\n", (y[1] - x[1]) / n, (y[2] - x[2]) / n }'
}

# scenario_env SPEC: exports the request of a scenario for bench/wrk.lua; prints its path.
scenario_env() {
  local name method path body auth feed authorization=""
  IFS='|' read -r name method path body auth feed <<<"$1"
  case $auth in
    service) authorization=$SERVICE_AUTH ;;
    app) authorization=$APP_AUTH ;;
    user) authorization="Bearer $USER_TOKEN" ;;
  esac
  [[ $body == *@ACCESS_TOKEN@* ]] && body=${body//@ACCESS_TOKEN@/$(fresh_token)}
  export BENCH_METHOD=$method BENCH_BODY=$body BENCH_AUTHORIZATION=$authorization
  export BENCH_FEED=$feed BENCH_FEED_FILE=$WORK/feed
  SCENARIO_PATH=$path
  SCENARIO_FEED=$feed
}

scenario_spec() {
  local spec
  for spec in "${SCENARIOS[@]}"; do [[ ${spec%%|*} == "$1" ]] && echo "$spec"; done
}

# one_run STORE NAME C URL [alongside]: one wrk run; prints its result as a RESULTS line.
one_run() {
  local store=$1 name=$2 c=$3 url=$4 out line
  local cpu_before cpu_after proc_before proc_after other ns_before ns_after cpu_us requests
  local rps p50 p99 non2xx sock redis_before redis_after redis_per
  prepare_feed "$c" "$DURATION"
  redis_before=$(redis_work)
  cpu_before=$(cpu_ticks "$SERVER_CPU")
  proc_before=$(proc_ticks "$FERRID_PID")
  ns_before=$(proc_on_cpu_ns "$FERRID_PID")
  out=$(wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/wrk.lua" "$url")
  cpu_after=$(cpu_ticks "$SERVER_CPU")
  proc_after=$(proc_ticks "$FERRID_PID")
  ns_after=$(proc_on_cpu_ns "$FERRID_PID")
  redis_after=$(redis_work)
  other=$(other_load "$cpu_before" "$cpu_after" "$proc_before" "$proc_after")
  line=$(grep '^BENCH_RESULT ' <<<"$out" | sed 's/^BENCH_RESULT //')
  [[ -n $line ]] || die "wrk gave no result for $name c=$c: $out"
  rps=$(sed -n 's/.*"rps":\([0-9.]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.*"p50_us":\([0-9]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.*"non2xx":\([0-9]*\).*/\1/p' <<<"$line")
  sock=$(sed -n 's/.*"socket_errors":\([0-9]*\).*/\1/p' <<<"$line")
  requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<<"$line")
  # ferrid's CPU time per request: what the core would allow with nothing else on it (not
  # meaningful when another load runs alongside).
  cpu_us=$(awk -v a="$ns_after" -v b="$ns_before" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? (a - b) / n / 1000 : 0) }')
  redis_per=$(per_request "$redis_before" "$redis_after" "$requests")
  if [[ ${5:-} == alongside ]]; then cpu_us=-; redis_per="- -"; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$name" "$c" "$rps" "$p50" "$p99" "$non2xx" "$sock" "$other" "$cpu_us" ${redis_per/ /$'\t'}
}

# measure_run STORE NAME C URL [alongside]: BENCH_REPEAT runs, keeps the fastest (the one least
# disturbed by anything else on the machine), prints its line and appends it to RESULTS.
measure_run() {
  local best="" run i
  for ((i = 0; i < REPEAT; i++)); do
    run=$(one_run "$@")
    if [[ -z $best ]] || awk -v a="$(cut -f4 <<<"$run")" -v b="$(cut -f4 <<<"$best")" 'BEGIN { exit !(a > b) }'; then
      best=$run
    fi
  done
  echo "$best" >>"$RESULTS"
  local store name c rps p50 p99 non2xx sock other cpu_us rcmds rcpu
  IFS=$'\t' read -r store name c rps p50 p99 non2xx sock other cpu_us rcmds rcpu <<<"$best"
  printf '%-7s %-26s c=%-3s %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s  CPU %s us/req  other load on core %s: %s%%%s%s\n' \
    "$store" "$name" "$c" "$rps" "$(awk -v u="$p50" 'BEGIN{printf "%.2f", u/1000}')" \
    "$(awk -v u="$p99" 'BEGIN{printf "%.2f", u/1000}')" "$non2xx" "$cpu_us" "$SERVER_CPU" "$other" \
    "$([[ $sock == 0 ]] || echo "  socket errors $sock")" \
    "$([[ $rcmds == - ]] || echo "  Redis $rcmds cmds, $rcpu us CPU per req")"
}

run_scenario() {
  local store=$1 spec=$2 c
  scenario_env "$spec"
  # Warm-up, not recorded.
  prepare_feed 16 1
  wrk -t1 -c16 -d1s -s "$ROOT/bench/wrk.lua" "$BASE$SCENARIO_PATH" >/dev/null
  for c in $CONCURRENCY; do
    measure_run "$store" "${spec%%|*}" "$c" "$BASE$SCENARIO_PATH"
  done
  # RSS once a scenario's runs are over. The code and refresh scenarios leave state behind
  # (refresh families live for weeks, unused codes for 60 s), the others leave none.
  local rss
  rss=$(rss_kb "$FERRID_PID" VmRSS)
  RSS_AFTER[$store]+="${spec%%|*} $(mb "$rss") MB, "
  [[ -n $SCENARIO_FEED ]] || FACTS[$store.rss_stateless_kb]=$rss
}

# JWKS at c=1 while token requests saturate ferrid's core at the highest concurrency: what a
# resource server refreshing its keys (or a health check) waits behind signing.
run_alongside() {
  local store=$1 c_max=${CONCURRENCY##* } load_pid
  scenario_env "$(scenario_spec token_client_credentials)"
  wrk -t1 -c"$c_max" -d"$((REPEAT * DURATION + 2))s" --timeout 10s -s "$ROOT/bench/wrk.lua" \
    "$BASE$SCENARIO_PATH" >/dev/null &
  load_pid=$!
  PIDS+=("$load_pid")
  sleep 1
  scenario_env "$(scenario_spec jwks)"
  measure_run "$store" jwks_alongside_tokens 1 "$BASE$SCENARIO_PATH" alongside
  wait "$load_pid" 2>/dev/null || true
}

fresh_token() {
  curl -sf -H "Authorization: $SERVICE_AUTH" -d grant_type=client_credentials -d scope=read "$BASE/token" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}

bench_store() {
  local store=$1 dir=$WORK/$1
  mkdir -p "$dir"
  local env=()
  REDIS_CLI_URL=
  if [[ $store == redis* ]]; then
    local url=${BENCH_REDIS_URL:-}
    if [[ -z $url ]]; then
      local rport
      rport=$(free_port)
      taskset -c "$LOAD_CPU" redis-server --port "$rport" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
      REDIS_PID=$!
      PIDS+=("$REDIS_PID")
      url=redis://127.0.0.1:$rport/0
      local tries=0
      until redis-cli -p "$rport" ping >/dev/null 2>&1; do
        tries=$((tries + 1))
        [[ $tries -lt 100 ]] || die "redis-server did not start"
        sleep 0.05
      done
      if [[ $store == redis-replicated || ${BENCH_REDIS_REPLICA:-0} == 1 ]]; then
        local replica_port
        replica_port=$(free_port)
        mkdir -p "$dir/replica"
        taskset -c "$LOAD_CPU" redis-server --port "$replica_port" --bind 127.0.0.1 --save '' \
          --appendonly no --dir "$dir/replica" --replicaof 127.0.0.1 "$rport" >"$dir/replica.log" 2>&1 &
        REPLICA_PID=$!
        PIDS+=("$REPLICA_PID")
        tries=0
        until redis-cli -p "$replica_port" info replication 2>/dev/null | grep -q 'master_link_status:up'; do
          tries=$((tries + 1))
          [[ $tries -lt 200 ]] || die "the replica did not follow its master"
          sleep 0.05
        done
      fi
    fi
    [[ $store != redis-replicated || -z ${BENCH_REDIS_URL:-} ]] ||
      log "bench: redis-replicated on BENCH_REDIS_URL: that Redis must have a replica"
    REDIS_CLI_URL=$url
    env=(FERRID_STORE="$url" FERRID_SECRETS__SYSTEM="bench-system-secret-$(date +%s%N)-0123456789"
      FERRID_REDIS__PREFIX="ferrid-bench:$$:$(date +%s%N):")
    [[ $store != redis-replicated ]] || env+=(FERRID_STORE__DURABILITY=replicated)
  fi

  # First start creates the signing key; the measured start finds it.
  start_ferrid "$dir" "${env[@]}"
  wait_for /readyz >/dev/null
  stop_pid "$FERRID_PID"

  start_ferrid "$dir" "${env[@]}"
  FACTS[$store.first_discovery_ms]=$(wait_for /.well-known/openid-configuration)
  FACTS[$store.ready_ms]=$(wait_for /readyz)
  sleep 1
  FACTS[$store.rss_idle_kb]=$(rss_kb "$FERRID_PID" VmRSS)
  JAR=$dir/cookies
  login
  USER_TOKEN=$(user_token)
  [[ -n $USER_TOKEN ]] || die "no user access token from the code flow"
  log "bench: $store: ferrid pid $FERRID_PID on core $SERVER_CPU, first discovery after ${FACTS[$store.first_discovery_ms]} ms, ready after ${FACTS[$store.ready_ms]} ms, RSS idle $(mb "${FACTS[$store.rss_idle_kb]}") MB"

  local spec
  for spec in "${SCENARIOS[@]}"; do
    [[ ${spec%%|*} =~ $SCENARIO_FILTER ]] || continue
    run_scenario "$store" "$spec"
  done
  if [[ token_client_credentials =~ $SCENARIO_FILTER && jwks =~ $SCENARIO_FILTER ]]; then
    run_alongside "$store"
  fi
  [[ ${BENCH_LOGINS:-50} -gt 0 && $store == redis* ]] && measure_logins "$store" "${BENCH_LOGINS:-50}"
  FACTS[$store.rss_end_kb]=$(rss_kb "$FERRID_PID" VmRSS)
  FACTS[$store.rss_peak_kb]=$(rss_kb "$FERRID_PID" VmHWM)
  log "bench: $store: RSS at the end $(mb "${FACTS[$store.rss_end_kb]}") MB, peak $(mb "${FACTS[$store.rss_peak_kb]}") MB; after each scenario: ${RSS_AFTER[$store]%, }"
  stop_pid "$FERRID_PID"
  if [[ -n ${REPLICA_PID:-} ]]; then
    stop_pid "$REPLICA_PID"
    REPLICA_PID=
  fi
  if [[ -n ${REDIS_PID:-} ]]; then
    stop_pid "$REDIS_PID"
    REDIS_PID=
  fi
}

# measure_logins STORE N: N sign-ins in a row through the login page with curl (GET /authorize,
# which starts the interaction, then POST /login; Argon2id dominates ferrid's CPU), each in a new
# cookie jar; prints ferrid's CPU and Redis's commands and CPU per sign-in.
measure_logins() {
  local store=$1 n=$2 i ns_before ns_after redis_before redis_after saved_jar=$JAR
  ns_before=$(proc_on_cpu_ns "$FERRID_PID")
  redis_before=$(redis_work)
  for ((i = 0; i < n; i++)); do
    JAR=$WORK/login-jar
    rm -f "$JAR"
    login
  done
  ns_after=$(proc_on_cpu_ns "$FERRID_PID")
  redis_after=$(redis_work)
  JAR=$saved_jar
  read -r rcmds rcpu <<<"$(per_request "$redis_before" "$redis_after" "$n")"
  printf '%-7s %-26s %d sign-ins: ferrid CPU %s us per sign-in  Redis %s cmds, %s us CPU per sign-in\n' \
    "$store" login "$n" "$(awk -v a="$ns_after" -v b="$ns_before" -v n="$n" 'BEGIN { printf "%.0f", (a - b) / n / 1000 }')" "$rcmds" "$rcpu"
}

# ---------------------------------------------------------------- run
log "bench: $(nproc --all) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); ferrid on core $SERVER_CPU, wrk on core $LOAD_CPU; ${DURATION}s per run"
mkdir -p "$WORK/ceiling"
read -r CEILING_BEFORE SIGN_CPU_BEFORE <<<"$(measure_ceiling "$WORK/ceiling/keys")"
log "bench: signing ceiling on core $SERVER_CPU: $CEILING_BEFORE tokens/s ($SIGN_CPU_BEFORE us CPU per token)"
# What one DPoP proof costs to verify through ferrid's verifier, and the ES256 verification in it.
DPOP_VERIFY_US=- ES256_VERIFY_US=-
if [[ token_client_credentials_dpop =~ $SCENARIO_FILTER ]]; then
  out=$(FERRID_BENCH_DPOP_HTU=http://127.0.0.1/token FERRID_BENCH_DPOP_COUNT=5000 FERRID_BENCH_DPOP_VERIFY=1 \
    taskset -c "$SERVER_CPU" "$DPOP_BIN")
  DPOP_VERIFY_US=$(sed -n 's/.*"verify_us":\([0-9.]*\).*/\1/p' <<<"$out")
  ES256_VERIFY_US=$(sed -n 's/.*"es256_verify_us":\([0-9.]*\).*/\1/p' <<<"$out")
  log "bench: a DPoP proof costs $DPOP_VERIFY_US us to verify on core $SERVER_CPU, of which the ES256 signature $ES256_VERIFY_US us"
fi
for store in $STORES; do
  bench_store "$store"
done
read -r CEILING_AFTER SIGN_CPU_AFTER <<<"$(measure_ceiling "$WORK/ceiling/keys")"
# Like the runs, the less disturbed of the two measurements counts.
CEILING=$(awk -v a="$CEILING_BEFORE" -v b="$CEILING_AFTER" 'BEGIN { printf "%.1f", (a > b ? a : b) }')
SIGN_CPU=$(awk -v a="$SIGN_CPU_BEFORE" -v b="$SIGN_CPU_AFTER" 'BEGIN { printf "%.1f", (a < b ? a : b) }')
log "bench: signing ceiling on core $SERVER_CPU: $CEILING_AFTER tokens/s after the runs ($SIGN_CPU_AFTER us CPU per token); using the better of the two, $CEILING tokens/s and $SIGN_CPU us"

# ---------------------------------------------------------------- report
rps_of() { awk -F'\t' -v s="$1" -v n="$2" -v c="$3" '$1 == s && $2 == n && $3 == c { print $4 }' "$RESULTS"; }
cpu_of() { awk -F'\t' -v s="$1" -v n="$2" -v c="$3" '$1 == s && $2 == n && $3 == c { print $10 }' "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
check() { # check LABEL VALUE OP LIMIT
  local verdict
  verdict=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { if (v == "-" || v == "") print "n/a"; else if ((op == ">=" && v + 0 >= l + 0) || (op == "<=" && v + 0 <= l + 0)) print "met"; else print "MISSED" }')
  printf '%-58s %10s  target %s %-6s %s\n' "$1" "$2" "$3" "$4" "$verdict"
}

echo
echo "== ratios (signing ceiling $CEILING tokens/s, $SIGN_CPU us CPU per token, on core $SERVER_CPU) =="
for store in $STORES; do
  for c in $CONCURRENCY; do
    token=$(rps_of "$store" token_client_credentials "$c")
    target=0.9
    [[ $store == redis* ]] && target=0.8
    check "$store c=$c token_rps / sign_ceiling" "$(ratio "$token" "$CEILING")" ">=" "$target"
  done
done
# The same figure from CPU time instead of wall time (sign CPU per token / ferrid CPU per token
# request): what the ratio would be with nothing else on the core.
for store in $STORES; do
  for c in $CONCURRENCY; do
    printf '%-58s %10s\n' "$store c=$c sign CPU / ferrid CPU per token (quiet-core ratio)" \
      "$(ratio "$SIGN_CPU" "$(cpu_of "$store" token_client_credentials "$c")")"
  done
done
# A DPoP token request against a plain one: the proof's signature verification (ES256) and
# its jti written to the store are the extra work.
[[ $DPOP_VERIFY_US == - ]] ||
  printf '%-58s %10s  (ES256 alone %s us)\n' "DPoP proof verification, us on core $SERVER_CPU" "$DPOP_VERIFY_US" "$ES256_VERIFY_US"
for store in $STORES; do
  for c in $CONCURRENCY; do
    dpop=$(rps_of "$store" token_client_credentials_dpop "$c")
    [[ -n $dpop ]] || continue
    printf '%-58s %10s  (+%s us CPU per request)\n' "$store c=$c dpop_token_rps / token_rps" \
      "$(ratio "$dpop" "$(rps_of "$store" token_client_credentials "$c")")" \
      "$(awk -v a="$(cpu_of "$store" token_client_credentials_dpop "$c")" -v b="$(cpu_of "$store" token_client_credentials "$c")" 'BEGIN { printf "%.1f", a - b }')"
  done
done
# What store.durability = "replicated" costs: the same scenario with and without waiting for
# the replica (both stores have one when BENCH_REDIS_REPLICA=1).
for name in refresh_rotation authorization_code; do
  for c in $CONCURRENCY; do
    replicated=$(rps_of redis-replicated "$name" "$c")
    [[ -n $replicated && -n $(rps_of redis "$name" "$c") ]] || continue
    printf '%-58s %10s\n' "c=$c $name rps replicated / none" "$(ratio "$replicated" "$(rps_of redis "$name" "$c")")"
  done
done
c_max=${CONCURRENCY##* }
token=$(rps_of memory token_client_credentials "$c_max")
check "memory c=$c_max jwks_rps / token_rps" "$(ratio "$(rps_of memory jwks "$c_max")" "$token")" ">=" 30
check "memory c=$c_max discovery_rps / token_rps" "$(ratio "$(rps_of memory discovery "$c_max")" "$token")" ">=" 30
check "memory c=$c_max introspection_rps / token_rps" "$(ratio "$(rps_of memory introspection "$c_max")" "$token")" ">=" 10
check "memory c=$c_max userinfo_rps / token_rps" "$(ratio "$(rps_of memory userinfo "$c_max")" "$token")" ">=" 10
# The code and refresh grants sign an access token and an ID token per request.
for store in $STORES; do
  for name in authorization_code refresh_rotation; do
    rps=$(rps_of "$store" "$name" "$c_max")
    [[ -n $rps ]] || continue
    printf '%-58s %10s\n' "$store c=$c_max $name signatures/s / sign_ceiling" \
      "$(ratio "$(awk -v r="$rps" -v n="${SIGNATURES[$name]}" 'BEGIN { print r * n }')" "$CEILING")"
  done
done
token_cpu=$(cpu_of memory token_client_credentials "$c_max")
printf '%-58s %10s\n' "memory c=$c_max jwks / token by CPU time (quiet-core ratio)" "$(ratio "$token_cpu" "$(cpu_of memory jwks "$c_max")")"
printf '%-58s %10s\n' "memory c=$c_max discovery / token by CPU time (quiet-core)" "$(ratio "$token_cpu" "$(cpu_of memory discovery "$c_max")")"
while IFS=$'\t' read -r store name c rps p50 p99 non2xx sock other cpu_us _; do
  [[ $c == "$c_max" ]] || continue
  check "$store c=$c $name p99 / p50" "$(ratio "$p99" "$p50")" "<=" 3
done <"$RESULTS"
for store in $STORES; do
  check "$store RSS idle (MB)" "$(mb "${FACTS[$store.rss_idle_kb]}")" "<=" 20
  [[ -z ${FACTS[$store.rss_stateless_kb]:-} ]] ||
    check "$store RSS after the last stateless scenario's c=$c_max run (MB)" "$(mb "${FACTS[$store.rss_stateless_kb]}")" "<=" 40
  check "$store RSS at the end of all runs (MB)" "$(mb "${FACTS[$store.rss_end_kb]}")" "<=" 40
  check "$store RSS peak (MB)" "$(mb "${FACTS[$store.rss_peak_kb]}")" "<=" 40
  check "$store start to first discovery, keys present (ms)" "${FACTS[$store.first_discovery_ms]}" "<=" 100
  printf '%-58s %10s\n' "$store start to ready (ms)" "${FACTS[$store.ready_ms]}"
done
disturbed=$(awk -F'\t' '$9 > 5 { n++ } END { print n + 0 }' "$RESULTS")
if [[ $disturbed -gt 0 ]]; then
  echo "warning: in $disturbed run(s) something other than ferrid used more than 5% of core $SERVER_CPU (column 'other load'); numbers from a quiet machine are more trustworthy"
fi

mkdir -p "$CARGO_TARGET_DIR/bench-results"
REPORT=$CARGO_TARGET_DIR/bench-results/last-run.md
{
  echo "| store | scenario | c | req/s | p50 ms | p99 ms | p99/p50 | non-2xx | ratio | CPU µs/req | other load | Redis cmds/req | Redis CPU µs/req |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
  while IFS=$'\t' read -r store name c rps p50 p99 non2xx sock other cpu_us rcmds rcpu; do
    if [[ -n ${SIGNATURES[$name]:-} ]]; then
      r="$(ratio "$(awk -v r="$rps" -v n="${SIGNATURES[$name]}" 'BEGIN { print r * n }')" "$CEILING") × ceiling (${SIGNATURES[$name]} sig/req)"
    elif [[ $name == jwks_alongside_tokens ]]; then
      r="(latency under token load)"
    else
      r="$(ratio "$rps" "$(rps_of "$store" token_client_credentials "$c")") × token"
    fi
    printf '| %s | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s%% | %s | %s |\n' "$store" "$name" "$c" "$rps" \
      "$(awk -v u="$p50" 'BEGIN{print u/1000}')" "$(awk -v u="$p99" 'BEGIN{print u/1000}')" \
      "$(ratio "$p99" "$p50")" "$((non2xx + sock))" "$r" "$cpu_us" "$other" "$rcmds" "$rcpu"
  done <"$RESULTS"
} >"$REPORT"
echo
echo "== Markdown table (also in $REPORT) =="
cat "$REPORT"
