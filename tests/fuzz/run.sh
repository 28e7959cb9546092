#!/usr/bin/env bash
# Runs every fuzz target (libFuzzer through cargo fuzz) from seeds made from the repository's own
# files. Usage, from anywhere:
#   tests/fuzz/run.sh time 30        # each target for 30 s (CI)
#   tests/fuzz/run.sh runs 10000000  # each target for 10 million executions (the long run)
#   tests/fuzz/run.sh build          # only build the timed runs' targets (CI starts this early)
# Targets run JOBS at a time (default: one per core): libFuzzer is single-threaded, so each target
# still has a core to itself for its whole time or run count.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); on the stable toolchain it runs with
# RUSTC_BOOTSTRAP=1 because libFuzzer's instrumentation uses unstable rustc flags. A crash stops
# the run with a non-zero exit and leaves its input under tests/fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-time}
amount=${2:-30}
# Timed smoke runs (CI) build in the fuzz crate's dev profile (opt-level 1, parallel codegen,
# overflow checks): cargo fuzz's release build with one codegen unit took 15 of CI's minutes.
# They run without AddressSanitizer: replyguard forbids unsafe code (src/lib.rs), so what the
# smoke runs look for is panics, overflows, hangs and runaway memory, which libFuzzer catches
# without ASan; the time ASan's instrumentation took goes into more inputs instead. The long runs
# build optimized and keep ASan (for the dependencies' unsafe code the inputs reach).
# `build` (CI's early start) must build exactly what `time` runs, or the timed runs rebuild.
smoke=(--dev --sanitizer none)
case "$mode" in
  time) limit="-max_total_time=$amount"; build=("${smoke[@]}") ;;
  runs) limit="-runs=$amount"; build=(--release) ;;
  build) limit=""; build=("${smoke[@]}") ;;
  *) echo "usage: $0 time SECONDS | runs COUNT | build" >&2; exit 2 ;;
esac
export RUSTC_BOOTSTRAP=1
# The instrumented build lives outside the checkout, in the user's cache (as CI services cache
# build directories between runs): a fresh clone then rebuilds only replyguard and its fuzz crate,
# not the few hundred dependencies, every one of them instrumented too. Override with
# FUZZ_TARGET_DIR; a first run on a new machine simply fills it.
build+=(--target-dir "${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/replyguard/fuzz-target}")
targets=(text comment_form api_json akismet_form model_file loaders markdown)
corpus=target/fuzz-corpus
mkdir -p "$corpus"
for t in "${targets[@]}"; do mkdir -p "$corpus/$t"; done

# Seeds: real comments, real request bodies, the shipped model, the heads of the training files.
head -c 4000 training-data/youtube-spam-collection/Youtube01-Psy.csv > "$corpus/text/youtube"
head -c 4000 training-data/sms-spam-collection/SMSSpamCollection > "$corpus/text/sms"
printf 'Check <a href="http://bit.ly/x">this</a> &amp; win £1000!!! mail me@spam.example' > "$corpus/text/html"
printf 'Thanks for the *clear* write-up, the `--release` flag was it.\n\n- first\n- second\n\n> quoted <b>bold</b> [docs](https://example.org/docs) ![i](http://x.test/i.png) ~~gone~~ ~sub~ ^sup^\n\n```\ncode\n```\n' \
  > "$corpus/markdown/comment"
printf 'comment=Nice+post%%21&author=Ann&email=ann%%40example.org&url=example.org&website=&comment_parent=3' \
  > "$corpus/comment_form/form"
printf '{"comment_content":"Nice post!","comment_author":"Ann","comment_author_email":"ann@example.org","comment_author_url":"https://example.org","comment_parent":3}' \
  > "$corpus/api_json/api"
printf 'api_key=0123456789ab&blog=https%%3A%%2F%%2Fexample.org&user_ip=127.0.0.1&user_agent=Mozilla&comment_type=comment&comment_author=Ann&comment_author_email=ann%%40example.org&comment_content=Hello+%%F0%%9F%%98%%80&comment_context%%5B%%5D=x' \
  > "$corpus/akismet_form/check"
# The header only: a whole model (hundreds of KiB) would make every run hash it; mutants of it
# fail the checksum anyway.
head -c 96 models/default.rgm > "$corpus/model_file/header"
{ printf '\0'; head -c 3000 training-data/youtube-spam-collection/Youtube02-KatyPerry.csv; } > "$corpus/loaders/csv"
{ printf '\1'; head -c 3000 training-data/sms-spam-collection/SMSSpamCollection; } > "$corpus/loaders/tsv"
{ printf '\2'; printf '{"label":"spam","comment_content":"win","comment_author_url":"http://x.example"}\n{"label":"ham","comment_content":"ok"}\n'; } \
  > "$corpus/loaders/jsonl"

# cargo fuzz has no --locked: a stale tests/fuzz/Cargo.lock would be re-resolved against the
# registry (other versions than the main crate's tests ran with). Fail instead; refresh it with
#   cp Cargo.lock tests/fuzz/Cargo.lock && cargo tree --manifest-path tests/fuzz/Cargo.toml
cargo tree --locked --manifest-path tests/fuzz/Cargo.toml --depth 0 >/dev/null
cargo fuzz build "${build[@]}" --fuzz-dir tests/fuzz
[ "$mode" = build ] && exit 0

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
jobs=${JOBS:-$(nproc)}
failed=0
# One target's run; its exit status is cargo fuzz's.
run_one() {
  cargo fuzz run "${build[@]}" --fuzz-dir tests/fuzz "$1" "$corpus/$1" -- "$limit" -print_final_stats=1 \
    >"$logs/$1" 2>&1
}
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  group=("${targets[@]:i:jobs}")
  pids=()
  for t in "${group[@]}"; do run_one "$t" & pids+=($!); done
  for k in "${!group[@]}"; do
    t=${group[$k]}
    status=0
    wait "${pids[$k]}" || status=$?
    echo "== $t ($mode $amount)"
    # libFuzzer's chatter hidden; a failure shows the end of its log.
    grep -E '^(#[0-9]+ +DONE|Done |stat::number_of_executed_units|==[0-9]+==|SUMMARY|thread .* panicked|Test unit written)' \
      "$logs/$t" || true
    if [ "$status" -ne 0 ]; then
      tail -n 40 "$logs/$t"
      echo "== $t FAILED (exit $status)"
      failed=1
    fi
  done
done
exit "$failed"
