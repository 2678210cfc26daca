#!/usr/bin/env bash
# callgrind.sh — user-space instructions per proxied request, counted by valgrind's callgrind
# (deterministic: unlike wall-clock figures it repeats to within a few per cent on a noisy VM).
#
#   bench/callgrind.sh [-d SECONDS] [-c CONNS] [-o DIR] PROXY
#
# PROXY is a name from proxies/proxies.list (Switchyard's need SWITCHYARD_BIN; not caddy, a Go
# program valgrind does not run well). The proxy runs under callgrind on the proxy CPU, the two
# backends and `wrk -t1 -c CONNS -d SECONDS` (100 B responses) on the other; then it is stopped
# (SIGTERM) and every process it forked or ran is counted (nginx's worker as well as its master). Prints the instructions per request and the top
# functions; DIR (default a new /tmp directory) keeps the callgrind files for callgrind_annotate.
# Start-up is counted too: under 1 % of a 10 s run. Defaults: 10 s, 10 connections (callgrind
# runs the proxy about 50 times slower, so more connections only queue).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DURATION=10 CONNS=10 OUT=""
PROXY_CPUS=${PROXY_CPUS:-1} LG_CPUS=${LG_CPUS:-0}
UP1=${UP1:-19201} UP2=${UP2:-19202}
BACKEND_BIN=${BACKEND_BIN:-$BENCH/backend/target/release/bench-backend}

die() { echo "callgrind.sh: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
    case $1 in
        -d) DURATION=$2; shift 2 ;;
        -c) CONNS=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[[ $# -eq 1 ]] || die "name one proxy (see --help)"
NAME=$1
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 && $DURATION -le 120 ]] || die "duration must be 1..120 s"
[[ $CONNS =~ ^[0-9]+$ && $CONNS -ge 1 ]] || die "not a number: $CONNS"
command -v valgrind >/dev/null || die "valgrind missing (apt-get install valgrind)"
command -v wrk >/dev/null || die "wrk missing: run ./setup.sh"
[[ -x $BACKEND_BIN ]] || die "backend not built: run ./setup.sh"

port="" config="" cmd=""
read -r port config cmd < <(awk -v n="$NAME" '$1==n{$1=""; print substr($0, 2)}' "$BENCH/proxies/proxies.list") || true
[[ -n $cmd ]] || die "unknown proxy '$NAME' (see proxies/proxies.list)"
[[ $port != - ]] || die "'$NAME' runs no proxy: nothing to count"
port=$((port + 200))   # off run.sh's ports, so both can be set up side by side

OUT=${OUT:-$(mktemp -d /tmp/callgrind.XXXXXX)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
chmod a+rwx "$OUT"   # a worker that drops privileges (nginx's runs as nobody) writes its file here
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

for up in "$UP1" "$UP2"; do
    taskset -c "$LG_CPUS" "$BACKEND_BIN" --listen "127.0.0.1:$up" --size 100 >"$OUT/backend-$up.log" 2>&1 &
    PIDS+=($!)
done
cfg=-
if [[ $config != - ]]; then
    cfg=$OUT/$config
    sed "s|@PORT@|$port|g; s|@UP1@|$UP1|g; s|@UP2@|$UP2|g; s|@DIR@|$OUT|g; s|@BENCH@|$BENCH|g" \
        "$BENCH/proxies/$config" >"$cfg"
    # Switchyard's admin listener: moved off the one a run.sh proxy may hold.
    sed -i 's|127.0.0.1:181\([0-9][0-9]\)|127.0.0.1:183\1|' "$cfg"
fi
cmd=${cmd//\{config\}/$cfg}; cmd=${cmd//\{dir\}/$OUT}; cmd=${cmd//\{port\}/$port}
cmd=${cmd//\{up1\}/$UP1}; cmd=${cmd//\{up2\}/$UP2}
(cd "$BENCH" && exec taskset -c "$PROXY_CPUS" bash -c \
    "exec valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=$OUT/callgrind.%p $cmd") >"$OUT/proxy.log" 2>&1 &
VG=$!
PIDS+=("$VG")

up=""
for _ in $(seq 200); do   # valgrind starts a proxy in seconds; bounded at 60 s
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then up=1; break; fi
    kill -0 "$VG" 2>/dev/null || break
    sleep 0.3
done
[[ -n $up ]] || die "$NAME did not answer on port $port (see $OUT/proxy.log)"

taskset -c "$LG_CPUS" wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$port/" >"$OUT/wrk.txt"
reqs=$(awk '/ requests in /{print $1}' "$OUT/wrk.txt")
kill -TERM "$VG"
for _ in $(seq 600); do kill -0 "$VG" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VG" 2>/dev/null && { kill -KILL "$VG"; die "$NAME did not stop within 60 s of SIGTERM"; }
wait "$VG" 2>/dev/null || true

compgen -G "$OUT/callgrind.*" >/dev/null || die "callgrind wrote no profile (see $OUT/proxy.log)"
total=0
for f in "$OUT"/callgrind.*; do
    n=$(awk '/^(summary|totals):/{print $2; exit}' "$f")
    total=$((total + ${n:-0}))
done
(( ${reqs:-0} > 0 )) || die "no requests served (see $OUT/wrk.txt)"
echo "$NAME: $reqs requests, $total instructions: $((total / reqs)) per request"
# The top functions of the busiest process (nginx's worker, not its master).
busiest=$(ls -S "$OUT"/callgrind.* | head -1)
{ callgrind_annotate "$busiest" 2>/dev/null || true; } | awk '/^-+$/{n++; next} n==6 && NF && k++ < 15' \
    | sed 's#/rustc/[0-9a-f]*/library/##; s#/root/.cargo/registry/src/[^/]*/##' | cut -c1-150 \
    | tee "$OUT/top.txt"
echo "(callgrind files: $OUT)"
