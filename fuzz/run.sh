#!/usr/bin/env bash
# Fuzzes `http_client::proto` for MINUTES (default 10), then keeps what it learnt:
#   - every input that broke a property (crash, endless loop, out of memory) is copied into
#     fuzz/regressions/, which `cargo test -p http-client --test fuzz_replay` replays ever after;
#   - the new inputs that reached new code are merged (only those) into fuzz/corpus/proto/.
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain (`rustup toolchain
# install nightly`). The log of the run is fuzz/artifacts/proto.log.
#
#   fuzz/run.sh 10
set -euo pipefail

minutes=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$root/fuzz
corpus=$fuzz/corpus/proto
artifacts=$fuzz/artifacts/proto
log=$fuzz/artifacts/proto.log
mkdir -p "$artifacts" "$fuzz/regressions"
# The fuzzer writes each new input into the first folder it is given: a scratch one, so that the
# committed corpus only ever gets the minimised merge below.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cd "$root"
# -s none: the code under test is safe Rust, so AddressSanitizer would only halve the speed;
#   overflow checks and debug assertions stay on (cargo-fuzz's default).
# -fork=1 -ignore_*: go on after a failure, so one run can find several.
# -timeout=10: an input that takes 10 s is an endless loop (a normal one takes microseconds).
# -max_len=4096: the response; the input format's padding reaches the 64 KiB limits from it.
status=0
cargo +nightly fuzz run proto -s none "$scratch" "$corpus" -- \
    -max_total_time=$((minutes * 60)) -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
    -ignore_ooms=1 -timeout=10 -max_len=4096 -artifact_prefix="$artifacts/" \
    2>&1 | tee "$log" || status=$?

runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')

found=0
for input in "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [ -e "$input" ] || continue
    mv "$input" "$fuzz/regressions/"
    found=$((found + 1))
done

# The new corpus: the seeds (written by `cargo test -p http-client --test fuzz_replay --
# --ignored`), then, of the old corpus and this run's inputs, a small set that reaches every
# edge of the code they reach (libFuzzer's set-cover merge, counting edges only, not hit counts
# or comparisons, which would keep thousands of files), so it stays small run after run.
merged=$(mktemp -d)
trap 'rm -rf "$scratch" "$merged"' EXIT
cp "$corpus"/seed-* "$merged/"
cargo +nightly fuzz run proto -s none "$merged" "$corpus" "$scratch" -- -merge=1 \
    -set_cover_merge=1 -use_counters=0 -use_cmp=0 -max_len=4096 >>"$log" 2>&1
rm "$corpus"/*
cp "$merged"/* "$corpus/"

echo
echo "fuzz/run.sh: ${runs:-0} executions in $minutes min" \
    "(fuzzer exit $status); $found failing input(s) now in fuzz/regressions/;" \
    "corpus: $(ls "$corpus" | wc -l) files, $(du -sh "$corpus" | cut -f1)"
