//! Link layout for the release binary on x86_64 Linux (glibc).
//!
//! Two linker options, both for the `switchyard` binary only and only in
//! release builds, where rustc links with its bundled LLD by default:
//!
//! - `--symbol-ordering-file=bench/symbol-order.txt` puts the functions that
//!   a running proxy executes together at the start of `.text`: the request
//!   path (hottest first), then start-up, reloads and plugin compilation.
//!   The kernel maps file pages 64 KiB around each page fault, so code
//!   scattered over the 16 MiB `.text` had made 5.5 MiB of it resident in
//!   an idle proxy; packed, it is under 2 MiB. The hot path shares fewer
//!   cache lines and TLB entries with cold code, too.
//!   `bench/order.sh` writes the file from a callgrind run of the release
//!   binary. Names it lists that the binary lacks are skipped (and not
//!   warned about), so a stale file costs only some of the gain.
//! - `-z pack-relative-relocs` stores the position-independent binary's
//!   ~23,600 relative relocations as a 7 KiB bitmap instead of a 560 KiB
//!   table that the loader reads, and keeps resident, at every start. It
//!   needs glibc 2.36 or later at run time (Debian bookworm has 2.36).
//!
//! `SWITCHYARD_LINK_LAYOUT=off` leaves both out, for a linker other than
//! LLD (GNU ld has no `--symbol-ordering-file`) or an older glibc.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SWITCHYARD_LINK_LAYOUT");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let off = env::var("SWITCHYARD_LINK_LAYOUT").is_ok_and(|v| v == "off" || v == "0");
    if !release || target != "x86_64-unknown-linux-gnu" || off {
        return;
    }
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&manifest).join("bench").join("symbol-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=switchyard=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=switchyard=-Wl,--no-warn-symbol-ordering");
    }
    println!("cargo:rustc-link-arg-bin=switchyard=-Wl,-z,pack-relative-relocs");
}
