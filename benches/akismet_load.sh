#!/usr/bin/env bash
# Akismet comment-check under load: starts `replyguard serve` (release build) on a free port with a
# fresh database, creates a key, and drives POST /1.1/comment-check with a realistic 12-field body
# and is_test=1 (scored, not stored) using wrk; prints each run and the median req/s.
# usage: benches/akismet_load.sh [connections=64] [seconds=10] [runs=3]     (needs: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-64}; secs=${2:-10}; runs=${3:-3}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/replyguard
work=$(mktemp -d)
key=$($bin keys --db "$work/rg.db" add --blog https://blog.example.com 2>/dev/null)
$bin serve --listen 127.0.0.1:0 --db "$work/rg.db" --flood-seconds 0 --rate-limit 0 > "$work/out" 2> "$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^replyguard listening on \(.*\)\/$/\1/p' "$work/out")
cat > "$work/check.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "api_key=$key&blog=https%3A%2F%2Fblog.example.com&user_ip=203.0.113.7&user_agent=Mozilla%2F5.0&referrer=https%3A%2F%2Fblog.example.com%2Fpost&permalink=https%3A%2F%2Fblog.example.com%2Fpost&comment_type=comment&comment_author=Reader&comment_author_email=reader%40example.org&comment_content=Thanks+for+the+write-up%2C+the+part+about+the+data+centres+was+new+to+me.&blog_lang=en&is_test=1"
LUA
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); wrk -t2 -c$conns -d${secs}s on the same cores"
results=()
for i in $(seq "$runs"); do
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/check.lua" "$url/1.1/comment-check")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}'); p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "run $i: $rps req/s, p50 $p50, p99 $p99"
  results+=("$rps")
done
printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {print "median:", a[int((NR+1)/2)], "req/s"}'
