#!/usr/bin/env bash
# The demo against the downloaders people use: nginx on 127.0.0.1 serves generated files, and
# `demo`, `curl`, `wget` and `aria2c` download them, in alternation, on four shapes:
#
#   1gib     one 1 GiB file
#   64x4mib  64 files of 4 MiB, 8 at once
#   300x256k 300 files of 256 KiB, 16 at once
#   2000x16k 2,000 files of 16 KiB, 64 at once
#
# Beside them, `floor`: the durable floor, the same bytes copied into a folder (`cp -r`) and then
# made durable (`sync -f`, one `syncfs`). The demo makes every file durable before it gets its
# name; curl, wget and aria2c do not (their files may still be in memory when they exit), so
# the floor is what any downloader that promises durability must at least pay on this disk. For
# each shape the last line compares the demo with the larger of curl's time and the floor's.
#
#   benches/downloaders.sh                 # every shape, 3 rounds
#   ROUNDS=5 benches/downloaders.sh 64x4mib
#   TOOLS="demo curl" benches/downloaders.sh
#
# For each run: wall time, CPU time (user + system) and peak resident memory of the downloader,
# from GNU time (`/usr/bin/time`); the table gives medians over the rounds, and every run's
# output is compared byte for byte with what nginx served (`cmp`) before it counts. The tools run
# in a rotating order, so none always goes first. Everything lives in one temporary folder under
# /tmp (served files, downloads, nginx's configuration and logs) and, with DISK=image, one file
# system image at a time; all removed at the end.
#
# Where the downloads are written, DISK says:
#   DISK=image (the default) a fresh ext4 file system, with a journal (mkfs.ext4's defaults, as
#              on most Linux desktops), made for each shape in a file on the real disk
#              (IMAGE_DIR, default /var/tmp) and mounted through a loop device; needs root.
#              Each shape starts from the same empty file system, whatever ran before.
#   DISK=tmp   the folder under /tmp, as it is. Its state carries over from earlier runs: on an
#              ext4 without a journal (as some virtual machines' are), every new file's inode is
#              looked for past the inodes deleted in the last minute or so, so each run's
#              creations get slower with the number of files the runs before it removed, and the
#              same command can take twice as long a minute later.
#
# It installs nothing. nginx and GNU time are required; a missing downloader is left out.
# On Debian: apt-get install -y nginx curl wget aria2 time
# (If installing nginx started its service, it does not matter: this one runs on its own port.)
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
rounds=${ROUNDS:-3}
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(1gib 64x4mib 300x256k 2000x16k)
read -r -a wanted <<<"${TOOLS:-demo curl wget aria2c floor}"
disk=${DISK:-image}
case $disk in
    image | tmp) ;;
    *) echo "downloaders.sh: DISK is image or tmp, not $disk" >&2; exit 2 ;;
esac

# ---- what is there --------------------------------------------------------------------------
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
missing=()
[ -x "$nginx_bin" ] || missing+=(nginx)
[ -x /usr/bin/time ] || missing+=(time)
tools=()
for t in "${wanted[@]}"; do
    case $t in
        demo | floor) tools+=("$t") ;;
        curl | wget | aria2c)
            if command -v "$t" >/dev/null; then tools+=("$t"); else missing+=("$t"); fi ;;
        *) echo "downloaders.sh: unknown tool $t" >&2; exit 2 ;;
    esac
done
if [ "$disk" = image ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "downloaders.sh: DISK=image mounts a file system, which needs root (or DISK=tmp)" >&2
        exit 1
    fi
    for t in mkfs.ext4 losetup; do command -v $t >/dev/null || missing+=("$t"); done
fi
if [ ${#missing[@]} -gt 0 ]; then
    pkgs=$(printf '%s\n' "${missing[@]}" | sed 's/^aria2c$/aria2/' | tr '\n' ' ')
    echo "downloaders.sh: missing: ${missing[*]}; on Debian: apt-get install -y $pkgs" >&2
    if [[ " ${missing[*]} " =~ " "(nginx|time|mkfs.ext4|losetup)" " ]]; then exit 1; fi
fi
if [[ " ${tools[*]} " == *" demo "* ]]; then
    cargo build --release -q -p demo
fi
demo=$repo/target/release/demo

work=$(mktemp -d /tmp/downloaders.XXXXXX)
# nginx started by root serves as an unprivileged user ("nobody"), which must be able to read it.
chmod 755 "$work"
nginx_pid=
image=
cleanup() {
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    unmake_disk
    rm -rf "$work"
}
trap cleanup EXIT

# ---- nginx on a free port, everything in $work -----------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 20000)))
mkdir -p "$work/www" "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$port;
        root $work/www;
    }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# ---- the files ---------------------------------------------------------------------------------
# shape -> "count size_in_KiB jobs"
shape_of() {
    case $1 in
        1gib) echo "1 1048576 1" ;;
        64x4mib) echo "64 4096 8" ;;
        300x256k) echo "300 256 16" ;;
        2000x16k) echo "2000 16 64" ;;
        *) echo "downloaders.sh: unknown shape $1 (1gib, 64x4mib, 300x256k, 2000x16k)" >&2; return 1 ;;
    esac
}
make_files() { # shape: random contents, so that a wrong byte anywhere shows
    read -r count kib _ <<<"$(shape_of "$1")"
    mkdir -p "$work/www/$1"
    head -c $((kib * 1024)) /dev/urandom >"$work/www/$1/f0"
    for i in $(seq 1 $((count - 1))); do
        # Different files, cheaply: the first one with the file's number written over its start.
        { printf '%08d' "$i"; tail -c +9 "$work/www/$1/f0"; } >"$work/www/$1/f$i"
    done
    for i in $(seq 0 $((count - 1))); do echo "http://127.0.0.1:$port/$1/f$i"; done >"$work/$1.urls"
}

# ---- where the downloads go ---------------------------------------------------------------------
# make_disk SHAPE: sets `disk_dir`, an empty folder to download into (see DISK above).
make_disk() {
    if [ "$disk" = tmp ]; then
        disk_dir=$work
        return
    fi
    read -r count kib _ <<<"$(shape_of "$1")"
    # Room for two copies of the shape (a run's and the last one's, until it is removed), and the
    # journal's and the inode tables' share.
    local mib=$((2 * count * kib / 1024 + 256))
    image=$(mktemp "${IMAGE_DIR:-/var/tmp}/downloaders.XXXXXX.ext4")
    truncate -s "${mib}M" "$image"
    mkfs.ext4 -q -F "$image"
    mkdir -p "$work/disk"
    mount -o loop "$image" "$work/disk"
    disk_dir=$work/disk
}

unmake_disk() {
    [ -n "$image" ] || return 0
    umount "$work/disk" 2>/dev/null || true
    rm -f "$image"
    image=
}

# ---- one run -----------------------------------------------------------------------------------
# run TOOL SHAPE OUT: downloads into OUT under GNU time; prints "wall cpu peak_kib"
run() {
    local tool=$1 shape=$2 out=$3 jobs
    read -r _ _ jobs <<<"$(shape_of "$shape")"
    mkdir -p "$out"
    local -a cmd
    # All at once from the one server, as curl and aria2c do here: the demo's --per-host would
    # otherwise hold it to 6 connections.
    case $tool in
        demo) mapfile -t urls <"$work/$shape.urls"; cmd=("$demo" "${urls[@]}" -o "$out" -j "$jobs" --per-host "$jobs") ;;
        curl) cmd=(curl -s -S --fail -Z --parallel-max "$jobs" --output-dir "$out" --remote-name-all -K "$work/$shape.curl") ;;
        wget) cmd=(wget -q -P "$out" -i "$work/$shape.urls") ;;
        aria2c) cmd=(aria2c -q -j "$jobs" -d "$out" -i "$work/$shape.urls" --auto-file-renaming=false) ;;
        floor) cmd=(sh -c 'cp -r "$1/." "$2/" && sync -f "$2"' floor "$work/www/$shape" "$out") ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "${cmd[@]}" >"$work/log" 2>&1 || {
        echo "downloaders.sh: $tool on $shape failed:" >&2; tail -5 "$work/log" >&2; return 1; }
    # Byte for byte: every served file, and nothing else, in the output.
    if ! diff -r -q "$work/www/$shape" "$out" >"$work/diff" 2>&1; then
        echo "downloaders.sh: $tool on $shape: output differs:" >&2; head -5 "$work/diff" >&2; return 1
    fi
    awk '{ printf "%.3f %.3f %d\n", $1, $2 + $3, $4 }' "$work/time"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '%-9s %-7s %9s %9s %10s %6s\n' shape tool wall cpu "peak RSS" "runs"
for shape in "${shapes[@]}"; do
    make_files "$shape"
    sed 's/^/url = /' "$work/$shape.urls" >"$work/$shape.curl"
    : >"$work/$shape.results"
    make_disk "$shape"
    for round in $(seq 0 $((rounds - 1))); do
        n=${#tools[@]}
        for k in $(seq 0 $((n - 1))); do
            tool=${tools[$(((round + k) % n))]}
            out="$disk_dir/out"
            rm -rf "$out"
            # Each run starts with no dirty data of the last one left for it to write out.
            sync -f "$disk_dir"
            if m=$(run "$tool" "$shape" "$out"); then echo "$tool $m" >>"$work/$shape.results"; fi
            rm -rf "$out"
        done
    done
    unmake_disk
    for tool in "${tools[@]}"; do
        runs=$(grep -c "^$tool " "$work/$shape.results" || true)
        [ "$runs" -gt 0 ] || { printf '%-9s %-7s %s\n' "$shape" "$tool" "no successful run"; continue; }
        wall=$(grep "^$tool " "$work/$shape.results" | cut -d' ' -f2 | median)
        cpu=$(grep "^$tool " "$work/$shape.results" | cut -d' ' -f3 | median)
        peak=$(grep "^$tool " "$work/$shape.results" | cut -d' ' -f4 | median)
        printf '%-9s %-7s %8.2fs %8.2fs %7.1f MiB %6d\n' "$shape" "$tool" "$wall" "$cpu" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$runs"
        eval "wall_$tool=$wall cpu_$tool=$cpu"
    done
    if [ -n "${wall_demo:-}" ] && [ -n "${wall_curl:-}" ]; then
        awk -v s="$shape" -v d="$wall_demo" -v c="$wall_curl" -v f="${wall_floor:-0}" -v dc="$cpu_demo" -v cc="$cpu_curl" 'BEGIN {
            ref = (f > c) ? f : c
            printf "%-9s demo / curl: wall %.2fx, cpu %.2fx; demo / max(curl, floor): wall %.2fx\n", s, d / c, dc / cc, d / ref }'
    fi
    unset wall_demo wall_curl wall_floor cpu_demo cpu_curl
    rm -rf "${work:?}/www/$shape"
done
echo "medians over $rounds alternated rounds; cpu: user + system; peak RSS: the downloader's (GNU time %M)"
echo "floor: cp -r of the served files, then sync -f; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
case $disk in
    image) echo "written to a fresh ext4 (with a journal) on a loop device, one per shape (DISK=image)" ;;
    tmp) echo "written under /tmp: $(findmnt -no FSTYPE,OPTIONS -T /tmp 2>/dev/null || echo '?') (DISK=tmp)" ;;
esac
