#!/usr/bin/env bash
# Soak test: mixed traffic against one `replyguard serve` (release build, fresh database) for SECS
# seconds at half the rate the same mix reaches flat out, then reports the status classes (the bar
# is zero 5xx) and the server's resident memory every 5 s (the bar is flat after warm-up).
#
# usage: benches/soak.sh            env: SECS=60 (soak length), PROBE=10 (flat-out probe length)
# The mix, per 20 requests: 6 article page views, 6 comment POSTs (JSON API, stored durably),
# 7 Akismet comment-checks (scored, not stored), 1 admin action (alternately the held queue and a
# spam/approve decision on one of the first 50 comments). Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-60}; probe=${PROBE:-10}
source benches/common.sh
token=soak-admin-secret
start_server --admin-token "$token"
seed_comments 50

# DELAY is the pause (ms) each connection takes before each request; 0 = flat out.
cat > "$work/mix.lua" <<LUA
local slug, key, token = "$slug", "$key", "$token"
local delay_ms = DELAY
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end
function init(args)
  counter = 0
  c2, c3, c4, c5, other = 0, 0, 0, 0, 0
end
local check = "api_key=" .. key .. "&blog=https%3A%2F%2Fblog.example.com&user_ip=203.0.113.7" ..
  "&user_agent=Mozilla%2F5.0&comment_type=comment&comment_author=Reader" ..
  "&comment_author_email=reader%40example.org&comment_content=Thanks+for+the+write-up%2C+" ..
  "the+part+about+the+data+centres+was+new+to+me.&is_test=1"
function request()
  counter = counter + 1
  local r = counter % 20
  if r < 6 then
    return wrk.format("GET", "/articles/" .. slug)
  elseif r < 12 then
    local body = string.format('{"comment_content":"Soak RUNID comment %d-%d about the sponsorship deal.",' ..
      '"comment_author":"Soak %d","comment_author_email":"soak%d@example.org"}', tid, counter, tid, tid)
    return wrk.format("POST", "/api/v1/articles/" .. slug .. "/comments",
      {["Content-Type"] = "application/json"}, body)
  elseif r < 19 then
    return wrk.format("POST", "/1.1/comment-check",
      {["Content-Type"] = "application/x-www-form-urlencoded"}, check)
  elseif counter % 40 == 19 then
    return wrk.format("GET", "/api/v1/admin/comments?status=held",
      {["Authorization"] = "Bearer " .. token})
  else
    local id = (counter * 7 + tid) % 50 + 1
    local action = (counter % 80 < 40) and "spam" or "approve"
    return wrk.format("POST", "/api/v1/admin/comments/" .. id .. "/" .. action,
      {["Authorization"] = "Bearer " .. token})
  end
end
function delay()
  return delay_ms
end
function response(status, headers, body)
  if status >= 500 then c5 = c5 + 1
  elseif status >= 400 then c4 = c4 + 1
  elseif status >= 300 then c3 = c3 + 1
  elseif status >= 200 then c2 = c2 + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local t2, t3, t4, t5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t2 = t2 + t:get("c2"); t3 = t3 + t:get("c3"); t4 = t4 + t:get("c4"); t5 = t5 + t:get("c5")
  end
  io.write(string.format("STATUS 2xx=%d 3xx=%d 4xx=%d 5xx=%d socket_errors=%d\n", t2, t3, t4, t5,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("LATENCY p50=%.2fms p99=%.2fms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
LUA

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t2 on the same cores"

sed "s/DELAY/0/; s/RUNID/probe/" "$work/mix.lua" > "$work/probe.lua"
flat=$(wrk -t2 -c64 -d"${probe}s" -s "$work/probe.lua" "$url" | awk '/Requests\/sec/ {print int($2)}')
target=$(( flat / 2 ))
# Each connection waits 4 ms before each request, so target req/s needs target*4/1000 connections
# (latency adds a little on top, keeping the rate at or under the target).
conns=$(( target * 4 / 1000 )); [ "$conns" -ge 2 ] || conns=2
echo "flat-out mix: $flat req/s over ${probe}s; soak target: $target req/s with $conns connections for ${secs}s"

sed "s/DELAY/4/; s/RUNID/soak/" "$work/mix.lua" > "$work/soak.lua"
wrk -t2 -c"$conns" -d"${secs}s" -s "$work/soak.lua" "$url" > "$work/wrk.out" &
wrk_pid=$!
samples=()
for _ in $(seq 5 5 "$secs"); do
  sleep 5
  samples+=("$(rss)")
done
wait $wrk_pid
grep -E "Requests/sec|STATUS|LATENCY" "$work/wrk.out"
echo "RSS (KiB) every 5 s: ${samples[*]}"
echo "RSS after warm-up (10 s): ${samples[1]} KiB, at the end: ${samples[-1]} KiB, change: $(( samples[-1] - samples[1] )) KiB"
echo "stored comments: $(curl -s "$url/metrics" | awk '/^replyguard_stored_comments/ {s += $2} END {print s}')"
grep -c ' ERROR ' "$work/err" | sed 's/^/server log errors: /' || true
