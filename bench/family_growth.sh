#!/usr/bin/env bash
# What one refresh costs as a grant ages: 1,000 rotations of ONE refresh-token family against a
# release ferrid on a private redis-server, measured over windows of rotations (1–10, 91–100,
# 991–1000 by default): Redis commands and Redis CPU µs per rotation (INFO commandstats and
# used_cpu_sys + used_cpu_user deltas), ferrid CPU µs per rotation (schedstat), wall time per
# rotation as curl sees it, and the size of the family's record in Redis. A family whose state
# grows with every access token it issued shows it here; see BENCHMARKS.md.
#
#   bench/family_growth.sh                        # builds release, measures this checkout
#   BENCH_FERRID=/path/to/ferrid bench/family_growth.sh   # measures another build (before/after)
#   FAMILY_ROTATIONS=1000 FAMILY_WINDOW=10
# ferrid runs pinned to core 0 (BENCH_SERVER_CPU), redis-server and curl to core 1
# (BENCH_LOAD_CPU). Everything it starts it stops by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROTATIONS=${FAMILY_ROTATIONS:-1000}
WINDOW=${FAMILY_WINDOW:-10}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
source bench/lib.sh
taskset -cp "$LOAD_CPU" $$ >/dev/null
die() { echo "family_growth: $*" >&2; exit 1; }
work_dir family
start_redis

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
PREFIX="ferrid-family:$$:"
(cd "$WORK" && exec env FERRID_LOG__LEVEL=warn FERRID_BIND="127.0.0.1:$PORT" FERRID_ISSUER="$BASE" \
  FERRID_STORE="redis://127.0.0.1:$RPORT/0" FERRID_REDIS__PREFIX="$PREFIX" \
  FERRID_SECRETS__SYSTEM="family-growth-system-secret-0123456789abcdef" \
  taskset -c "$SERVER_CPU" "$FERRID" --config "$ROOT/bench/ferrid.toml" >>"$WORK/ferrid.log" 2>&1) &
FERRID_PID=$!
PIDS+=("$FERRID_PID")
for _ in $(seq 200); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz") == 200 ]] && break
  sleep 0.05
done

# One grant with offline_access through the login page (bench-app skips consent).
REDIRECT_URI_ENC=http%3A%2F%2F127.0.0.1%2Fbench%2Fcallback
VERIFIER=ferrid-bench-pkce-verifier-0123456789-abcdefghijklmnop
CHALLENGE=nTMUQq9TpawZ-w7rki5yMp1vI5wyki68Iq_Rf0mL21k
JAR=$WORK/cookies
QUERY="response_type=code&client_id=bench-app&redirect_uri=$REDIRECT_URI_ENC&code_challenge=$CHALLENGE&code_challenge_method=S256&scope=openid%20offline_access"
page=$(curl -sfL -c "$JAR" -b "$JAR" "$BASE/authorize?$QUERY") || die "GET /authorize failed"
interaction=$(sed -n 's/.*name="interaction" value="\([^"]*\)".*/\1/p' <<<"$page")
csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page")
location=$(curl -s -c "$JAR" -b "$JAR" -o /dev/null -w '%{redirect_url}' \
  --data-urlencode "interaction=$interaction" --data-urlencode "csrf_token=$csrf" \
  -d username=bench -d password=bench-password "$BASE/login")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$location")
[[ -n $code ]] || die "no code after login (redirect: $location)"
AUTH="Basic $(printf 'bench-app:bench-app-secret' | base64 -w0)"
token=$(curl -sf -H "Authorization: $AUTH" \
  -d "grant_type=authorization_code&redirect_uri=$REDIRECT_URI_ENC&code_verifier=$VERIFIER&code=$code" \
  "$BASE/token" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p')
[[ -n $token ]] || die "no refresh token"
FAMILY_KEY=$(redis-cli -p "$RPORT" --scan --pattern "${PREFIX}refresh-family:*" | grep -v ':revoked$' | head -1)

rotate() {
  local answer
  answer=$(curl -s -H "Authorization: $AUTH" -d grant_type=refresh_token -d "refresh_token=$token" \
    "$BASE/token")
  token=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' <<<"$answer")
  [[ -n $token ]] || die "refresh $((done_so_far + 1)) failed: $answer"
}

printf '| rotations | Redis cmds / rotation | Redis CPU µs / rotation | ferrid CPU µs / rotation | wall ms / rotation | family record bytes |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: |\n'
done_so_far=0
measure_window() { # measure_window FIRST: rotations FIRST..FIRST+WINDOW-1, after rotating up to FIRST-1
  local first=$1 before after ns_before ns_after t_before t_after
  while [[ $done_so_far -lt $((first - 1)) ]]; do rotate; done_so_far=$((done_so_far + 1)); done
  before=$(redis_work)
  ns_before=$(proc_on_cpu_ns "$FERRID_PID")
  t_before=$(date +%s%N)
  for _ in $(seq "$WINDOW"); do rotate; done
  t_after=$(date +%s%N)
  ns_after=$(proc_on_cpu_ns "$FERRID_PID")
  after=$(redis_work)
  done_so_far=$((done_so_far + WINDOW))
  # Two INFO calls per window are Redis's own; leave them out.
  awk -v b="$before" -v a="$after" -v nb="$ns_before" -v na="$ns_after" -v tb="$t_before" -v ta="$t_after" \
    -v n="$WINDOW" -v first="$first" -v bytes="$(redis-cli -p "$RPORT" strlen "$FAMILY_KEY")" 'BEGIN {
      split(b, x, " "); split(a, y, " ")
      printf "| %d–%d | %.1f | %.1f | %.0f | %.2f | %d |\n", first, first + n - 1,
        (y[1] - x[1] - 1) / n, (y[2] - x[2]) / n, (na - nb) / n / 1000, (ta - tb) / n / 1e6, bytes }'
}
for first in 1 $((ROTATIONS / 10 - WINDOW + 1)) $((ROTATIONS - WINDOW + 1)); do
  measure_window "$first"
done
