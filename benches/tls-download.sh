#!/usr/bin/env bash
# One large file from nginx over TLS: glass's http_client, hyper over tokio-rustls, and curl
# (OpenSSL), alternated in one run; prints each round and the medians.
#
#   bash benches/tls-download.sh [ROUNDS] [SIZE_MIB]        # defaults: 5 rounds, 256 MiB
#   PERF=1 bash benches/tls-download.sh 1                   # also `perf stat` each client once
#
# Needs nginx, openssl and curl (apt-get install nginx openssl curl). nginx runs as one process
# (`master_process off`) on a free port of 127.0.0.1, with a CA and certificate made here by
# openssl (P-256), all in a temporary folder removed at the end. Every client trusts only that CA.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
size_mib=${2:-256}
for program in nginx openssl curl python3; do
  command -v "$program" >/dev/null || { echo "needs $program (apt-get install $program)" >&2; exit 1; }
done

cargo build --release -q -p benches --bin tls_download
bin=target/release/tls_download

dir=$(mktemp -d)
nginx_pid=
cleanup() { [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

# A CA and a certificate for localhost signed by it, as an administrator would make them.
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
(
  cd "$dir"
  openssl req -x509 -days 2 -subj "/CN=glass bench CA" "${ec[@]}" -keyout ca.key -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -subj /CN=localhost "${ec[@]}" -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem 2>/dev/null
)
mkdir -p "$dir/www" "$dir/tmp"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$dir/www/big.bin"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
error_log $dir/error.log; pid $dir/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $dir/server.pem; ssl_certificate_key $dir/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;  # nginx 1.22 leaves TLS 1.3 out by default
    root $dir/www;
  }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" &
nginx_pid=$!
url="https://localhost:$port/big.bin"
for _ in $(seq 100); do
  curl -s --cacert "$dir/ca.pem" -o /dev/null -r 0-0 "$url" && break
  sleep 0.1
done
bytes=$(stat -c %s "$dir/www/big.bin")

# One download; prints "client seconds user sys".
run() {
  case $1 in
    curl)
      # time_total, like the Rust clients' timer: from before the connect to the last byte.
      local out
      out=$( { /usr/bin/time -f '%U %S' curl -s --cacert "$dir/ca.pem" -o /dev/null \
        -w '%{size_download} %{time_total}\n' "$url"; } 2>&1 )
      read -r got seconds user sys <<<"$(echo $out)"
      [ "$got" = "$bytes" ] || { echo "curl got $got of $bytes bytes" >&2; exit 1; }
      echo "curl $seconds $user $sys" ;;
    *)
      read -r client got seconds user sys suite <<<"$("$bin" "$1" "$url" "$dir/ca.pem")"
      [ "$got" = "$bytes" ] || { echo "$1 got $got of $bytes bytes" >&2; exit 1; }
      echo "$client $seconds $user $sys" ;;
  esac
}

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
echo "tls-download: $size_mib MiB from nginx $(nginx -v 2>&1 | cut -d/ -f2) over TLS, $rounds rounds, $(date -u +%F) UTC, $(nproc) CPUs"
echo "suite (rustls clients): $("$bin" hyper "$url" "$dir/ca.pem" | cut -d' ' -f6)"
clients=(glass hyper curl)
results=$(mktemp)
for round in $(seq "$rounds"); do
  # Each round starts with the next client, so none always runs first (or last).
  for i in 0 1 2; do
    client=${clients[$(( (round + i) % 3 ))]}
    line=$(run "$client")
    echo "round $round: $line"
    echo "$line" >>"$results"
  done
done

echo
printf '%-6s %10s %10s %10s %10s %8s\n' client "median s" "MiB/s" "user s" "sys s" "÷best"
best=$(for c in "${clients[@]}"; do grep "^$c " "$results" | cut -d' ' -f2 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; done | sort -g | head -1)
for c in "${clients[@]}"; do
  median() { grep "^$c " "$results" | cut -d' ' -f"$1" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  s=$(median 2)
  printf '%-6s %10.3f %10.0f %10.3f %10.3f %8.2f\n' "$c" "$s" "$(echo "$size_mib / $s" | bc -l)" \
    "$(median 3)" "$(median 4)" "$(echo "$s / $best" | bc -l)"
done
rm -f "$results"

if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  for c in glass hyper; do
    echo; echo "perf stat: $c"
    perf stat -e task-clock,context-switches,cpu-migrations,page-faults -- "$bin" "$c" "$url" "$dir/ca.pem" 2>&1 | grep -v '^$'
  done
fi
