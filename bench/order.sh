#!/usr/bin/env bash
# order.sh: writes bench/symbol-order.txt, the function layout build.rs hands
# to the linker for the release binary (see build.rs for what it buys).
#
#   bench/order.sh [OUTPUT]        (default bench/symbol-order.txt)
#   bench/order.sh --check         how much of the file the release binary has
#
# It runs the release binary under callgrind through what a running proxy
# does: start-up with health checks, scoring and metrics on, requests with
# 100 B and 16 KiB bodies (and over TLS, HTTP/1.1 and HTTP/2, on a second
# listener), the admin API and status page, a hot reload to the
# bare config, more traffic, a reload to the plugin config (if
# plugins/vendor-auth.wasm is built) with traffic through the plugin, and a
# graceful stop. Every function of the binary that ran is listed: first
# those that ran for plain requests, the most instructions first, so the
# request path is packed at the start of .text; then what TLS and HTTP/2
# added; then start-up, reload and plugin compilation code.
#
# Rerun it after a dependency update or a large change to the request path,
# then rebuild (cargo build --release): names the file lists that the new
# binary lacks only lose their share of the gain.
#
# Needs bench/setup.sh (backend, wrk), valgrind, and a release build
# (SWITCHYARD_BIN, default target/release/switchyard). Loopback only; every
# load run is bounded by wrk's -d; processes are stopped by PID.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
OUTPUT=${1:-$BENCH/symbol-order.txt}
BACKEND=${BACKEND_BIN:-$BENCH/backend/target/release/bench-backend}
SY=${SWITCHYARD_BIN:-$ROOT/target/release/switchyard}
if [[ $OUTPUT == --check ]]; then
    [[ -x $SY ]] || { echo "missing $SY (cargo build --release)"; exit 1; }
    listed=$(wc -l < "$BENCH/symbol-order.txt")
    found=$(nm --defined-only "$SY" | awk '{print $NF}' | sort -u | comm -12 - <(sort -u "$BENCH/symbol-order.txt") | wc -l)
    echo "$found of $listed functions in bench/symbol-order.txt are in $SY"
    [[ $found -ge $((listed * 9 / 10)) ]] || echo "stale: rerun bench/order.sh, then cargo build --release"
    exit 0
fi
for f in "$BACKEND" "$SY"; do [[ -x $f ]] || { echo "missing $f (run bench/setup.sh and cargo build --release)"; exit 1; }; done
for b in valgrind callgrind_control wrk curl python3 nm; do command -v "$b" >/dev/null || { echo "missing $b"; exit 1; }; done

DIR=$(mktemp -d /tmp/sy-order.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DIR"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP1=$(free_port) UP2=$(free_port) PORT=$(free_port) ADMIN=$(free_port) TLS=$(free_port)
"$BACKEND" --listen "127.0.0.1:$UP1" --id b1 >/dev/null 2>&1 & PIDS+=($!)
"$BACKEND" --listen "127.0.0.1:$UP2" --id b2 >/dev/null 2>&1 & PIDS+=($!)

# A second listener with TLS (HTTP/1.1 and HTTP/2 by ALPN), where openssl
# can make its certificate.
TLS_LINE=""
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=order.local -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
    TLS_LINE="  - { name: tls, listen: \"127.0.0.1:$TLS\", tls: { certificates: [ { cert: $DIR/cert.pem, key: $DIR/key.pem } ] } }"
else
    echo "no openssl: the TLS path is left out"
fi
render() {  # render TEMPLATE: the bench config with this run's ports
    sed -e "s#@PORT@#$PORT#g; s#@UP1@#$UP1#g; s#@UP2@#$UP2#g; s#@BENCH@#$BENCH#g" \
        -e "s#admin: { listen: \"127.0.0.1:[0-9]*\" }#admin: { listen: \"127.0.0.1:$ADMIN\" }#" "$1" |
        awk -v tls="$TLS_LINE" '{print} /^  - { name: web, listen:/ && tls != "" {print tls}'
}
render "$BENCH/proxies/switchyard-realistic.yaml" > "$DIR/switchyard.yaml"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$DIR/cg.out" \
    "$SY" run --config "$DIR/switchyard.yaml" 2>"$DIR/proxy.log" & VG=$!
PIDS+=("$VG")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null || { echo "the proxy did not get ready:"; cat "$DIR/proxy.log"; exit 1; }

# Each phase ends with a dump; the names of the traffic dumps say which
# functions are the request path.
dump() { callgrind_control -d "$1" "$VG" >/dev/null 2>&1; }
traffic() {
    for path in / /16384; do curl -s -o /dev/null "http://127.0.0.1:$PORT$path"; done
    for path in / /status /metrics /config /upstreams /healthz; do curl -s -o /dev/null "http://127.0.0.1:$ADMIN$path"; done
    wrk -t1 -c10 -d5s "http://127.0.0.1:$PORT/" | grep Requests
    wrk -t1 -c10 -d2s "http://127.0.0.1:$PORT/16384" | grep Requests
    dump traffic
    if [[ -n $TLS_LINE ]]; then
        for v in --http1.1 --http2; do curl -sk "$v" -o /dev/null "https://127.0.0.1:$TLS/"; done
        wrk -t1 -c10 -d2s "https://127.0.0.1:$TLS/" | grep Requests
        if command -v h2load >/dev/null; then
            h2load -n 2000 -c 4 -m 8 "https://127.0.0.1:$TLS/" | grep "^requests:"
        fi
        dump traffic-tls
    fi
}
reloads() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^switchyard_config_reloads_total\{result="success"\}/{print $2}'; }
reload_to() {  # reload_to FILE: replaces the config and waits for the reload
    local before; before=$(reloads)
    cp "$1" "$DIR/next.yaml" && mv "$DIR/next.yaml" "$DIR/switchyard.yaml"
    for _ in $(seq 150); do [[ $(reloads) != "$before" ]] && break; sleep 0.2; done
    [[ $(reloads) != "$before" ]] || { echo "the reload to $1 did not happen:"; tail "$DIR/proxy.log"; exit 1; }
    dump reload
}
dump startup
traffic
render "$BENCH/proxies/switchyard.yaml" > "$DIR/bare.yaml"
reload_to "$DIR/bare.yaml"
traffic
if [[ -f $ROOT/plugins/vendor-auth.wasm ]]; then    # plugins/build.sh makes it
    render "$BENCH/proxies/switchyard-plugin.yaml" > "$DIR/plugin.yaml"
    reload_to "$DIR/plugin.yaml"
    traffic
else
    echo "no plugins/vendor-auth.wasm (plugins/build.sh): the plugin path is left out"
fi
kill -INT "$VG"; wait "$VG" || true

python3 - "$DIR" "$SY" "$OUTPUT" <<'PY'
import collections, glob, re, subprocess, sys
folder, binary, output = sys.argv[1:4]

def self_costs(path):
    """Function name -> instructions spent in it (not in its callees)."""
    names, cost, cur, after_call = {}, collections.Counter(), None, False
    for line in open(path, errors="replace"):
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("fn="):
                cur = m.group(1)
                cost.setdefault(cur, 0)
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        fields = line.split()
        if cur and len(fields) >= 2 and re.match(r"[0-9+*-]", fields[0]):
            if not after_call:  # the line after calls= is the callee's cost
                cost[cur] += int(fields[1])
            after_call = False
    return {names[i]: c for i, c in cost.items() if i in names}

def trigger(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("desc: Trigger:"):  # "dump traffic", "Program termination"
                return line
            if line.startswith(("fn=", "ob=")):
                return ""
    return ""

# cg.out.1 (start-up), .2 (traffic), .3 (reload), ...; cg.out is the stop.
dumps = sorted(glob.glob(folder + "/cg.out.*"), key=lambda p: int(p.rsplit(".", 1)[1]))
dumps.append(folder + "/cg.out")
plain, tls, phases = collections.Counter(), collections.Counter(), []
for path in dumps:
    kind = trigger(path)
    if "dump traffic-tls" in kind:
        tls.update(self_costs(path))
    elif "dump traffic" in kind:
        plain.update(self_costs(path))
    else:
        phases.append(collections.Counter(self_costs(path)))
nm = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
code = {f[2] for f in (l.split() for l in nm.splitlines()) if len(f) == 3 and f[1] in "tTwW"}
# The plain request path, hottest first, then what TLS and HTTP/2 add; then
# each other phase's functions in the order the phases ran (start-up before
# reloads and plugin compilation, so an idle proxy without plugins touches
# one run of pages).
order, seen = [], set()
for counts in [plain, tls] + phases:
    for name, _ in counts.most_common():
        if name in code and name not in seen:
            order.append(name)
            seen.add(name)
    if counts is tls:
        first = len(order)
with open(output, "w") as f:
    f.write("".join(n + "\n" for n in order))
print(f"{first} request-path functions, then {len(order) - first} others, written to {output}")
PY
