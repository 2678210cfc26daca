#!/usr/bin/env bash
# Build Switchyard's example proxy-wasm plugins into plugins/<name>.wasm.
#
#   plugins/build.sh [--no-test] [guard|vendor-auth|error-mapper|add-header ...]
#
# Needs clang and wasm-ld (Debian: clang lld) for the C plugins, and node and
# npm (Debian: nodejs npm) for the AssemblyScript plugins, their pinned npm
# dependencies and the checks. This script installs no system packages.
# After building it validates each module (imports limited to env.proxy_*,
# wasi_snapshot_preview1.* and wasi_unstable.*, required exports present)
# and, unless --no-test, runs the smoke tests in test/smoke.mjs (mock host).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
all=(guard vendor-auth error-mapper add-header)
run_tests=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --no-test) run_tests=0 ;;
    -h | --help)
      sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    guard | vendor-auth | error-mapper | add-header) targets+=("$arg") ;;
    *)
      echo "build.sh: unknown argument '$arg' (plugins: ${all[*]})" >&2
      exit 2
      ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

needs_c=0
needs_npm=0
for t in "${targets[@]}"; do
  case "$t" in
    guard | vendor-auth) needs_c=1 ;;
    error-mapper | add-header) needs_npm=1 ;;
  esac
done
missing=()
need() { # need <command> <debian package>
  command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package: $2)")
}
if [ "$needs_c" = 1 ]; then
  need clang clang
  need wasm-ld lld
fi
need node nodejs
if [ "$needs_npm" = 1 ]; then need npm npm; fi
if [ "$needs_c" = 1 ] && command -v clang >/dev/null 2>&1 &&
  ! clang --print-targets 2>/dev/null | grep -q wasm32; then
  missing+=("a clang with the wasm32 target (Debian package: clang)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: missing tools:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  echo "install them with: apt-get install -y clang lld nodejs npm" >&2
  exit 1
fi

# Freestanding wasm32: no libc, no WASI sysroot. Exports come from
# export_name attributes only (no --export-dynamic); the linear memory is
# exported as "memory" by default.
cflags=(--target=wasm32 -O2 -ffreestanding -nostdlib -Wall -Wextra
  -Wl,--no-entry -Wl,-z,stack-size=65536)

build_c() { # build_c <name> <sources...>
  local name="$1"
  shift
  mkdir -p "$here/$name/build"
  (cd "$here" && clang "${cflags[@]}" -o "$name/build/$name.wasm" "$@" \
    c-support/runtime.c c-support/json.c)
  cp "$here/$name/build/$name.wasm" "$here/$name.wasm"
}

build_as() { # build_as <name>
  local dir="$here/$1"
  # npm ci installs exactly what package-lock.json pins (integrity-checked);
  # no install scripts are needed.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  (cd "$dir" && npm run --silent build)
  cp "$dir/build/$1.wasm" "$here/$1.wasm"
}

for t in "${targets[@]}"; do
  echo "==> $t"
  start=$SECONDS
  case "$t" in
    guard) build_c guard guard/guard.c ;;
    vendor-auth) build_c vendor-auth vendor-auth/vendor_auth.c vendor-auth/sha256.c ;;
    error-mapper | add-header) build_as "$t" ;;
  esac
  echo "    built plugins/$t.wasm in $((SECONDS - start))s"
done

outputs=()
for t in "${targets[@]}"; do outputs+=("$here/$t.wasm"); done
echo "==> checking modules"
node "$here/test/inspect.mjs" "${outputs[@]}"

if [ "$run_tests" = 1 ]; then
  if [ ${#targets[@]} -ne ${#all[@]} ]; then
    echo "==> smoke tests skipped (they need all ${#all[@]} plugins built)"
  else
    echo "==> smoke tests"
    node "$here/test/smoke.mjs" "$here"
  fi
fi
