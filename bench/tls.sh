#!/usr/bin/env bash
# TLS handshakes per second and HTTP/2 throughput over TLS: Switchyard
# against nginx, same certificate (ECDSA P-256, self-signed), one worker
# each, pinned like run.sh (proxy on CPU 1; load and backends on CPU 0).
#
#   SWITCHYARD_BIN=target/release/switchyard bench/tls.sh [-r ROUNDS] [-d SECONDS]
#
# Tests, each `-d` seconds after a 2 s warm-up, per proxy per round:
#   full oha -c 50 --disable-keepalive against a second listener of each
#        proxy with session resumption off (nginx: ssl_session_tickets off,
#        ssl_session_cache off; Switchyard: session_resumption: false): every
#        request is a new connection with a full TLS 1.3 handshake (ECDHE +
#        ECDSA signature), so req/s = full handshakes/s
#   hs   the same against the default listeners: oha's client offers the
#        session it got last time and both servers resume it by ticket, so
#        these are resumed handshakes (ECDHE, no signature); the share
#        Switchyard resumed is printed at the end from its metrics
#   h2   oha --http2 -c 4 -p 16: 64 streams over 4 connections, 100 B answers
# Loopback only; every process it starts is stopped by PID on exit.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=3 DUR=8
while (($#)); do
    case $1 in
        -r) ROUNDS=$2; shift 2 ;;
        -d) DUR=$2; shift 2 ;;
        *) echo "usage: $0 [-r ROUNDS] [-d SECONDS]" >&2; exit 2 ;;
    esac
done
: "${SWITCHYARD_BIN:?set SWITCHYARD_BIN to the switchyard release binary}"
OHA=${OHA:-$BENCH/.tools/bin/oha}
BACKEND_BIN=${BACKEND_BIN:-$BENCH/backend/target/release/bench-backend}
[[ -x $OHA && -x $BACKEND_BIN ]] || { echo "run bench/setup.sh first (oha, backend)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx missing: bench/setup.sh installs it" >&2; exit 1; }
UP1=${UP1:-19101} UP2=${UP2:-19102} NGX=18481 NGXF=18482 SY=18490 SYF=18491 SYADM=18590
DIR=$(mktemp -d /tmp/switchyard-tls-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=bench.local -addext subjectAltName=DNS:bench.local \
    -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null

for port in $UP1 $UP2; do
    taskset -c 0 "$BACKEND_BIN" --listen 127.0.0.1:$port --size 100 >"$DIR/be-$port.log" 2>&1 &
    PIDS+=($!)
    wait_port $port
done

cat >"$DIR/nginx.conf" <<NGINX
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backends { server 127.0.0.1:$UP1; server 127.0.0.1:$UP2; keepalive 64; }
    server {
        listen 127.0.0.1:$NGX ssl http2;
        ssl_certificate $DIR/cert.pem;
        ssl_certificate_key $DIR/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$NGXF ssl http2;
        ssl_certificate $DIR/cert.pem;
        ssl_certificate_key $DIR/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets off;
        ssl_session_cache off;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
cat >"$DIR/switchyard.yaml" <<YAML
version: 1
runtime: { worker_threads: 1 }
admin: { listen: "127.0.0.1:$SYADM" }
listeners:
  - name: web
    listen: "127.0.0.1:$SY"
    tls: { certificates: [ { cert: cert.pem, key: key.pem } ] }
  - name: full
    listen: "127.0.0.1:$SYF"
    tls: { certificates: [ { cert: cert.pem, key: key.pem } ], session_resumption: false }
routes:
  - { name: all, match: { path_prefix: / }, pool: backends }
pools:
  - name: backends
    endpoints:
      - { name: b1, url: "http://127.0.0.1:$UP1" }
      - { name: b2, url: "http://127.0.0.1:$UP2" }
YAML

taskset -c 1 nginx -p "$DIR" -c "$DIR/nginx.conf" -g 'daemon off;' >"$DIR/nginx.log" 2>&1 &
PIDS+=($!)
taskset -c 1 "$SWITCHYARD_BIN" run --config "$DIR/switchyard.yaml" >"$DIR/switchyard.log" 2>&1 &
PIDS+=($!)
wait_port $NGX && wait_port $NGXF && wait_port $SY && wait_port $SYF || { echo "a proxy did not start; logs in $DIR" >&2; exit 1; }

rps() { # rps JSON -> requests/s
    python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["summary"]["requestsPerSec"]))' "$1"
}
run() { # run NAME PORT TEST ROUND
    local args url="https://127.0.0.1:$2/" out="$DIR/$1-$3-$4.json"
    case $3 in
        full) args=(-c 50 --disable-keepalive) ;;
        hs) args=(-c 50 --disable-keepalive) ;;
        h2) args=(--http2 -c 4 -p 16) ;;
    esac
    taskset -c 0 timeout 30 "$OHA" -z 2s "${args[@]}" --insecure --no-tui --output-format quiet "$url" >/dev/null 2>&1 || true
    taskset -c 0 timeout $((DUR + 20)) "$OHA" -z "${DUR}s" "${args[@]}" --insecure --no-tui --output-format json "$url" >"$out"
    printf '%s\t%s\t%s\t%s\n' "$4" "$1" "$3" "$(rps "$out")"
}
printf 'round\tproxy\ttest\treq_per_s\n'
for r in $(seq "$ROUNDS"); do
    for t in full hs h2; do
        if [[ $t == full ]]; then
            run nginx $NGXF $t "$r"
            run switchyard $SYF $t "$r"
        else
            run nginx $NGX $t "$r"
            run switchyard $SY $t "$r"
        fi
    done
done
# How many of Switchyard's handshakes resumed, per listener.
curl -s "http://127.0.0.1:$SYADM/metrics" | python3 -c '
import re, sys
ok, resumed = {}, {}
for line in sys.stdin:
    m = re.match(r"switchyard_tls_(handshakes|resumed_handshakes)_total\{(.*)\} (\S+)", line)
    if not m:
        continue
    labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(2)))
    if m.group(1) == "resumed_handshakes":
        resumed[labels["listener"]] = float(m.group(3))
    elif labels.get("result") == "success":
        ok[labels["listener"]] = float(m.group(3))
for l, n in ok.items():
    print(f"switchyard listener {l}: {n:.0f} handshakes, {resumed.get(l, 0):.0f} resumed", file=sys.stderr)
' 
echo "raw oha output and logs: $DIR" >&2
