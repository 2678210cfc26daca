//! Header maps as plugins see them: the request (map 0) and response
//! (map 2) heads with their pseudo-headers (`:method`, `:path`,
//! `:authority`, `:scheme`; `:status`) in front, as in HTTP/2.
//!
//! `:authority` stands for Host (HTTP/1 requests have no other), so a
//! request map lists `:authority` and not `host`; either name reads and
//! writes the same value. Writing `:path` or `:method` rewrites the
//! request itself, `:status` the response's status.

use http::header::{HeaderName, HeaderValue, HOST};
use http::uri::{Authority, PathAndQuery, Uri};
use http::{Method, StatusCode};

use super::state::{deserialize_pairs, serialize_pairs, HostState, Status};

/// Request headers.
pub(super) const REQUEST: i32 = 0;
/// Response headers.
pub(super) const RESPONSE: i32 = 2;

fn is(key: &[u8], name: &str) -> bool {
    key.eq_ignore_ascii_case(name.as_bytes())
}

/// Serializes map `map` into `out`; returns the number of pairs.
pub(super) fn pairs(st: &HostState, map: i32, out: &mut Vec<u8>) -> Result<usize, Status> {
    let mut list: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
    match map {
        REQUEST => {
            let p = st.request.as_ref().ok_or(Status::NotFound)?;
            list.push((b":method", p.method.as_str().as_bytes()));
            let path = p.uri.path_and_query().map_or("/", PathAndQuery::as_str);
            list.push((b":path", path.as_bytes()));
            if let Some(a) = authority(p) {
                list.push((b":authority", a));
            }
            let scheme = st.props.as_ref().map_or("http", |p| p.scheme);
            list.push((b":scheme", scheme.as_bytes()));
            for (k, v) in &p.headers {
                if k != HOST {
                    list.push((k.as_str().as_bytes(), v.as_bytes()));
                }
            }
        }
        RESPONSE => {
            let p = st.response.as_ref().ok_or(Status::NotFound)?;
            list.push((b":status", p.status.as_str().as_bytes()));
            for (k, v) in &p.headers {
                list.push((k.as_str().as_bytes(), v.as_bytes()));
            }
        }
        _ => return Err(Status::BadArgument),
    }
    serialize_pairs(list.iter().copied(), out);
    Ok(list.len())
}

fn authority(p: &http::request::Parts) -> Option<&[u8]> {
    match p.uri.authority() {
        Some(a) => Some(a.as_str().as_bytes()),
        None => p.headers.get(HOST).map(HeaderValue::as_bytes),
    }
}

/// Copies the value of `key` in `map` into `out`.
pub(super) fn value(st: &HostState, map: i32, key: &[u8], out: &mut Vec<u8>) -> Result<(), Status> {
    out.clear();
    match map {
        REQUEST => {
            let p = st.request.as_ref().ok_or(Status::NotFound)?;
            if is(key, ":method") {
                out.extend_from_slice(p.method.as_str().as_bytes());
            } else if is(key, ":path") {
                let path = p.uri.path_and_query().map_or("/", PathAndQuery::as_str);
                out.extend_from_slice(path.as_bytes());
            } else if is(key, ":authority") || is(key, "host") {
                out.extend_from_slice(authority(p).ok_or(Status::NotFound)?);
            } else if is(key, ":scheme") {
                let scheme = st.props.as_ref().map_or("http", |p| p.scheme);
                out.extend_from_slice(scheme.as_bytes());
            } else {
                join(p.headers.get_all(name(key)?), out)?;
            }
        }
        RESPONSE => {
            let p = st.response.as_ref().ok_or(Status::NotFound)?;
            if is(key, ":status") {
                out.extend_from_slice(p.status.as_str().as_bytes());
            } else {
                join(p.headers.get_all(name(key)?), out)?;
            }
        }
        _ => return Err(Status::BadArgument),
    }
    Ok(())
}

/// Several values of one header read as one, comma-joined (RFC 9110 §5.3).
fn join(values: http::header::GetAll<'_, HeaderValue>, out: &mut Vec<u8>) -> Result<(), Status> {
    let mut any = false;
    for v in values {
        if any {
            out.extend_from_slice(b",");
        }
        out.extend_from_slice(v.as_bytes());
        any = true;
    }
    if any {
        Ok(())
    } else {
        Err(Status::NotFound)
    }
}

fn name(key: &[u8]) -> Result<HeaderName, Status> {
    if key.first() == Some(&b':') {
        return Err(Status::NotFound);
    }
    HeaderName::from_bytes(key).map_err(|_| Status::BadArgument)
}

fn header_value(v: &[u8]) -> Result<HeaderValue, Status> {
    HeaderValue::from_bytes(v).map_err(|_| Status::BadArgument)
}

/// How a write treats existing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// Append a value.
    Add,
    /// Replace every value.
    Replace,
}

/// Adds or replaces `key` in `map`.
pub(super) fn set(
    st: &mut HostState,
    map: i32,
    key: &[u8],
    val: &[u8],
    how: Write,
) -> Result<(), Status> {
    match map {
        REQUEST => {
            let p = st.request.as_mut().ok_or(Status::NotFound)?;
            if is(key, ":method") {
                p.method = Method::from_bytes(val).map_err(|_| Status::BadArgument)?;
            } else if is(key, ":path") {
                let pq = PathAndQuery::try_from(val).map_err(|_| Status::BadArgument)?;
                // Origin form, or `*` where the target already is `*`
                // (`OPTIONS *`, RFC 9112 §3.2.4): a plugin that writes back
                // what it read changes nothing.
                let unchanged = p.uri.path_and_query() == Some(&pq);
                if !pq.as_str().starts_with('/') && !unchanged {
                    return Err(Status::BadArgument);
                }
                p.uri = rebuild(&p.uri, None, pq)?;
            } else if is(key, ":authority") || is(key, "host") {
                let v = header_value(val)?;
                if p.uri.authority().is_some() {
                    let a = Authority::try_from(val).map_err(|_| Status::BadArgument)?;
                    let pq = p
                        .uri
                        .path_and_query()
                        .cloned()
                        .unwrap_or_else(|| PathAndQuery::from_static("/"));
                    p.uri = rebuild(&p.uri, Some(a), pq)?;
                }
                p.headers.insert(HOST, v);
            } else if is(key, ":scheme") {
                // The scheme is the listener's or the endpoint's to decide.
            } else {
                write(&mut p.headers, key, val, how)?;
            }
        }
        RESPONSE => {
            let p = st.response.as_mut().ok_or(Status::NotFound)?;
            if is(key, ":status") {
                p.status = std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.trim().parse::<u16>().ok())
                    .and_then(|n| StatusCode::from_u16(n).ok())
                    .filter(|s| s.as_u16() >= 200)
                    .ok_or(Status::BadArgument)?;
            } else {
                write(&mut p.headers, key, val, how)?;
            }
        }
        _ => return Err(Status::BadArgument),
    }
    Ok(())
}

/// Writes a regular (not pseudo) header.
fn write(headers: &mut http::HeaderMap, key: &[u8], val: &[u8], how: Write) -> Result<(), Status> {
    let (k, v) = (
        name(key).map_err(|_| Status::BadArgument)?,
        header_value(val)?,
    );
    match how {
        Write::Add => headers.append(k, v),
        Write::Replace => headers.insert(k, v).is_some(),
    };
    Ok(())
}

fn rebuild(uri: &Uri, authority: Option<Authority>, pq: PathAndQuery) -> Result<Uri, Status> {
    match (uri.scheme(), authority.or_else(|| uri.authority().cloned())) {
        (Some(s), Some(a)) => Uri::builder()
            .scheme(s.clone())
            .authority(a)
            .path_and_query(pq)
            .build()
            .map_err(|_| Status::BadArgument),
        _ => Ok(Uri::from(pq)),
    }
}

/// Removes `key` from `map`. Pseudo-headers cannot be removed.
pub(super) fn remove(st: &mut HostState, map: i32, key: &[u8]) -> Result<(), Status> {
    if key.first() == Some(&b':') {
        return Err(Status::BadArgument);
    }
    let k = name(key)?;
    match map {
        REQUEST => {
            st.request
                .as_mut()
                .ok_or(Status::NotFound)?
                .headers
                .remove(k);
        }
        RESPONSE => {
            st.response
                .as_mut()
                .ok_or(Status::NotFound)?
                .headers
                .remove(k);
        }
        _ => return Err(Status::BadArgument),
    }
    Ok(())
}

/// `proxy_set_header_map_pairs`: parses the guest's serialized pairs
/// and replaces the whole of `map` with them.
pub(super) fn set_pairs(st: &mut HostState, map: i32, data: &[u8]) -> Result<(), Status> {
    let pairs = deserialize_pairs(data).ok_or(Status::BadArgument)?;
    set_all(st, map, &pairs)
}

/// Replaces the whole of `map` with `pairs`: headers not listed go,
/// pseudo-headers listed are written, unlisted ones stay. All or nothing:
/// if one pair is refused, the head is left as it was.
pub(super) fn set_all(
    st: &mut HostState,
    map: i32,
    pairs: &[(&[u8], &[u8])],
) -> Result<(), Status> {
    let saved = Saved::take(st, map)?;
    let headers = match map {
        REQUEST => &mut st.request.as_mut().ok_or(Status::NotFound)?.headers,
        _ => &mut st.response.as_mut().ok_or(Status::NotFound)?.headers,
    };
    if let Some(h) = headers.get(HOST).cloned().filter(|_| map == REQUEST) {
        headers.clear();
        headers.insert(HOST, h);
    } else {
        headers.clear();
    }
    for (k, v) in pairs {
        if let Err(e) = set(st, map, k, v, Write::Add) {
            saved.restore(st);
            return Err(e);
        }
    }
    Ok(())
}

/// What `set_all` may change in a head, to put back when it fails.
enum Saved {
    Request(Method, Uri, http::HeaderMap),
    Response(StatusCode, http::HeaderMap),
}

impl Saved {
    fn take(st: &HostState, map: i32) -> Result<Self, Status> {
        match map {
            REQUEST => {
                let p = st.request.as_ref().ok_or(Status::NotFound)?;
                Ok(Self::Request(
                    p.method.clone(),
                    p.uri.clone(),
                    p.headers.clone(),
                ))
            }
            RESPONSE => {
                let p = st.response.as_ref().ok_or(Status::NotFound)?;
                Ok(Self::Response(p.status, p.headers.clone()))
            }
            _ => Err(Status::BadArgument),
        }
    }

    fn restore(self, st: &mut HostState) {
        match (self, st.request.as_mut(), st.response.as_mut()) {
            (Self::Request(method, uri, headers), Some(p), _) => {
                (p.method, p.uri, p.headers) = (method, uri, headers);
            }
            (Self::Response(status, headers), _, Some(p)) => {
                (p.status, p.headers) = (status, headers);
            }
            // The head was lent for the whole call; it cannot have gone.
            (Self::Request(..) | Self::Response(..), _, _) => {}
        }
    }
}
