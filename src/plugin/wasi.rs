//! The WASI (preview 1) calls proxy-wasm SDKs import, and the catch-all
//! for imports this host does not provide.
//!
//! Standard output and error go to the log; clocks and randomness are
//! real; environment and arguments are empty; files do not exist. Any
//! other `env.proxy_*` import is defined with the module's own signature
//! and answers `UNIMPLEMENTED` (12), any other WASI call `ENOSYS`, so real
//! SDK builds load; anything else traps if called.
//!
//! The same calls are defined under `wasi_unstable` (WASI snapshot 0),
//! which older toolchains still import: the AssemblyScript SDK's abort
//! handler calls `wasi_unstable.proc_exit`. Every call defined here has the
//! same signature, errno values and meaning in both snapshots.

use rand::RngCore;
use wasmtime::{Caller, ExternType, Linker, Module, Val, ValType};

use super::memory::{get_u32, put_u32, put_u64, slice, split, write};
use super::state::{HostState, Status};

const WASI: &str = "wasi_snapshot_preview1";
/// WASI snapshot 0, the legacy name of the same calls.
const WASI_UNSTABLE: &str = "wasi_unstable";
const ERRNO_BADF: i32 = 8;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOSYS: i32 = 52;
const ERRNO_FAULT: i32 = 21;

type C<'a> = Caller<'a, HostState>;

fn errno(r: Result<(), Status>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(_) => ERRNO_FAULT,
    }
}

/// Defines the WASI calls, under both module names.
pub(super) fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for module in [WASI, WASI_UNSTABLE] {
        define_in(linker, module)?;
    }
    Ok(())
}

fn define_in(linker: &mut Linker<HostState>, wasi: &str) -> wasmtime::Result<()> {
    linker.func_wrap(
        wasi,
        "fd_write",
        |mut c: C<'_>, fd: i32, iovs: i32, n: i32, written: i32| {
            if fd != 1 && fd != 2 {
                return ERRNO_BADF;
            }
            errno(split(&mut c).and_then(|(data, st)| {
                let mut text = Vec::new();
                let mut total: u32 = 0;
                for i in 0..n.clamp(0, 1024) {
                    let at = iovs.wrapping_add(i.wrapping_mul(8));
                    let (ptr, len) = (get_u32(data, at)?, get_u32(data, at.wrapping_add(4))?);
                    let bytes = slice(data, ptr as i32, len as i32)?;
                    total = total.saturating_add(len);
                    if text.len() < 4096 {
                        text.extend_from_slice(&bytes[..bytes.len().min(4096 - text.len())]);
                    }
                }
                super::abi::log(
                    &st.plugin,
                    if fd == 1 { 2 } else { 4 },
                    &String::from_utf8_lossy(&text),
                );
                put_u32(data, written, total)
            }))
        },
    )?;
    linker.func_wrap(
        wasi,
        "clock_time_get",
        |mut c: C<'_>, id: i32, _precision: i64, ret: i32| {
            let now = match id {
                0 => super::abi::unix_nanos(),
                1..=3 => monotonic_nanos(),
                _ => return ERRNO_INVAL,
            };
            errno(split(&mut c).and_then(|(data, _)| put_u64(data, ret, now)))
        },
    )?;
    linker.func_wrap(wasi, "random_get", |mut c: C<'_>, buf: i32, len: i32| {
        errno(split(&mut c).and_then(|(data, _)| {
            let mut bytes = vec![0u8; usize::try_from(len as u32).unwrap_or(0).min(1 << 20)];
            rand::rng().fill_bytes(&mut bytes);
            write(data, buf, &bytes)
        }))
    })?;
    for name in ["environ_sizes_get", "args_sizes_get"] {
        linker.func_wrap(wasi, name, |mut c: C<'_>, count: i32, size: i32| {
            errno(split(&mut c).and_then(|(data, _)| {
                put_u32(data, count, 0)?;
                put_u32(data, size, 0)
            }))
        })?;
    }
    for name in ["environ_get", "args_get"] {
        linker.func_wrap(wasi, name, |_: C<'_>, _: i32, _: i32| 0)?;
    }
    linker.func_wrap(
        wasi,
        "proc_exit",
        |mut c: C<'_>, code: i32| -> wasmtime::Result<()> {
            let why = format!("plugin called proc_exit({code})");
            c.data_mut().abort = Some(why.clone());
            Err(wasmtime::Error::msg(why))
        },
    )?;
    linker.func_wrap(wasi, "fd_close", |_: C<'_>, _: i32| ERRNO_BADF)?;
    linker.func_wrap(wasi, "fd_fdstat_get", |_: C<'_>, _: i32, _: i32| ERRNO_BADF)?;
    linker.func_wrap(
        wasi,
        "fd_seek",
        |_: C<'_>, _: i32, _: i64, _: i32, _: i32| ERRNO_BADF,
    )?;
    linker.func_wrap(
        wasi,
        "fd_read",
        |_: C<'_>, _: i32, _: i32, _: i32, _: i32| ERRNO_BADF,
    )?;
    linker.func_wrap(wasi, "sched_yield", |_: C<'_>| 0)?;
    Ok(())
}

fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Gives every import of `module` that `linker` lacks a definition:
/// `UNIMPLEMENTED` for `env.proxy_*`, `ENOSYS` for WASI, a trap for the
/// rest. Returns the names answered that way, for the load log.
pub(super) fn fill_missing(
    linker: &mut Linker<HostState>,
    module: &Module,
) -> wasmtime::Result<Vec<String>> {
    let mut stubbed = Vec::new();
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let (m, name) = (import.module(), import.name());
        let defined = (m == "env" && super::abi::DEFINED.contains(&name))
            || ((m == WASI || m == WASI_UNSTABLE) && WASI_DEFINED.contains(&name));
        if defined {
            continue;
        }
        let answer = if m == "env" && name.starts_with("proxy_") {
            Status::Unimplemented as i32
        } else if m == WASI || m == WASI_UNSTABLE {
            ERRNO_NOSYS
        } else {
            stubbed.push(format!("{m}.{name} (traps if called)"));
            continue;
        };
        stubbed.push(format!("{m}.{name}"));
        let results: Vec<ValType> = ty.results().collect();
        linker.func_new(m, name, ty, move |_, _, out| {
            for (slot, t) in out.iter_mut().zip(&results) {
                *slot = match t {
                    ValType::I32 => Val::I32(answer),
                    ValType::I64 => Val::I64(i64::from(answer)),
                    ValType::F32 => Val::F32(0),
                    ValType::F64 => Val::F64(0),
                    _ => return Err(wasmtime::Error::msg("unsupported result type")),
                };
            }
            Ok(())
        })?;
    }
    linker.define_unknown_imports_as_traps(module)?;
    Ok(stubbed)
}

const WASI_DEFINED: &[&str] = &[
    "fd_write",
    "clock_time_get",
    "random_get",
    "environ_sizes_get",
    "args_sizes_get",
    "environ_get",
    "args_get",
    "proc_exit",
    "fd_close",
    "fd_fdstat_get",
    "fd_seek",
    "fd_read",
    "sched_yield",
];
