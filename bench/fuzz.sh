#!/usr/bin/env bash
# fuzz.sh: runs the cargo-fuzz targets in fuzz/ for a bounded time each, one
# after the other, each as one libFuzzer process (issue 9, "Fuzzing"; see
# docs/RELIABILITY.md). Not part of the default test run.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Default: 60 s for each of config_text, config_mutate, route_match,
# header_rewrite and plugin_headers. Installs cargo-fuzz (crates.io) if it
# is missing; needs the nightly toolchain (`rustup toolchain list`).
#
# Inputs found to add coverage go to fuzz/corpus/TARGET/ (ignored by git),
# so later runs start where earlier ones stopped. The seeds are read, never
# written: config/ for config_text (every shipped config, certificate and
# schema), fuzz/seeds/TARGET/ for all (committed, small).
#
# On a crash, panic, timeout (10 s per input) or memory blow-up, libFuzzer
# writes the input to fuzz/artifacts/TARGET/; the script prints where, with
# the commands to reproduce and minimise it, goes on with the next target,
# and exits 1 at the end.
#
# Environment: FUZZ_TARGET_DIR (build directory; default
# $CARGO_TARGET_DIR/fuzz, else fuzz/target), FUZZ_SANITIZER (address, the
# default, or none: about twice the speed; our code has no unsafe, but the
# YAML parser underneath is translated C), FUZZ_TOOLCHAIN (default nightly),
# FUZZ_ARGS (more libFuzzer flags, e.g. "-max_len=8192").
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
FUZZ=$ROOT/fuzz
SECONDS_PER=${1:-60}
[[ $SECONDS_PER =~ ^[0-9]+$ && $SECONDS_PER -gt 0 ]] || { echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2; }
shift $(( $# > 0 ? 1 : 0 ))
ALL=(config_text config_mutate route_match header_rewrite plugin_headers)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
SANITIZER=${FUZZ_SANITIZER:-address}
if [[ -n ${FUZZ_TARGET_DIR:-} ]]; then TARGET_DIR=$FUZZ_TARGET_DIR
elif [[ -n ${CARGO_TARGET_DIR:-} ]]; then TARGET_DIR=$CARGO_TARGET_DIR/fuzz
else TARGET_DIR=$FUZZ/target; fi

rustup toolchain list 2>/dev/null | grep -q "^$TOOLCHAIN" \
    || { echo "fuzz.sh: the $TOOLCHAIN toolchain is not installed" >&2; exit 1; }
if ! cargo "+$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
FUZZ_CMD=(cargo "+$TOOLCHAIN" fuzz)
OPTS=(--sanitizer "$SANITIZER" --target-dir "$TARGET_DIR")

cd "$FUZZ"
echo "fuzz.sh: building ${TARGETS[*]} (sanitizer $SANITIZER, into $TARGET_DIR)"
for t in "${TARGETS[@]}"; do "${FUZZ_CMD[@]}" build "${OPTS[@]}" "$t"; done

# libFuzzer dictionary for the text target: every key and keyword of the
# config schema, so it can write `path_prefix:` without guessing it.
mkdir -p corpus logs
python3 - "$ROOT/config/switchyard.schema.json" >corpus/config.dict <<'PY'
import json, sys
words = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "properties" and isinstance(x, dict):
                words.update(f"{p}:" for p in x)
            if k == "enum" and isinstance(x, list):
                words.update(str(e) for e in x)
            if k == "const":
                words.add(str(x))
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(json.load(open(sys.argv[1])))
for w in sorted(words):
    print(json.dumps(w))
PY

FAILED=0
SUMMARY=()
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
    seeds=("$FUZZ/seeds/$t")
    extra=()
    if [[ $t == config_text ]]; then seeds+=("$ROOT/config"); extra+=(-dict="$FUZZ/corpus/config.dict"); fi
    log=logs/$t.log
    echo "fuzz.sh: $t for ${SECONDS_PER}s (log $FUZZ/$log)"
    before=$(find "artifacts/$t" -type f | wc -l)
    set +e
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    "${FUZZ_CMD[@]}" run "${OPTS[@]}" "$t" "$FUZZ/corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${extra[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    done_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    cov=$(echo "$done_line" | grep -oE 'cov: [0-9]+' || true)
    ft=$(echo "$done_line" | grep -oE 'ft: [0-9]+' || true)
    corp=$(echo "$done_line" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' || true)
    if [[ $rc -ne 0 || $(find "artifacts/$t" -type f | wc -l) -gt $before ]]; then
        FAILED=1
        crash=$(ls -t "$FUZZ/artifacts/$t"/* 2>/dev/null | head -1 || true)
        SUMMARY+=("$t: FAILED (exit $rc) after $execs runs; input: ${crash:-none written, see $log}")
        echo "fuzz.sh: $t FAILED (exit $rc); last lines of $FUZZ/$log:" >&2
        tail -30 "$log" >&2
        if [[ -n $crash ]]; then
            echo "fuzz.sh: crash input: $crash" >&2
            echo "  reproduce: (cd fuzz && ${FUZZ_CMD[*]} run ${OPTS[*]} $t $crash)" >&2
            echo "  minimise:  (cd fuzz && ${FUZZ_CMD[*]} tmin ${OPTS[*]} $t $crash)" >&2
        fi
    else
        SUMMARY+=("$t: ok, $execs runs in ${SECONDS_PER}s, $cov $ft $corp")
    fi
done

echo
echo "fuzz.sh summary (${SECONDS_PER}s per target, sanitizer $SANITIZER):"
printf '  %s\n' "${SUMMARY[@]}"
exit "$FAILED"
