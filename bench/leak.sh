#!/usr/bin/env bash
# leak.sh: the upstream-fault leak check (tests/it/faults/leak.rs) against a
# release build of the proxy. 100000 upstream failures (refused, reset before
# the head, garbage, a clean close mid-body, in turn) from 16 keep-alive
# clients after a 5000-failure warm-up; then the proxy's open file
# descriptors (/proc/PID/fd) must be back to the baseline and its VmRSS within
# 5% (at least 4 MiB) of it. Prints the figures (docs/RELIABILITY.md).
#
#   bench/leak.sh [FAILURES]        default 100000
#
# The proxy is `cargo build --release` (or SWITCHYARD_BIN); the test harness
# that drives it is built in the dev profile, as for `cargo test`, so the
# rate printed is bounded by the debug client too. Bounded: the test has its
# own deadlines, and the whole run an outer timeout of 10 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FAILURES=${1:-100000}
if [[ -z ${SWITCHYARD_BIN:-} ]]; then
    cargo build --release --bin switchyard
    SWITCHYARD_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/switchyard
fi
SWITCHYARD_BIN=$(realpath "$SWITCHYARD_BIN")
[[ -x $SWITCHYARD_BIN ]] || { echo "missing $SWITCHYARD_BIN (cargo build --release)"; exit 1; }
echo "proxy: $SWITCHYARD_BIN; failures: $FAILURES; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
export SWITCHYARD_BIN SWITCHYARD_LEAK_FAILURES=$FAILURES
set +e
timeout 600 cargo test --test it faults::leak -- --nocapture --test-threads 1 2>&1 |
    grep -E '^leak check:|^test |panicked|assert|VmRSS|descriptors'
status=${PIPESTATUS[0]}
exit "$status"
