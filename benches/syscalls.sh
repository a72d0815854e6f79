#!/usr/bin/env bash
# System calls per operation of each runtime on the kernel-bound workloads, counted by strace.
#
#   benches/syscalls.sh                      # tcp_echo bulk_transfer many_connections many_echo
#   benches/syscalls.sh tcp_echo             # some of them
#   RUNTIMES="glass smol" benches/syscalls.sh
#
# Each workload runs once at size N and once at 2N under `strace -c -f` (`compare --once`); the
# difference of the counts over the difference of the operations is what one operation costs,
# with set-up (binding, connecting, starting the runtime) cancelled out. many_connections's server
# under test is a child process: only it runs under strace (COMPARE_SERVER_WRAP), not the shared
# client. Needs strace (Debian: apt-get install -y strace); installs nothing itself.
set -euo pipefail

if ! command -v strace >/dev/null; then
    echo "syscalls.sh: strace is missing; on Debian: apt-get install -y strace" >&2
    exit 1
fi
cd "$(dirname "$0")/.."
cargo build --release -q -p benches --bin compare
compare=$PWD/target/release/compare
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(tcp_echo bulk_transfer many_connections many_echo)
read -r -a runtimes <<<"${RUNTIMES:-glass tokio smol std}"
scratch=$(mktemp -d /tmp/syscalls.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# size N and operations per unit of size, for each workload
size_of() {
    case $1 in
        tcp_echo) echo "2000 1" ;;
        bulk_transfer) echo "64 1" ;;
        many_connections) echo "1000 1" ;;
        many_echo) echo "50 100" ;;
        *) echo "syscalls.sh: no size for $1" >&2; return 1 ;;
    esac
}

# strace's summary of `compare --once $1 $2 $3 1` into file $4 (for many_connections, the server's)
count() {
    if [ "$1" = many_connections ]; then
        COMPARE_SERVER_WRAP="strace -c -f -o $4" "$compare" --once "$1" "$2" "$3" 1
    else
        strace -c -f -o "$4" "$compare" --once "$1" "$2" "$3" 1
    fi
}

# "name calls errors" per syscall from a `strace -c` file
calls() {
    awk '$1 ~ /^[0-9.]+$/ && $NF != "total" {
        errors = (NF == 6) ? $5 : 0; print $NF, $4, errors }' "$1"
}

printf '%-17s %-6s %9s  %s\n' workload runtime "calls/op" "per op: call count (failed calls, mostly EAGAIN)"
for w in "${workloads[@]}"; do
    read -r n per <<<"$(size_of "$w")"
    for r in "${runtimes[@]}"; do
        if [ "$r" = std ] && [ "$w" = many_echo ]; then continue; fi
        count "$w" "$r" "$n" "$scratch/a" 2>"$scratch/err" || { echo "$w $r failed:"; cat "$scratch/err"; continue; }
        count "$w" "$r" $((2 * n)) "$scratch/b" 2>"$scratch/err" || { echo "$w $r failed:"; cat "$scratch/err"; continue; }
        ops=$((n * per))
        join -a 2 -e 0 -o 0,1.2,1.3,2.2,2.3 <(calls "$scratch/a" | sort) <(calls "$scratch/b" | sort) |
            awk -v ops="$ops" -v w="$w" -v r="$r" '
            { c = ($4 - $2) / ops; e = ($5 - $3) / ops; total += c
              if (c >= 0.005) { s = sprintf("%s %.2f", $1, c); if (e >= 0.005) s = s sprintf(" (%.2f)", e); list[$1] = s; order[$1] = c } }
            END {
                n = 0; for (k in order) keys[++n] = k
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (order[keys[j]] > order[keys[i]]) { t = keys[i]; keys[i] = keys[j]; keys[j] = t }
                line = ""; for (i = 1; i <= n; i++) line = line (i > 1 ? ", " : "") list[keys[i]]
                printf "%-17s %-6s %9.2f  %s\n", w, r, total, line }'
    done
done
