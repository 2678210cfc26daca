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
//! Both are left out where the linker may not be LLD: a linker set for the
//! target (`RUSTC_LINKER`, or `-C linker` in the flags), or a rustc older
//! than 1.90, which linked with the system's `cc` and GNU ld (which has no
//! `--symbol-ordering-file`). `SWITCHYARD_LINK_LAYOUT=off` leaves them out
//! too, for an older glibc.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SWITCHYARD_LINK_LAYOUT");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let off = env::var("SWITCHYARD_LINK_LAYOUT").is_ok_and(|v| v == "off" || v == "0");
    if !release || target != "x86_64-unknown-linux-gnu" || off || !links_with_lld() {
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

/// Whether rustc links this target with its bundled LLD: no linker of the
/// user's, and rustc 1.90 or later.
fn links_with_lld() -> bool {
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if env::var_os("RUSTC_LINKER").is_some() || flags.contains("linker") {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .lines()
        .find_map(|l| l.strip_prefix("release: 1."))
        .and_then(|rest| rest.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
