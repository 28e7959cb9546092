#!/usr/bin/env bash
# HTTP load benchmark: starts `replyguard serve` (release build) on a free port with a fresh
# database, drives it with wrk on 127.0.0.1 only, prints req/s and p50/p99 per scenario (median of
# RUNS runs by req/s), and stops the server it started by its PID.
#
# usage: benches/http_load.sh [scenario…]   (default: all)     env: SECS=10 RUNS=3
#   page       GET the article page with 50 published comments, 64 connections
#   akismet    POST /1.1/comment-check, 14-field body, is_test=1 (scored, not stored), 64 connections,
#              alternating run by run with its ceiling: a bare axum server (benches/bare_axum.rs)
#              answering `false` to the same request, and that server under the layer stack of
#              the router's Akismet routes; prints the medians and the ratios
#   akismet-stored  POST /1.1/comment-check as WordPress sends it (no is_test): every check a
#              new text from a new sender, counted against the key's quota and stored durably
#   post64     POST a new comment to the JSON API (stored durably before the 201), 64 connections
#   post256    the same with 256 connections
# Needs: wrk (apt-get install -y wrk). Per-IP flood and rate limits are switched off for the run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-10}; runs=${RUNS:-3}
scenarios=("$@"); [ ${#scenarios[@]} -gt 0 ] || scenarios=(page akismet akismet-stored post64 post256)
source benches/common.sh
start_server
seed_comments 50   # for the page scenario

cat > "$work/akismet.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "api_key=$key&blog=https%3A%2F%2Fblog.example.com&user_ip=203.0.113.7&user_agent=Mozilla%2F5.0&referrer=https%3A%2F%2Fblog.example.com%2Fpost&permalink=https%3A%2F%2Fblog.example.com%2Fpost&comment_type=comment&comment_author=Reader&comment_author_email=reader%40example.org&comment_content=Thanks+for+the+write-up%2C+the+part+about+the+data+centres+was+new+to+me.&blog_lang=en&blog_charset=UTF-8&is_test=1"
LUA
# What WordPress sends: no is_test, so each check is counted and stored; every one distinct.
cat > "$work/akismet_stored.lua" <<LUA
local counter = 0
local tid = 0
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function request()
  counter = counter + 1
  local body = string.format("api_key=$key&blog=https%%3A%%2F%%2Fblog.example.com&user_ip=203.0.113.%d&user_agent=Mozilla%%2F5.0&permalink=https%%3A%%2F%%2Fblog.example.com%%2Fpost&comment_type=comment&comment_author=Reader+%d&comment_author_email=reader-RUNID-%d-%d%%40example.org&comment_content=Thanks+for+the+write-up+RUNID-%d-%d%%2C+the+part+about+the+data+centres+was+new+to+me.", counter % 200, counter, tid, counter, tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
LUA
# Every posted comment is distinct (the duplicate check would refuse repeats).
cat > "$work/post.lua" <<'LUA'
local counter = 0
local thread_id = 0
function setup(thread) thread_id = thread_id + 1; thread:set("tid", thread_id) end
function init(args) counter = 0 end
function request()
  counter = counter + 1
  local body = string.format('{"comment_content":"Load test comment RUNID-%d-%d about the sponsorship deal.","comment_author":"Load %d","comment_author_email":"load%d-%d@example.org"}', tid, counter, tid, tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA

run() { # name connections path [script]
  local name=$1 conns=$2 path=$3 script=${4:-}
  local results=() line
  for i in $(seq "$runs"); do
    # A run id in every posted text keeps runs from colliding with the duplicate check.
    if [ -n "$script" ]; then sed "s/RUNID/$name$conns-$i/" "$script" > "$work/run.lua"; fi
    results+=("$(measure "$url" "$conns" "$path" ${script:+"$work/run.lua"})")
  done
  line=$(printf '%s\n' "${results[@]}" | median)
  printf '%-8s c=%-3s median of %d: %s req/s   (all: %s)\n' "$name" "$conns" "$runs" "$line" "$(printf '%s; ' "${results[@]}")"
}

# The ceiling for the Akismet check: a bare axum handler, built like the server (release), and
# the same handler under the layer stack of the router's Akismet routes (what the layers cost).
start_bare() {
  bare_bin=$(cargo bench --bench bare_axum --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
  [ -x "$bare_bin" ] || { echo "cannot build benches/bare_axum.rs" >&2; exit 1; }
  "$bare_bin" 127.0.0.1:0 > "$work/bare.out" &
  bare_pid=$!
  "$bare_bin" 127.0.0.1:0 --layers > "$work/layered.out" &
  layered_pid=$!
  trap 'kill $pid $bare_pid $layered_pid 2>/dev/null; wait $pid $bare_pid $layered_pid 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$work/err" "$KEEP_LOG"; rm -rf "$work"' EXIT
  for _ in $(seq 100); do grep -q listening "$work/bare.out" 2>/dev/null && grep -q listening "$work/layered.out" 2>/dev/null && break; sleep 0.05; done
  bare_url=$(sed -n 's/^listening on \(.*\)\/$/\1/p' "$work/bare.out")
  layered_url=$(sed -n 's/^listening on \(.*\)\/$/\1/p' "$work/layered.out")
}

# CPU time a process has used, user and system, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One wrk run: "req/s p50=… p99=… non2xx=…", and with a server's PID "cpu=…us/req": the
# server's own CPU time per answered request, steadier than req/s when the machine is shared.
measure() { # base_url connections path script [server_pid]
  local out rps p50 p99 errs before cpu=""
  [ -n "${5:-}" ] && before=$(cpu_ticks "$5")
  out=$(wrk -t2 -c"$2" -d"${secs}s" --latency ${4:+-s "$4"} "$1$3")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}'); p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  if [ -n "${5:-}" ]; then
    cpu=$(echo "$out" | awk -v t="$(( $(cpu_ticks "$5") - before ))" -v hz="$(getconf CLK_TCK)" \
      '/requests in/ {printf " cpu=%.1fus/req", t * 1e6 / hz / $1}')
  fi
  echo "$rps p50=$p50 p99=$p99 non2xx=${errs:-0}$cpu"
}

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }

# The Akismet check and its ceilings, run after run in turn so all see the same machine.
akismet_vs_bare() {
  local checks=() bares=() layereds=() check bare layered
  start_bare
  for _ in $(seq "$runs"); do
    bares+=("$(measure "$bare_url" 64 /1.1/comment-check "$work/akismet.lua" "$bare_pid")")
    layereds+=("$(measure "$layered_url" 64 /1.1/comment-check "$work/akismet.lua" "$layered_pid")")
    checks+=("$(measure "$url" 64 /1.1/comment-check "$work/akismet.lua" "$pid")")
  done
  check=$(printf '%s\n' "${checks[@]}" | median); bare=$(printf '%s\n' "${bares[@]}" | median)
  layered=$(printf '%s\n' "${layereds[@]}" | median)
  printf 'akismet  c=64  median of %d: %s req/s   (all: %s)\n' "$runs" "$check" "$(printf '%s; ' "${checks[@]}")"
  printf 'bare     c=64  median of %d: %s req/s   (all: %s)\n' "$runs" "$bare" "$(printf '%s; ' "${bares[@]}")"
  printf 'layered  c=64  median of %d: %s req/s   (all: %s)\n' "$runs" "$layered" "$(printf '%s; ' "${layereds[@]}")"
  awk -v a="${check%% *}" -v b="${bare%% *}" -v l="${layered%% *}" \
    'BEGIN {printf "akismet / bare axum: %.0f%%   (bare under the layers of the Akismet routes: %.0f%% of bare)\n", 100 * a / b, 100 * l / b}'
  # The same ratios in CPU per request (medians of each's runs), bare's over the others'.
  local cpu_check cpu_bare cpu_layered
  cpu_check=$(printf '%s\n' "${checks[@]}" | sed 's/.*cpu=\([0-9.]*\)us.*/\1/' | median)
  cpu_bare=$(printf '%s\n' "${bares[@]}" | sed 's/.*cpu=\([0-9.]*\)us.*/\1/' | median)
  cpu_layered=$(printf '%s\n' "${layereds[@]}" | sed 's/.*cpu=\([0-9.]*\)us.*/\1/' | median)
  awk -v a="$cpu_check" -v b="$cpu_bare" -v l="$cpu_layered" \
    'BEGIN {printf "server CPU per request, medians: check %.1f us, bare %.1f us (bare / check: %.0f%%), layered %.1f us (%.0f%%)\n", a, b, 100 * b / a, l, 100 * b / l}'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t2, ${secs}s runs, on the same cores"
for s in "${scenarios[@]}"; do
  case $s in
    page) run page 64 "/articles/$slug" ;;
    akismet) akismet_vs_bare ;;
    akismet-stored) run checks 64 /1.1/comment-check "$work/akismet_stored.lua" ;;
    post64) run post 64 "/api/v1/articles/$slug/comments" "$work/post.lua" ;;
    post256) run post 256 "/api/v1/articles/$slug/comments" "$work/post.lua" ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
echo "server RSS at the end: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
