#!/usr/bin/env bash
# Runs every test binary of the `executor` crate (its unit tests and each file in executor/tests/)
# under valgrind's memcheck. Any memory error (an invalid read or write, a use of uninitialised
# memory, a bad free) or any leaked block (definitely or indirectly lost) fails the run. This is
# the check that the hand-written `RawWaker` code is sound: a waker clone that forgot its count
# leaks its task, a drop that released one count too many reads freed memory.
#
# "Possibly lost" and "still reachable" blocks are not errors: the blocking pool's helper threads
# and the test harness's own threads are still alive when the process exits.
#
# The tests run with the same counts as under plain `cargo test` (100,000 tasks, 8 threads x 10,000
# wakes); GLASS_UNDER_VALGRIND=1 only stretches each test's hang deadline from 60 s to 900 s. Tests
# run one at a time (--test-threads=1): valgrind runs one thread at a time anyway, and the
# timing-sensitive tests then do not compete. --fair-sched=yes hands the CPU to threads in turn,
# so a spinning thread (the 300 ms CPU loop in tests/blocking.rs) cannot starve the others.
# The whole run takes about a minute on a 2-core machine.
#
# Usage: .ci/valgrind-executor.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind-executor: installing valgrind" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

# Build the test binaries and collect their paths from cargo's JSON messages: the artifacts of the
# executor package that were built as tests and have an executable.
mapfile -t binaries < <(
    cargo test -p executor --no-run --message-format=json |
        grep '"reason":"compiler-artifact"' |
        grep '"manifest_path":"[^"]*/executor/Cargo.toml"' |
        grep '"test":true' |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
)
if [ "${#binaries[@]}" -eq 0 ]; then
    echo "valgrind-executor: no test binary found for the executor package" >&2
    exit 1
fi

export GLASS_UNDER_VALGRIND=1
started=$SECONDS
for binary in "${binaries[@]}"; do
    echo "=== valgrind: ${binary##*/}"
    valgrind \
        --tool=memcheck \
        --error-exitcode=1 \
        --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect \
        --fair-sched=yes \
        --num-callers=40 \
        --quiet \
        "$binary" --test-threads=1
done
echo "valgrind-executor: ${#binaries[@]} test binaries clean under memcheck in $((SECONDS - started)) s"
