//! Generators for routes, request and response heads and plugin header
//! calls. Values come mostly from small alphabets, so that routes and
//! requests collide often (the interesting case for a matcher), and
//! sometimes from raw fuzzer bytes, so that nothing is out of reach.

use std::net::{IpAddr, SocketAddr};

use arbitrary::{Result, Unstructured};
use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};
use switchyard::routing::HeaderOps;

use crate::oracle::headers::RequestHead;
use crate::oracle::plugin_maps::{MapCall, Request, Response};
use crate::oracle::routes::{PathSpec, RequestSpec, RouteSpec};

const LABELS: &[&str] = &[
    "a", "b", "api", "example", "com", "x-y", "_s", "0", "A", "Api",
];
const SEGMENTS: &[&str] = &[
    "", "a", "b", "v1", "v10", ".", "..", "%2e", "%2E%2e", "%61", "%2f", "%", "%zz", "\u{e9}",
    "a.b", "A", "x y", "*",
];
const METHODS: &[&str] = &[
    "GET", "get", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "PURGE",
];
const REGEXES: &[&str] = &[
    "^/v[0-9]+/",
    "a",
    "^/$",
    "(?i)^/API",
    "/b$",
    "^/a/(b|c)",
    ".",
];
const NAMES: &[&str] = &[
    "x-a",
    "X-A",
    "x-b",
    "x-secret",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "content-length",
    "cookie",
];
const VALUES: &[&str] = &[
    "",
    "1",
    "2",
    "acme",
    "Acme",
    " a ",
    "close",
    "keep-alive",
    "upgrade",
    "Upgrade",
    "keep-alive, Upgrade",
    "close, x-secret",
    "x-a,x-b",
    "te",
    "host",
    "x-forwarded-for",
    "trailers",
    "gzip, trailers;q=1",
    "Trailers",
    "websocket",
    "h2c",
    "chunked",
    "1.1.1.1",
    " 2.2.2.2 ",
    "example.com",
    "EXAMPLE.com:8080",
];

fn text(u: &mut Unstructured<'_>, choices: &[&str]) -> Result<String> {
    if u.ratio(1, 8)? {
        u.arbitrary()
    } else {
        Ok((*u.choose(choices)?).to_owned())
    }
}

fn joined(u: &mut Unstructured<'_>, parts: &[&str], sep: &str, max: usize) -> Result<String> {
    let n = u.int_in_range(1..=max)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(*u.choose(parts)?);
    }
    Ok(out.join(sep))
}

/// A host as a config entry or a request would write it.
fn host(u: &mut Unstructured<'_>, entry: bool) -> Result<String> {
    if u.ratio(1, 10)? {
        return u.arbitrary();
    }
    let mut h = joined(u, LABELS, ".", 3)?;
    if entry && u.ratio(1, 3)? {
        h = format!("*.{h}");
    }
    if !entry && u.ratio(1, 4)? {
        h = format!("{h}:{}", u.int_in_range(0u16..=9999)?);
    }
    if u.ratio(1, 6)? {
        h.push('.');
    }
    if u.ratio(1, 10)? {
        h = if entry {
            format!(" {h} ")
        } else {
            "[::1]:80".into()
        };
    }
    Ok(h)
}

/// A path: `/` and segments, maybe with a trailing slash.
pub fn path(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 10)? {
        return u.arbitrary();
    }
    let mut p = format!("/{}", joined(u, SEGMENTS, "/", 4)?);
    if u.ratio(1, 4)? {
        p.push('/');
    }
    Ok(p)
}

fn route(u: &mut Unstructured<'_>) -> Result<RouteSpec> {
    let mut hosts = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        hosts.push(host(u, true)?);
    }
    let path = match u.int_in_range(0..=3)? {
        0 => PathSpec::Any,
        1 => PathSpec::Exact(path(u)?),
        2 => PathSpec::Prefix(path(u)?),
        _ => PathSpec::Regex(text(u, REGEXES)?),
    };
    let mut methods = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        methods.push(text(u, METHODS)?);
    }
    let mut headers = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        headers.push((text(u, &NAMES[..4])?, text(u, &VALUES[..6])?));
    }
    Ok(RouteSpec {
        hosts,
        path,
        methods,
        headers,
    })
}

fn header_line(u: &mut Unstructured<'_>) -> Result<Option<(HeaderName, HeaderValue)>> {
    let name = text(u, NAMES)?;
    let value: Vec<u8> = if u.ratio(1, 8)? {
        u.arbitrary()?
    } else {
        (*u.choose(VALUES)?).as_bytes().to_vec()
    };
    Ok(HeaderName::from_bytes(name.as_bytes())
        .ok()
        .zip(HeaderValue::from_bytes(&value).ok()))
}

fn header_lines(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(0..=max)? {
        out.extend(header_line(u)?);
    }
    Ok(out)
}

fn method(u: &mut Unstructured<'_>) -> Result<Method> {
    Ok(Method::from_bytes(text(u, METHODS)?.as_bytes()).unwrap_or(Method::GET))
}

fn request(u: &mut Unstructured<'_>) -> Result<RequestSpec> {
    Ok(RequestSpec {
        host: if u.ratio(1, 8)? {
            None
        } else {
            Some(host(u, false)?)
        },
        path: path(u)?,
        method: method(u)?,
        headers: header_lines(u, 3)?,
    })
}

/// Up to 12 routes and 16 requests.
pub fn routes_and_requests(u: &mut Unstructured<'_>) -> Result<(Vec<RouteSpec>, Vec<RequestSpec>)> {
    let mut routes = Vec::new();
    for _ in 0..u.int_in_range(1..=12)? {
        routes.push(route(u)?);
    }
    let mut requests = Vec::new();
    for _ in 0..u.int_in_range(1..=16)? {
        requests.push(request(u)?);
    }
    Ok((routes, requests))
}

/// A request target in any of the forms a server may see.
pub fn uri(u: &mut Unstructured<'_>) -> Result<Uri> {
    let p = path(u)?;
    let q = if u.ratio(1, 3)? {
        format!("?{}", text(u, &["a=1", "", "x=/v1/..", "%2F"])?)
    } else {
        String::new()
    };
    let text = match u.int_in_range(0..=4)? {
        0 | 1 => format!("{p}{q}"),
        2 => format!("http://{}{p}{q}", host(u, false)?),
        3 => host(u, false)?,
        _ => u.arbitrary()?,
    };
    Ok(text.parse().unwrap_or_else(|_| Uri::from_static("/")))
}

/// A client request head.
pub fn request_head(u: &mut Unstructured<'_>) -> Result<RequestHead> {
    Ok(RequestHead {
        method: method(u)?,
        uri: uri(u)?,
        version: *u.choose(&[
            Version::HTTP_10,
            Version::HTTP_11,
            Version::HTTP_11,
            Version::HTTP_2,
        ])?,
        headers: header_lines(u, 8)?,
    })
}

/// Route header edits.
pub fn header_ops(u: &mut Unstructured<'_>) -> Result<HeaderOps> {
    let mut ops = HeaderOps::default();
    for _ in 0..u.int_in_range(0..=2)? {
        ops.set.extend(header_line(u)?);
    }
    for _ in 0..u.int_in_range(0..=2)? {
        ops.remove.extend(header_line(u)?.map(|(n, _)| n));
    }
    Ok(ops)
}

/// A client address.
pub fn peer(u: &mut Unstructured<'_>) -> Result<SocketAddr> {
    let ip: IpAddr = if u.arbitrary()? {
        IpAddr::from(u.arbitrary::<[u8; 4]>()?)
    } else {
        IpAddr::from(u.arbitrary::<[u8; 16]>()?)
    };
    Ok(SocketAddr::new(ip, u.arbitrary()?))
}

/// Any valid status code.
pub fn status(u: &mut Unstructured<'_>) -> Result<StatusCode> {
    let common = [101u16, 200, 204, 304, 404, 502];
    let n = if u.arbitrary()? {
        *u.choose(&common)?
    } else {
        u.int_in_range(100..=999)?
    };
    Ok(StatusCode::from_u16(n).unwrap_or(StatusCode::OK))
}

/// An endpoint base path as validation leaves it, and a `strip_prefix`.
pub fn rewrite(u: &mut Unstructured<'_>) -> Result<(String, Option<String>)> {
    let base = (*u.choose(&["", "", "/api", "/a/b", "/%20", "/v1"])?).to_owned();
    let strip = if u.arbitrary()? {
        let p = path(u)?;
        let p = p.trim_end_matches('/');
        (p.starts_with('/') && !p.is_empty()).then(|| p.to_owned())
    } else {
        None
    };
    Ok((base, strip))
}

const MAP_KEYS: &[&str] = &[
    ":method",
    ":path",
    ":authority",
    ":scheme",
    ":status",
    "host",
    "Host",
    "x-a",
    "X-A",
    "",
    ":",
    ":x",
    "a b",
    "content-length",
];
const MAP_VALUES: &[&str] = &[
    "",
    "GET",
    "get",
    "/",
    "/a?b",
    "*",
    "a",
    "http://x/y",
    "example.com:80",
    "200",
    " 204 ",
    "101",
    "99",
    "1000",
    "a\r\nb",
    "\0",
    "a:b@c",
];

fn bytes(u: &mut Unstructured<'_>, choices: &[&str]) -> Result<Vec<u8>> {
    if u.ratio(1, 8)? {
        u.arbitrary()
    } else {
        Ok(u.choose(choices)?.as_bytes().to_vec())
    }
}

/// Heads to lend and up to 12 header-map calls.
pub fn map_calls(
    u: &mut Unstructured<'_>,
) -> Result<(Option<Request>, Option<Response>, Vec<MapCall>)> {
    let req = if u.ratio(1, 6)? {
        None
    } else {
        Some(Request {
            method: method(u)?,
            uri: uri(u)?,
            headers: header_lines(u, 4)?,
        })
    };
    let resp = if u.ratio(1, 2)? {
        None
    } else {
        Some(Response {
            status: StatusCode::from_u16(u.int_in_range(200..=999)?).unwrap_or(StatusCode::OK),
            headers: header_lines(u, 4)?,
        })
    };
    let mut calls = Vec::new();
    for _ in 0..u.int_in_range(1..=12)? {
        let m = *u.choose(&[0, 0, 2, 2, 1, -1, 3])?;
        calls.push(match u.int_in_range(0..=6)? {
            0 => MapCall::Pairs(m),
            1 => MapCall::Value(m, bytes(u, MAP_KEYS)?),
            2 | 3 => MapCall::Set(
                m,
                bytes(u, MAP_KEYS)?,
                bytes(u, MAP_VALUES)?,
                u.arbitrary()?,
            ),
            4 => MapCall::Remove(m, bytes(u, MAP_KEYS)?),
            5 => MapCall::SetRaw(m, u.arbitrary()?),
            _ => {
                let mut pairs = Vec::new();
                for _ in 0..u.int_in_range(0..=4)? {
                    pairs.push((bytes(u, MAP_KEYS)?, bytes(u, MAP_VALUES)?));
                }
                MapCall::SetPairs(m, pairs)
            }
        });
    }
    Ok((req, resp, calls))
}
