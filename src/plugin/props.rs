//! `proxy_get_property` / `proxy_set_property`: an allow-list of request
//! facts, plus a per-request scratch space for what plugins set.
//!
//! Paths arrive as NUL-separated segments (`request\0path`) and are read
//! as dotted names. Numbers are 8-byte little-endian integers, as in
//! Envoy. Nothing outside the list is revealed: no environment, no other
//! request, no config.

use http::uri::PathAndQuery;

use super::state::{HostState, Status};

/// Property names a plugin can read.
pub(super) const ALLOWED: &[&str] = &[
    "request.path",
    "request.url_path",
    "request.method",
    "request.host",
    "request.scheme",
    "request.id",
    "source.address",
    "source.port",
    "plugin_name",
    "plugin_root_id",
    "route_name",
    "cluster_name",
    "upstream.address",
    "switchyard.endpoint",
    "response.code",
];

const MAX_SCRATCH: usize = 64;
const MAX_SCRATCH_VALUE: usize = 4096;

fn dotted(path: &[u8]) -> String {
    let trimmed = path.strip_suffix(&[0]).unwrap_or(path);
    trimmed
        .split(|b| *b == 0)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(".")
}

/// Copies property `path` into `out`.
pub(super) fn get(st: &HostState, path: &[u8], out: &mut Vec<u8>) -> Result<(), Status> {
    out.clear();
    let name = dotted(path);
    let req = st.request.as_ref();
    let props = st.props.as_ref();
    let text: Option<&[u8]> = match name.as_str() {
        "request.path" => req.map(|r| {
            r.uri
                .path_and_query()
                .map_or("/", PathAndQuery::as_str)
                .as_bytes()
        }),
        "request.url_path" => req.map(|r| r.uri.path().as_bytes()),
        "request.method" => req.map(|r| r.method.as_str().as_bytes()),
        "request.host" => req.and_then(|r| {
            r.uri
                .authority()
                .map(|a| a.as_str().as_bytes())
                .or_else(|| {
                    r.headers
                        .get(http::header::HOST)
                        .map(http::HeaderValue::as_bytes)
                })
        }),
        "request.scheme" => props.map(|p| p.scheme.as_bytes()),
        "request.id" => req.and_then(|r| {
            r.headers
                .get("x-request-id")
                .map(http::HeaderValue::as_bytes)
        }),
        "plugin_name" | "plugin_root_id" => Some(st.plugin.as_bytes()),
        "route_name" => props.map(|p| p.route.as_bytes()),
        "cluster_name" => props.map(|p| p.pool.as_bytes()),
        "upstream.address" => props.and_then(|p| p.upstream.as_deref()).map(str::as_bytes),
        "switchyard.endpoint" => props.and_then(|p| p.endpoint.as_deref()).map(str::as_bytes),
        "source.address" => {
            if let Some(a) = props.and_then(|p| p.source) {
                out.extend_from_slice(a.to_string().as_bytes());
                return Ok(());
            }
            None
        }
        "source.port" => {
            if let Some(a) = props.and_then(|p| p.source) {
                out.extend_from_slice(&i64::from(a.port()).to_le_bytes());
                return Ok(());
            }
            None
        }
        "response.code" => {
            if let Some(r) = &st.response {
                out.extend_from_slice(&i64::from(r.status.as_u16()).to_le_bytes());
                return Ok(());
            }
            None
        }
        _ => {
            let hit = st
                .scratch
                .iter()
                .find(|(k, _)| k == path)
                .map(|(_, v)| v.as_slice());
            hit
        }
    };
    let v = text.ok_or(Status::NotFound)?;
    out.extend_from_slice(v);
    Ok(())
}

/// Sets a scratch property for the rest of the request. Allow-listed
/// names are read-only.
pub(super) fn set(st: &mut HostState, path: &[u8], value: &[u8]) -> Result<(), Status> {
    if ALLOWED.contains(&dotted(path).as_str()) || value.len() > MAX_SCRATCH_VALUE {
        return Err(Status::BadArgument);
    }
    if let Some(slot) = st.scratch.iter_mut().find(|(k, _)| k == path) {
        slot.1 = value.to_vec();
        return Ok(());
    }
    if st.scratch.len() >= MAX_SCRATCH {
        return Err(Status::BadArgument);
    }
    st.scratch.push((path.to_vec(), value.to_vec()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reads_allowed_facts_and_scratch_only() {
        let mut st = HostState::new("p".into(), Arc::from(&b""[..]), 1 << 20, 1 << 20);
        let (parts, ()) = http::Request::get("/a/b?q=1")
            .body(())
            .unwrap()
            .into_parts();
        st.request = Some(parts);
        let mut out = Vec::new();
        get(&st, b"request\0path", &mut out).unwrap();
        assert_eq!(out, b"/a/b?q=1");
        get(&st, b"request\0url_path\0", &mut out).unwrap();
        assert_eq!(out, b"/a/b");
        get(&st, b"plugin_name", &mut out).unwrap();
        assert_eq!(out, b"p");
        assert_eq!(get(&st, b"node\0id", &mut out), Err(Status::NotFound));
        assert_eq!(
            set(&mut st, b"request\0path", b"/x"),
            Err(Status::BadArgument)
        );
        set(&mut st, b"my\0key", b"v").unwrap();
        get(&st, b"my\0key", &mut out).unwrap();
        assert_eq!(out, b"v");
    }
}
