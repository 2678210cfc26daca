#!/usr/bin/env bash
# soak.sh: a bounded soak of the release binary (issue 9). For SOAK_SECONDS
# (default 600) it sends mixed traffic through one proxy:
#   - HTTP/1.1 keep-alive GETs (examples/soak drive), 1 in 20 to a pool
#     with a single endpoint;
#   - HTTP/2 GETs (h2load);
#   - 1-8 MiB uploads echoed back and 1-8 MiB downloads, checked byte for
#     byte, through an h2c upstream pool;
#   - WebSocket sessions echoing messages of up to 64 KiB.
# Meanwhile it rewrites the config every SOAK_RELOAD_EVERY seconds (weights
# alternate, so every write is a reload) and SIGKILLs a random upstream
# every 5-15 s, restarting it 2-8 s later (one down at a time). Every
# SOAK_SAMPLE_EVERY seconds it samples the proxy's RSS, open fds and
# threads. At the end it stops the proxy with SIGTERM and
# bench/soak_report.py judges the run (exit 0 = pass).
#
#   bench/soak.sh                       # 10 minutes
#   SOAK_SECONDS=120 bench/soak.sh      # a short run
#
# Environment: SOAK_SECONDS (600), SOAK_WARMUP (60), SOAK_RELOAD_EVERY (3),
# SOAK_SAMPLE_EVERY (5), SOAK_H1_RATE (150 req/s), SOAK_H2_RATE (100 req/s),
# SOAK_WS_SESSIONS (8), SOAK_SEED (1; bash $RANDOM and the driver's sizes),
# SOAK_OUT (default: a new /tmp/sy-soak.XXXXXX, kept), SWITCHYARD_BIN and
# SOAK_BIN (default: the release build under CARGO_TARGET_DIR or target/,
# built with `cargo build --release` when missing).
#
# Loopback only. Everything it starts (proxy, upstreams, driver, h2load)
# is stopped by PID on exit, whatever the exit path.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
SECONDS_TOTAL=${SOAK_SECONDS:-600}
WARMUP=${SOAK_WARMUP:-60}
RELOAD_EVERY=${SOAK_RELOAD_EVERY:-3}
SAMPLE_EVERY=${SOAK_SAMPLE_EVERY:-5}
H1_RATE=${SOAK_H1_RATE:-150}
H2_RATE=${SOAK_H2_RATE:-100}
WS_SESSIONS=${SOAK_WS_SESSIONS:-8}
SEED=${SOAK_SEED:-1}
RANDOM=$SEED
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SY=${SWITCHYARD_BIN:-$TARGET/release/switchyard}
SOAK=${SOAK_BIN:-$TARGET/release/examples/soak}

for tool in h2load curl python3 timeout; do
    command -v "$tool" >/dev/null || { echo "soak: missing $tool (h2load: apt-get install nghttp2-client)"; exit 1; }
done
if [[ ! -x $SY ]]; then
    echo "soak: building the release binary (cargo build --release, several minutes)"
    (cd "$ROOT" && cargo build --release --bin switchyard)
fi
if [[ ! -x $SOAK ]]; then
    echo "soak: building examples/soak (cargo build --release --example soak)"
    (cd "$ROOT" && cargo build --release --example soak)
fi

DIR=${SOAK_OUT:-$(mktemp -d /tmp/sy-soak.XXXXXX)}
mkdir -p "$DIR"
PROXY_PID="" DRIVER_PID="" H2LOAD_PID=""
declare -A UP_PID UP_PORT
cleanup() {
    local p
    for p in "$DRIVER_PID" "$H2LOAD_PID" "$PROXY_PID" "${UP_PID[@]}"; do
        [[ -n $p ]] && kill "$p" 2>/dev/null || true
    done
    for p in "$DRIVER_PID" "$H2LOAD_PID" "$PROXY_PID" "${UP_PID[@]}"; do
        [[ -n $p ]] && wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
event() { echo "${3:-$(now_ms)},$1,$2" >> "$DIR/events.csv"; }  # event WHAT NAME [EPOCH_MS]
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Upstreams by pool: api (3, HTTP/1.1, retries), bulk (2, h2c), ws (2),
# solo (1: no alternative while it is down).
NAMES=(a1 a2 a3 b1 b2 w1 w2 s1)
for n in "${NAMES[@]}"; do UP_PORT[$n]=$(free_port); done
PORT=$(free_port) ADMIN=$(free_port)
cat > "$DIR/params.env" <<PARAMS
SECONDS=$SECONDS_TOTAL
WARMUP=$WARMUP
RELOAD_EVERY=$RELOAD_EVERY
SAMPLE_EVERY=$SAMPLE_EVERY
H1_RATE=$H1_RATE
H2_RATE=$H2_RATE
WS_SESSIONS=$WS_SESSIONS
SEED=$SEED
NAMES=${NAMES[*]}
PARAMS

start_upstream() {  # start_upstream NAME: starts it, waits until it answers
    local n=$1 i
    "$SOAK" upstream --listen "127.0.0.1:${UP_PORT[$n]}" --id "$n" >>"$DIR/upstream-$n.log" 2>&1 &
    UP_PID[$n]=$!
    event start "$n"
    for i in $(seq 100); do
        if curl -sf -o /dev/null "http://127.0.0.1:${UP_PORT[$n]}/healthz"; then
            event up "$n"
            return 0
        fi
        kill -0 "${UP_PID[$n]}" 2>/dev/null || break
        sleep 0.05
    done
    event start_failed "$n"
    return 1
}

ep() { echo "{ name: $1, url: \"http://127.0.0.1:${UP_PORT[$1]}\", weight: $2 }"; }
config() {  # config GENERATION: weights alternate with the generation's parity
    local g=$1 hi=1
    (( g % 2 )) && hi=3
    cat <<YAML
# soak generation $g
version: 1
runtime: { worker_threads: 2, shutdown_timeout: 10s }
admin: { listen: "127.0.0.1:$ADMIN" }
reload: { debounce: 100ms, poll_interval: "0" }
access_log:
  path: "$DIR/access.log"
  fields: [timestamp, protocol, method, path, status, bytes_out, duration_ms, route, pool, endpoint, attempts, reason, request_id]
listeners: [{ name: web, listen: "127.0.0.1:$PORT" }]
routes:
  - { name: api, match: { path_prefix: /api }, pool: api, timeout: 10s, retries: { attempts: 3 } }
  - { name: solo, match: { path_prefix: /solo }, pool: solo, timeout: 10s }
  - { name: bulk, match: { path_prefix: /bulk }, pool: bulk, timeout: 30s }
  - { name: ws, match: { path_prefix: /ws }, pool: ws }
pools:
  - name: api
    endpoints: [$(ep a1 "$hi"), $(ep a2 1), $(ep a3 $((4 - hi)))]
    health_check: { path: /healthz, interval: 1s, timeout: 500ms }
  - name: bulk
    protocol: http2
    endpoints: [$(ep b1 "$hi"), $(ep b2 1)]
    health_check: { path: /healthz, interval: 1s, timeout: 500ms }
  - name: ws
    endpoints: [$(ep w1 1), $(ep w2 "$hi")]
    health_check: { path: /healthz, interval: 1s, timeout: 500ms }
  - name: solo
    endpoints: [$(ep s1 "$hi")]
    health_check: { path: /healthz, interval: 1s, timeout: 500ms }
YAML
}
write_config() {  # atomically, as an operator's tooling would
    config "$1" > "$DIR/next.yaml"
    mv "$DIR/next.yaml" "$DIR/switchyard.yaml"
}

sample() {  # epoch_ms,elapsed_s,rss_kib,fds,threads
    local rss threads fds
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$PROXY_PID/status" 2>/dev/null) || return 0
    threads=$(awk '/^Threads:/{print $2}' "/proc/$PROXY_PID/status" 2>/dev/null) || return 0
    fds=$(fd_count)
    echo "$(now_ms),$(( ($(now_ms) - T0) / 1000 )),$rss,$fds,$threads" >> "$DIR/samples.csv"
}
fd_count() { find "/proc/$PROXY_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

echo "soak: $SECONDS_TOTAL s, output in $DIR"
echo "epoch_ms,event,name" > "$DIR/events.csv"
echo "epoch_ms,elapsed_s,rss_kib,fds,threads" > "$DIR/samples.csv"
for n in "${NAMES[@]}"; do start_upstream "$n"; done
GEN=0
write_config "$GEN"
"$SY" --log-format json run --config "$DIR/switchyard.yaml" 2>"$DIR/proxy.log" &
PROXY_PID=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$ADMIN/readyz" && break
    kill -0 "$PROXY_PID" 2>/dev/null || { echo "soak: the proxy exited at start"; cat "$DIR/proxy.log"; exit 1; }
    sleep 0.1
done

IDLE_FDS=$(fd_count)
echo "before,$IDLE_FDS" > "$DIR/idle-fds.csv"
T0=$(now_ms)
echo "$T0" > "$DIR/t0"
timeout -k 5 $((SECONDS_TOTAL + 120)) "$SOAK" drive --proxy "127.0.0.1:$PORT" --seconds "$SECONDS_TOTAL" \
    --out "$DIR" --h1-rate "$H1_RATE" --ws-sessions "$WS_SESSIONS" --seed "$SEED" >"$DIR/driver.out" 2>&1 &
DRIVER_PID=$!
H2_CLIENTS=4
timeout -k 5 $((SECONDS_TOTAL + 60)) h2load -c "$H2_CLIENTS" -m 4 --rps $(( (H2_RATE + H2_CLIENTS - 1) / H2_CLIENTS )) \
    -D "$SECONDS_TOTAL" -H "x-request-id: h2load" "http://127.0.0.1:$PORT/api/h2" >"$DIR/h2load.txt" 2>&1 &
H2LOAD_PID=$!

# One loop drives the schedule: samples, reloads, kills and restarts.
END=$((T0 + SECONDS_TOTAL * 1000))
next_sample=$T0 next_reload=$((T0 + RELOAD_EVERY * 1000))
next_kill=$((T0 + (5 + RANDOM % 11) * 1000)) victim="" restart_at=0
while (( $(now_ms) < END )); do
    t=$(now_ms)
    kill -0 "$PROXY_PID" 2>/dev/null || { echo "soak: the proxy died"; break; }
    if (( t >= next_sample )); then sample; next_sample=$((next_sample + SAMPLE_EVERY * 1000)); fi
    if (( t >= next_reload )); then
        GEN=$((GEN + 1)); write_config "$GEN"; event reload "gen$GEN"
        next_reload=$((next_reload + RELOAD_EVERY * 1000))
    fi
    if [[ -z $victim ]] && (( t >= next_kill )); then
        victim=${NAMES[RANDOM % ${#NAMES[@]}]}
        kill -KILL "${UP_PID[$victim]}" 2>/dev/null || true
        wait "${UP_PID[$victim]}" 2>/dev/null || true
        event kill "$victim" "$t"  # the time before the kill, so no failure precedes it
        restart_at=$((t + (2 + RANDOM % 7) * 1000))
    elif [[ -n $victim ]] && (( t >= restart_at )); then
        start_upstream "$victim" || echo "soak: $victim did not restart"
        victim=""
        next_kill=$(( $(now_ms) + (5 + RANDOM % 11) * 1000 ))
    fi
    sleep 0.2
done
[[ -n $victim ]] && { start_upstream "$victim" || true; }

echo "soak: load done; waiting for the clients"
wait "$DRIVER_PID" || echo "soak: the driver exited with $?"
DRIVER_PID=""
wait "$H2LOAD_PID" || echo "soak: h2load exited with $?"
H2LOAD_PID=""
sample
# Once idle, the fds must come back down: the clients' connections close at
# once, pooled upstream connections within idle_timeout (90 s) plus the 5 s
# prune tick. Poll (bounded) until the count is back to the idle one.
idle_start=$(now_ms)
while (( $(fd_count) > IDLE_FDS && $(now_ms) - idle_start < 120000 )); do sleep 1; done
echo "after,$(fd_count),$(( ($(now_ms) - idle_start) / 1000 ))" >> "$DIR/idle-fds.csv"
ls -l "/proc/$PROXY_PID/fd" > "$DIR/fds-after.txt" 2>&1 || true
ss -tanp 2>/dev/null | grep "pid=$PROXY_PID," > "$DIR/sockets-after.txt" || true
curl -s "http://127.0.0.1:$ADMIN/metrics" > "$DIR/metrics-end.txt" || true
curl -s "http://127.0.0.1:$ADMIN/upstreams" > "$DIR/upstreams-end.json" || true
kill -TERM "$PROXY_PID"
status=0
wait "$PROXY_PID" || status=$?
PROXY_PID=""
echo "$status" > "$DIR/proxy-exit"
# The report's verdict is the script's exit status.
python3 "$BENCH/soak_report.py" "$DIR" | tee "$DIR/report.txt"
