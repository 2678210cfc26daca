//! The proxy-wasm v0.2.1 host functions this host implements for real:
//! logging, time, buffers (bodies and plugin configuration), header maps,
//! local replies, properties and the context no-ops. `wasi.rs` adds the
//! WASI calls SDKs import and answers every other proxy-wasm import with
//! `UNIMPLEMENTED`.

use bytes::{Bytes, BytesMut};
use wasmtime::{Caller, Linker};

use super::headers::{self, Write};
use super::memory::{code, give, put_u32, put_u64, slice, split};
use super::state::{deserialize_pairs, HostState, LocalReply, Status};

/// Request body buffer.
pub(super) const REQUEST_BODY: i32 = 0;
/// Response body buffer.
pub(super) const RESPONSE_BODY: i32 = 1;
const VM_CONFIGURATION: i32 = 6;
const PLUGIN_CONFIGURATION: i32 = 7;

/// Names this module defines (the rest of `env.proxy_*` is unimplemented).
pub(super) const DEFINED: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_continue_stream",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_buffer_status",
    "proxy_get_configuration",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_size",
    "proxy_send_local_response",
    "proxy_get_property",
    "proxy_set_property",
];

type C<'a> = Caller<'a, HostState>;

/// Defines every implemented `env.proxy_*` function.
pub(super) fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: C<'_>, level: i32, ptr: i32, len: i32| {
            code(split(&mut c).and_then(|(data, st)| {
                let msg = slice(data, ptr, len.min(4096))?;
                log(&st.plugin, level, &String::from_utf8_lossy(msg));
                Ok(())
            }))
        },
    )?;
    linker.func_wrap("env", "proxy_get_log_level", |mut c: C<'_>, ret: i32| {
        let level = current_log_level();
        code(split(&mut c).and_then(|(data, _)| put_u32(data, ret, level)))
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: C<'_>, ret: i32| {
            code(split(&mut c).and_then(|(data, _)| put_u64(data, ret, unix_nanos())))
        },
    )?;
    for name in ["proxy_set_effective_context", "proxy_continue_stream"] {
        linker.func_wrap("env", name, |_: C<'_>, _: i32| Status::Ok as i32)?;
    }
    for name in [
        "proxy_done",
        "proxy_continue_request",
        "proxy_continue_response",
    ] {
        linker.func_wrap("env", name, |_: C<'_>| Status::Ok as i32)?;
    }
    define_buffers(linker)?;
    define_headers(linker)?;
    define_properties(linker)?;
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: C<'_>,
         status: i32,
         _dp: i32,
         _dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         _grpc: i32| {
            code(split(&mut c).and_then(|(data, st)| {
                let status = u16::try_from(status)
                    .ok()
                    .and_then(|s| http::StatusCode::from_u16(s).ok())
                    .filter(|s| s.as_u16() >= 200)
                    .ok_or(Status::BadArgument)?;
                if usize::try_from(bl as u32).map_or(true, |n| n > st.body_limit) {
                    return Err(Status::BadArgument);
                }
                let body = Bytes::copy_from_slice(slice(data, bp, bl)?);
                let pairs = deserialize_pairs(slice(data, hp, hl)?).ok_or(Status::BadArgument)?;
                let mut headers = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    let k = http::HeaderName::from_bytes(k).map_err(|_| Status::BadArgument)?;
                    let v = http::HeaderValue::from_bytes(v).map_err(|_| Status::BadArgument)?;
                    headers.push((k, v));
                }
                st.local = Some(LocalReply {
                    status,
                    headers,
                    body,
                });
                Ok(())
            }))
        },
    )?;
    Ok(())
}

fn define_buffers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: C<'_>, kind: i32, start: i32, max: i32, ret_ptr: i32, ret_len: i32| {
            let st = c.data_mut();
            let mut buf = std::mem::take(&mut st.buf);
            buf.clear();
            let found = match buffer(st, kind) {
                Ok(b) => {
                    let start = (start as u32 as usize).min(b.len());
                    let end = start.saturating_add(max as u32 as usize).min(b.len());
                    buf.extend_from_slice(&b[start..end]);
                    Ok(())
                }
                Err(s) => Err(s),
            };
            st.buf = buf;
            match found {
                Ok(()) => give(&mut c, ret_ptr, ret_len),
                Err(s) => Ok(s as i32),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: C<'_>, kind: i32, len_ptr: i32, flags_ptr: i32| {
            code(split(&mut c).and_then(|(data, st)| {
                let len = buffer(st, kind)?.len();
                put_u32(data, len_ptr, u32::try_from(len).unwrap_or(u32::MAX))?;
                // Bodies are delivered whole: always the end of the stream.
                put_u32(data, flags_ptr, 1)
            }))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_configuration",
        |mut c: C<'_>, ret_ptr: i32, ret_len: i32| {
            let st = c.data_mut();
            let mut buf = std::mem::take(&mut st.buf);
            buf.clear();
            buf.extend_from_slice(&st.config);
            st.buf = buf;
            give(&mut c, ret_ptr, ret_len)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: C<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            code(split(&mut c).and_then(|(data, st)| {
                let new = slice(data, ptr, len)?;
                let Some((k, body)) = st.body.as_mut().filter(|(k, _)| *k == kind) else {
                    return Err(if kind == REQUEST_BODY || kind == RESPONSE_BODY {
                        Status::NotFound
                    } else {
                        Status::BadArgument
                    });
                };
                let _ = k;
                let start = (start as u32 as usize).min(body.len());
                let end = start.saturating_add(size as u32 as usize).min(body.len());
                let total = body.len() - (end - start) + new.len();
                if total > st.body_limit {
                    return Err(Status::BadArgument);
                }
                let mut out = BytesMut::with_capacity(total);
                out.extend_from_slice(&body[..start]);
                out.extend_from_slice(new);
                out.extend_from_slice(&body[end..]);
                *body = out.freeze();
                Ok(())
            }))
        },
    )?;
    Ok(())
}

fn buffer(st: &HostState, kind: i32) -> Result<&[u8], Status> {
    match kind {
        REQUEST_BODY | RESPONSE_BODY => match &st.body {
            Some((k, b)) if *k == kind => Ok(b),
            _ => Err(Status::NotFound),
        },
        VM_CONFIGURATION => Ok(&[]),
        PLUGIN_CONFIGURATION => Ok(&st.config),
        _ => Err(Status::BadArgument),
    }
}

fn define_headers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: C<'_>, map: i32, ret_ptr: i32, ret_len: i32| {
            let st = c.data_mut();
            let mut buf = std::mem::take(&mut st.buf);
            let r = headers::pairs(st, map, &mut buf);
            st.buf = buf;
            match r {
                Ok(_) => give(&mut c, ret_ptr, ret_len),
                Err(s) => Ok(s as i32),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut c: C<'_>, map: i32, ret: i32| {
            let st = c.data_mut();
            let mut buf = std::mem::take(&mut st.buf);
            let r = headers::pairs(st, map, &mut buf);
            let len = buf.len();
            st.buf = buf;
            code(r.and_then(|_| {
                let (data, _) = split(&mut c)?;
                put_u32(data, ret, u32::try_from(len).unwrap_or(u32::MAX))
            }))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, kl: i32, ret_ptr: i32, ret_len: i32| {
            let r = split(&mut c).and_then(|(data, st)| {
                let key = slice(data, kp, kl)?;
                let mut buf = std::mem::take(&mut st.buf);
                let r = headers::value(st, map, key, &mut buf);
                st.buf = buf;
                r
            });
            match r {
                Ok(()) => give(&mut c, ret_ptr, ret_len),
                Err(s) => Ok(s as i32),
            }
        },
    )?;
    for (name, how) in [
        ("proxy_add_header_map_value", Write::Add),
        ("proxy_replace_header_map_value", Write::Replace),
    ] {
        linker.func_wrap(
            "env",
            name,
            move |mut c: C<'_>, map: i32, kp: i32, kl: i32, vp: i32, vl: i32| {
                code(split(&mut c).and_then(|(data, st)| {
                    let (key, val) = (slice(data, kp, kl)?, slice(data, vp, vl)?);
                    headers::set(st, map, key, val, how)
                }))
            },
        )?;
    }
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, kl: i32| {
            code(
                split(&mut c).and_then(|(data, st)| headers::remove(st, map, slice(data, kp, kl)?)),
            )
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: C<'_>, map: i32, ptr: i32, len: i32| {
            code(
                split(&mut c)
                    .and_then(|(data, st)| headers::set_pairs(st, map, slice(data, ptr, len)?)),
            )
        },
    )?;
    Ok(())
}

fn define_properties(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: C<'_>, pp: i32, pl: i32, ret_ptr: i32, ret_len: i32| {
            let r = split(&mut c).and_then(|(data, st)| {
                let path = slice(data, pp, pl)?;
                let mut buf = std::mem::take(&mut st.buf);
                let r = super::props::get(st, path, &mut buf);
                st.buf = buf;
                r
            });
            match r {
                Ok(()) => give(&mut c, ret_ptr, ret_len),
                Err(s) => Ok(s as i32),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: C<'_>, pp: i32, pl: i32, vp: i32, vl: i32| {
            code(split(&mut c).and_then(|(data, st)| {
                let (path, val) = (slice(data, pp, pl)?, slice(data, vp, vl)?);
                super::props::set(st, path, val)
            }))
        },
    )?;
    Ok(())
}

/// Logs a plugin message at the proxy-wasm level's equivalent.
pub(super) fn log(plugin: &str, level: i32, msg: &str) {
    let msg = msg.trim_end();
    match level {
        0 => tracing::trace!(target: "switchyard::plugin", plugin, "{msg}"),
        1 => tracing::debug!(target: "switchyard::plugin", plugin, "{msg}"),
        2 => tracing::info!(target: "switchyard::plugin", plugin, "{msg}"),
        3 => tracing::warn!(target: "switchyard::plugin", plugin, "{msg}"),
        _ => tracing::error!(target: "switchyard::plugin", plugin, "{msg}"),
    }
}

fn current_log_level() -> u32 {
    use tracing::Level;
    if tracing::enabled!(target: "switchyard::plugin", Level::TRACE) {
        0
    } else if tracing::enabled!(target: "switchyard::plugin", Level::DEBUG) {
        1
    } else if tracing::enabled!(target: "switchyard::plugin", Level::INFO) {
        2
    } else if tracing::enabled!(target: "switchyard::plugin", Level::WARN) {
        3
    } else {
        4
    }
}

/// Nanoseconds since the Unix epoch.
pub(super) fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
