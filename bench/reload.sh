#!/usr/bin/env bash
# reload.sh: p99 latency of steady traffic while the config is rewritten
# every 100 ms, compared with no reloads (issue 3). Loopback only; every run
# is bounded by oha's -z and an outer timeout; processes are stopped by PID.
#
#   bench/reload.sh [-r ROUNDS] [-d SECONDS] [-q RATE] [-i RELOAD_MS]
#
# Needs bench/setup.sh (backend, oha) and a release build (SWITCHYARD_BIN,
# default target/release/switchyard). Pinning as run.sh's split mode: the
# proxy alone on CPU 1; oha, the backends and the rewriter on CPU 0.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
ROUNDS=3 DURATION=10 RATE=5000 INTERVAL_MS=100
while getopts "r:d:q:i:" o; do
    case $o in r) ROUNDS=$OPTARG ;; d) DURATION=$OPTARG ;; q) RATE=$OPTARG ;; i) INTERVAL_MS=$OPTARG ;; *) exit 2 ;; esac
done
OHA=${OHA:-$BENCH/.tools/bin/oha}
BACKEND=${BACKEND_BIN:-$BENCH/backend/target/release/bench-backend}
SY=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
for f in "$OHA" "$BACKEND" "$SY"; do [[ -x $f ]] || { echo "missing $f (run bench/setup.sh and cargo build --release)"; exit 1; }; done

DIR=$(mktemp -d /tmp/sy-reload.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP1=$(free_port) UP2=$(free_port) PORT=$(free_port) ADMIN=$(free_port)
taskset -c 0 "$BACKEND" --listen "127.0.0.1:$UP1" --id b1 >/dev/null 2>&1 & PIDS+=($!)
taskset -c 0 "$BACKEND" --listen "127.0.0.1:$UP2" --id b2 >/dev/null 2>&1 & PIDS+=($!)

config() {  # config VERSION
    cat <<YAML
version: 1
runtime: { worker_threads: 1 }
admin: { listen: "127.0.0.1:$ADMIN" }
reload: { debounce: 10ms, poll_interval: "0" }
listeners: [{ name: web, listen: "127.0.0.1:$PORT" }]
routes:
  - { name: all, match: { path_prefix: / }, pool: backends, response_headers: { set: { x-config: "v$1" } } }
pools:
  - name: backends
    endpoints:
      - { name: b1, url: "http://127.0.0.1:$UP1", weight: 1 }
      - { name: b2, url: "http://127.0.0.1:$UP2", weight: 1 }
YAML
}
config 0 > "$DIR/switchyard.yaml"
taskset -c 1 "$SY" run --config "$DIR/switchyard.yaml" 2>"$DIR/proxy.log" & PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null && break; sleep 0.1; done

reloads() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^switchyard_config_reloads_total\{result="success"\}/{print $2}'; }
p99() {  # p99 JSON -> "p50 p99 p99.9 errors"
    python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); p = d["latencyPercentiles"]
bad = sum(v for k, v in d.get("statusCodeDistribution", {}).items() if not k.startswith("2")) + sum(d.get("errorDistribution", {}).values())
print(f'{p["p50"]*1000:.3f} {p["p99"]*1000:.3f} {p["p99.9"]*1000:.3f} {bad}')
PY
}
run_oha() { timeout -k 5 $((DURATION + 30)) taskset -c 0 "$OHA" -z "${DURATION}s" -q "$RATE" -c 50 --latency-correction -w --no-tui --output-format json "http://127.0.0.1:$PORT/" > "$1"; }

# Warm up.
timeout 20 taskset -c 0 "$OHA" -z 2s -q "$RATE" -c 50 --no-tui "http://127.0.0.1:$PORT/" >/dev/null
echo "round mode p50_ms p99_ms p99.9_ms errors reloads"
v=1
for r in $(seq "$ROUNDS"); do
    run_oha "$DIR/none.json"
    echo "$r none $(p99 "$DIR/none.json") 0"
    before=$(reloads)
    (   # rewrite every INTERVAL_MS for the length of the run, then stop
        end=$((SECONDS + DURATION))
        while (( SECONDS < end )); do
            v=$((v + 1)); config "$v" > "$DIR/next.yaml"; mv "$DIR/next.yaml" "$DIR/switchyard.yaml"
            sleep "$(awk -v ms="$INTERVAL_MS" 'BEGIN{print ms/1000}')"
        done
    ) & W=$!; PIDS+=($W)
    run_oha "$DIR/reload.json"
    wait "$W" || true
    after=$(reloads)
    echo "$r reload $(p99 "$DIR/reload.json") $((after - before))"
    v=$((v + 1000))
done
