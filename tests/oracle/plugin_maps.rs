//! The proxy-wasm header maps a plugin edits (`plugin::HeaderMaps`): any
//! sequence of calls, with any bytes, leaves heads whose maps serialise,
//! read back consistently (`get_value` agrees with `get_pairs`) and survive
//! `set_pairs(get_pairs())` unchanged.

use http::header::{HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri, Version};
use switchyard::plugin::HeaderMaps;

/// One host call.
#[derive(Clone)]
pub enum MapCall {
    /// `proxy_get_header_map_pairs`.
    Pairs(i32),
    /// `proxy_get_header_map_value`.
    Value(i32, Vec<u8>),
    /// `proxy_add_header_map_value` / `proxy_replace_header_map_value`.
    Set(i32, Vec<u8>, Vec<u8>, bool),
    /// `proxy_remove_header_map_value`.
    Remove(i32, Vec<u8>),
    /// `proxy_set_header_map_pairs` with raw (maybe malformed) bytes.
    SetRaw(i32, Vec<u8>),
    /// `proxy_set_header_map_pairs` with well-formed pairs.
    SetPairs(i32, Vec<(Vec<u8>, Vec<u8>)>),
}

impl std::fmt::Debug for MapCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            Self::Pairs(m) => write!(f, "Pairs({m})"),
            Self::Value(m, k) => write!(f, "Value({m}, {:?})", t(k)),
            Self::Set(m, k, v, r) => write!(f, "Set({m}, {:?}, {:?}, replace: {r})", t(k), t(v)),
            Self::Remove(m, k) => write!(f, "Remove({m}, {:?})", t(k)),
            Self::SetRaw(m, d) => write!(f, "SetRaw({m}, {d:?})"),
            Self::SetPairs(m, p) => write!(f, "SetPairs({m}, {})", show(p)),
        }
    }
}

/// A request head to lend.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Target.
    pub uri: Uri,
    /// Header lines.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A response head to lend.
#[derive(Debug, Clone)]
pub struct Response {
    /// A final status: response callbacks never see a 1xx (a 101 switches
    /// protocols before them).
    pub status: StatusCode,
    /// Header lines.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Pairs as text, for messages.
pub fn show(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    let text: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    format!("{text:?}")
}

/// Pairs decoded from the proxy-wasm serialisation, written from the
/// format's description (not the host's parser); `None` if malformed.
pub fn decode(data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let word = |at: usize| -> Option<usize> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    let n = word(0)?;
    let mut at = 4 + 8 * n;
    let mut out = Vec::new();
    for i in 0..n {
        let (kl, vl) = (word(4 + 8 * i)?, word(8 + 8 * i)?);
        let k = data.get(at..at + kl)?.to_vec();
        if data.get(at + kl) != Some(&0) {
            return None;
        }
        at += kl + 1;
        let v = data.get(at..at + vl)?.to_vec();
        if data.get(at + vl) != Some(&0) {
            return None;
        }
        at += vl + 1;
        out.push((k, v));
    }
    (at == data.len()).then_some(out)
}

fn lend(request: Option<&Request>, response: Option<&Response>) -> HeaderMaps {
    let req = request.map(|r| {
        let mut parts = http::Request::builder()
            .method(r.method.clone())
            .uri(r.uri.clone())
            .version(Version::HTTP_11)
            .body(())
            .map(http::Request::into_parts)
            .unwrap_or_else(|e| panic!("{e}: {r:?}"))
            .0;
        for (n, v) in &r.headers {
            parts.headers.append(n.clone(), v.clone());
        }
        parts
    });
    let resp = response.map(|r| {
        let mut parts = http::Response::builder()
            .status(r.status)
            .body(())
            .map(http::Response::into_parts)
            .unwrap_or_else(|e| panic!("{e}: {r:?}"))
            .0;
        for (n, v) in &r.headers {
            parts.headers.append(n.clone(), v.clone());
        }
        parts
    });
    HeaderMaps::new(req, resp, None)
}

/// The heads in `maps` as plain data, to lend to a fresh `HeaderMaps`.
fn heads(maps: &HeaderMaps) -> (Option<Request>, Option<Response>) {
    let lines = |h: &http::HeaderMap| {
        h.iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    (
        maps.request().map(|p| Request {
            method: p.method.clone(),
            uri: p.uri.clone(),
            headers: lines(&p.headers),
        }),
        maps.response().map(|p| Response {
            status: p.status,
            headers: lines(&p.headers),
        }),
    )
}

/// Runs `calls` and checks every map after each; a refused call must
/// leave both maps as they were.
pub fn check_calls(request: Option<&Request>, response: Option<&Response>, calls: &[MapCall]) {
    let mut maps = lend(request, response);
    for call in calls {
        let before = both(&maps);
        let refused = match call {
            MapCall::Pairs(m) => any_status(maps.pairs(*m)),
            MapCall::Value(m, k) => any_status(maps.value(*m, k)),
            MapCall::Set(m, k, v, replace) => {
                let r = maps.set(*m, k, v, *replace);
                if r.is_ok() {
                    check_written(&maps, *m, k, v, *replace, call);
                }
                r.is_err()
            }
            MapCall::Remove(m, k) => {
                let r = maps.remove(*m, k);
                if r.is_ok() && !k.eq_ignore_ascii_case(b"host") {
                    assert_eq!(maps.value(*m, k), Err(1), "{call:?}");
                }
                r.is_err()
            }
            MapCall::SetRaw(m, data) => maps.set_pairs(*m, data).is_err(),
            MapCall::SetPairs(m, pairs) => {
                let refs: Vec<(&[u8], &[u8])> =
                    pairs.iter().map(|(k, v)| (&k[..], &v[..])).collect();
                maps.set_pairs(*m, &HeaderMaps::serialize(&refs)).is_err()
            }
        };
        if refused {
            assert_eq!(both(&maps), before, "a refused {call:?} changed a map");
        }
        for m in [HeaderMaps::REQUEST, HeaderMaps::RESPONSE] {
            check_map(&maps, m, call);
        }
    }
}

/// Both maps, serialised (or the status that says there is none).
fn both(maps: &HeaderMaps) -> [Result<Vec<u8>, i32>; 2] {
    [
        maps.pairs(HeaderMaps::REQUEST),
        maps.pairs(HeaderMaps::RESPONSE),
    ]
}

/// A read, whose result is not checked here (the maps are, after it):
/// never counts as refused.
fn any_status<T>(_: Result<T, i32>) -> bool {
    false
}

/// A value just written reads back.
fn check_written(maps: &HeaderMaps, m: i32, k: &[u8], v: &[u8], replace: bool, call: &MapCall) {
    let pseudo = k.first() == Some(&b':');
    let read = maps.value(m, k);
    if !pseudo && !k.eq_ignore_ascii_case(b"host") {
        let read = read.unwrap_or_else(|e| panic!("status {e} reading back {call:?}"));
        if replace {
            assert_eq!(read, v, "{call:?}");
        } else {
            assert!(read.ends_with(v), "{call:?} read {read:?}");
        }
    } else if k.eq_ignore_ascii_case(b":path") || k.eq_ignore_ascii_case(b":method") {
        assert_eq!(read.as_deref(), Ok(v), "{call:?}");
    }
}

/// Map `m` serialises well, `get_value` agrees with it, and it survives
/// `set_pairs(get_pairs())` on a copy.
fn check_map(maps: &HeaderMaps, m: i32, call: &MapCall) {
    let Ok(bytes) = maps.pairs(m) else {
        return;
    };
    let pairs = decode(&bytes).unwrap_or_else(|| panic!("undecodable pairs after {call:?}"));
    for (k, _) in &pairs {
        let joined: Vec<&[u8]> = pairs
            .iter()
            .filter(|(k2, _)| k2.eq_ignore_ascii_case(k))
            .map(|(_, v)| &v[..])
            .collect();
        assert_eq!(
            maps.value(m, k),
            Ok(joined.join(&b","[..])),
            "get_value({:?}) disagrees with get_pairs after {call:?}",
            String::from_utf8_lossy(k)
        );
    }
    let (req, resp) = heads(maps);
    let mut copy = lend(req.as_ref(), resp.as_ref());
    assert_eq!(
        copy.set_pairs(m, &bytes),
        Ok(()),
        "set_pairs(get_pairs()) refused after {call:?}: {}",
        show(&pairs)
    );
    assert_eq!(
        copy.pairs(m).ok().as_deref().and_then(decode),
        Some(pairs),
        "set_pairs(get_pairs()) changed map {m} after {call:?}"
    );
}
