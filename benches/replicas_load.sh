#!/usr/bin/env bash
# Replica load benchmark: durable comment POSTs spread over two `replyguard serve` replicas on one
# private PostgreSQL cluster (initdb into a temporary directory, as the tests do; fsync and
# synchronous_commit on), each replica driven by its own wrk with C connections, beside the same
# load on one SQLite server (2×C connections) and beside PostgreSQL's own ceiling for this work:
# `pgbench` inserting the same comment row into the same table (same indexes, triggers and
# durability: one durable transaction per row) from 2×C clients, all in the same run, in turn.
# Prints req/s (combined) and p50/p99 per replica, pgbench's rows/s and the ratio, the median of
# RUNS runs, and checks every comment acknowledged was stored.
#
# usage: benches/replicas_load.sh            env: SECS=10 RUNS=3 C=32 REPLYGUARD_BIN=(another build)
# Needs: wrk and Debian's postgresql (tests/setup.sh installs postgresql; pgbench is in it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-10}; runs=${RUNS:-3}; conns=${C:-32}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [ -n "${REPLYGUARD_BIN:-}" ]; then
  bin=$REPLYGUARD_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/replyguard
fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d); chmod 755 "$work"
cleanup() {
  # serve() runs in command substitutions (subshells): the PIDs are kept in a file.
  for p in $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  # $pg is runuser's PID when run as root, and the signal did not reach PostgreSQL (the script
  # then waited forever): stop the postmaster by the PID it records.
  [ -f "$work/pg/data/postmaster.pid" ] && kill -INT "$(head -1 "$work/pg/data/postmaster.pid")" 2>/dev/null || true
  [ -n "${pg:-}" ] && kill -QUIT "$pg" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir "$work/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg/data" --auth=trust --username=postgres --no-sync >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pgbin/postgres" -D "$work/pg/data" -p "$port" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$work/pg" -c max_connections=200 >"$work/pg.log" 2>&1 &
pg=$!
for _ in $(seq 100); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
"$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres rg
db="postgres://postgres@127.0.0.1:$port/rg"

serve() { # db → prints the URL
  local out=$work/out.$RANDOM
  $bin serve --listen 127.0.0.1:0 --db "$1" --flood-seconds 0 --rate-limit 0 >"$out" 2>>"$work/serve.err" &
  echo $! >> "$work/pids"
  for _ in $(seq 100); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/^replyguard listening on \(.*\)\/$/\1/p' "$out"
}
slug=alibaba-olympic-partner
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
function done(summary, latency, requests) io.write(string.format("acked %d\n", summary.requests - summary.errors.status)) end
LUA
load() { # run-id url connections → wrk output
  sed "s/RUNID/$1/" "$work/post.lua" > "$work/$1.lua"
  wrk -t1 -c"$3" -d"${secs}s" --latency -s "$work/$1.lua" "$2/api/v1/articles/$slug/comments"
}
field() { awk -v k="$1" '$1==k {print $2}'; }
# The row a reader's comment stores (the columns of INSERT_COMMENT), one durable transaction each.
cat > "$work/insert.sql" <<'SQL'
\set n random(1, 2000000000)
INSERT INTO comments (article, parent_id, author, author_email, author_url, content, user_ip, user_agent, referrer, status, verdict, spam_probability, clues, model_version, source, created_at, akismet_guid, api_key_id, site_id) VALUES ('alibaba-olympic-partner', NULL, 'Load', 'load' || :n || '@example.org', NULL, 'pgbench comment ' || :n || ' about the sponsorship deal.', '127.0.0.1', 'wrk', NULL, 'published', 'published', 0.02, '[{"token":"word:deal","weight":-0.4}]', 'bench', 'api', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), NULL, NULL, 1);
SQL
pgbench() { # → "rows/s p50=… p99=…" (latencies from pgbench's per-transaction log)
  rm -f "$work"/pgbench_log.*
  (cd "$work" && "$pgbin/pgbench" -n -f insert.sql -c $((2 * conns)) -j 2 -T "$secs" -l \
     -h 127.0.0.1 -p "$port" -U postgres rg > pgbench.out 2>&1)
  local tps; tps=$(awk '/^tps = / {printf "%.0f", $3}' "$work/pgbench.out")
  cat "$work"/pgbench_log.* | awk '{print $3 / 1000}' | sort -n > "$work/lat.txt"
  local n; n=$(wc -l < "$work/lat.txt")
  echo "$tps p50=$(sed -n "$(( (n + 1) / 2 ))p" "$work/lat.txt")ms p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/lat.txt")ms"
}

a=$(serve "$db"); b=$(serve "$db")
sqlite_url=$(serve "$work/rg.sqlite")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'); wrk on the same cores, ${secs}s runs"
pg_lines=(); sq_lines=(); bench_lines=(); ratios=()
for i in $(seq "$runs"); do
  load "pgA$i" "$a" "$conns" > "$work/a.txt" & wa=$!
  load "pgB$i" "$b" "$conns" > "$work/b.txt" & wb=$!
  wait $wa $wb
  rps=$(cat "$work/a.txt" "$work/b.txt" | awk '/Requests\/sec/ {s+=$2} END {printf "%.0f", s}')
  non2xx=$(cat "$work/a.txt" "$work/b.txt" | awk '/Non-2xx/ {s+=$5} END {print s+0}')
  pg_lines+=("$rps p50=$(field 50% < "$work/a.txt")/$(field 50% < "$work/b.txt") p99=$(field 99% < "$work/a.txt")/$(field 99% < "$work/b.txt") non2xx=$non2xx")
  load "sq$i" "$sqlite_url" $((2 * conns)) > "$work/s.txt"
  sq_lines+=("$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/s.txt") p50=$(field 50% < "$work/s.txt") p99=$(field 99% < "$work/s.txt") non2xx=$(awk '/Non-2xx/ {print $5}' "$work/s.txt")")
  bench_lines+=("$(pgbench)")
  ratios+=("$(awk -v a="${pg_lines[-1]%% *}" -v b="${bench_lines[-1]%% *}" 'BEGIN {printf "%.2f", a / b}')")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
echo "postgres 2 replicas × c=$conns  median of $runs: $(median "${pg_lines[@]}") comments/s (all: $(printf '%s; ' "${pg_lines[@]}"))"
echo "sqlite   1 server   c=$((2 * conns))  median of $runs: $(median "${sq_lines[@]}") comments/s (all: $(printf '%s; ' "${sq_lines[@]}"))"
echo "pgbench  same row   c=$((2 * conns))  median of $runs: $(median "${bench_lines[@]}") rows/s (all: $(printf '%s; ' "${bench_lines[@]}"))"
echo "2 replicas / pgbench, run by run: $(printf '%s ' "${ratios[@]}")(median $(median "${ratios[@]}"))"
stored=$("$pgbin/psql" -X -A -t -q "$db" -c "SELECT count(*) FROM comments WHERE source = 'api' AND model_version != 'bench'")
echo "postgres comments stored by the replicas: $stored"
