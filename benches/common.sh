# Shared by the load scripts: builds the release binary, starts `replyguard serve` on a free port
# with a fresh database and an Akismet key, and stops it (by PID) when the script exits.
# Sets: bin, work, key, pid, url, slug. Extra arguments go to `serve`. REPLYGUARD_BIN runs another
# build instead (e.g. an older commit's, for an A/B comparison on the same machine).
start_server() {
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
  if [ -n "${REPLYGUARD_BIN:-}" ]; then
    bin=$REPLYGUARD_BIN
  else
    cargo build --release --quiet
    bin=$PWD/target/release/replyguard
  fi
  work=$(mktemp -d)
  key=$($bin keys --db "$work/rg.db" add --blog https://blog.example.com 2>/dev/null)
  $bin serve --listen 127.0.0.1:0 --db "$work/rg.db" --flood-seconds 0 --rate-limit 0 "$@" \
    > "$work/out" 2> "$work/err" &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$work/err" "$KEEP_LOG"; rm -rf "$work"' EXIT
  for _ in $(seq 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.05; done
  url=$(sed -n 's/^replyguard listening on \(.*\)\/$/\1/p' "$work/out")
  slug=alibaba-olympic-partner
}

# Posts ham comments until N (default 50) are published: the model may hold a few of them, which
# are left in the queue.
seed_comments() {
  local n=${1:-50} i=0 published=0
  while [ "$published" -lt "$n" ] && [ "$i" -lt $((3 * n)) ]; do
    i=$((i + 1))
    status=$(curl -s -X POST "$url/api/v1/articles/$slug/comments" -H 'content-type: application/json' \
      -d "{\"comment_content\":\"Thanks, reader $i here: I wonder how big the cloud contract with the IOC really is.\",\"comment_author\":\"Reader $i\",\"comment_author_email\":\"reader$i@example.org\"}" \
      | python3 -c "import json,sys; print(json.load(sys.stdin).get('status'))")
    [ "$status" = published ] && published=$((published + 1))
  done
  [ "$published" = "$n" ] || { echo "seeding: only $published of $n comments published" >&2; exit 1; }
}
