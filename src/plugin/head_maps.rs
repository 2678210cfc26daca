//! The proxy-wasm header-map calls on a head, without a guest.
//!
//! Owns: a thin public door onto `headers.rs` and the pair (de)serializer,
//! so property tests and the fuzz targets (`fuzz/`) run exactly the code a
//! plugin's host calls run. Must not: add behaviour of its own; every method
//! forwards to what the ABI function of the same name calls.

use std::sync::Arc;

use http::{request, response};

use super::headers::{self, Write};
use super::state::{serialize_pairs, HostState, Props, Status};

/// A request and/or response head as a plugin's header-map host calls see
/// and edit it: map [`HeaderMaps::REQUEST`] (pseudo-headers `:method`,
/// `:path`, `:authority`, `:scheme` in front) and map
/// [`HeaderMaps::RESPONSE`] (`:status` in front). Errors are the proxy-wasm
/// status codes the ABI call would return (`1` not found, `2` bad argument).
#[derive(Debug)]
pub struct HeaderMaps {
    st: HostState,
}

impl HeaderMaps {
    /// The request header map's number (`proxy_map_type` 0).
    pub const REQUEST: i32 = headers::REQUEST;
    /// The response header map's number (`proxy_map_type` 2).
    pub const RESPONSE: i32 = headers::RESPONSE;

    /// Lends `request` and `response` to the maps, as a call does; `props`
    /// gives `:scheme` (`http` without).
    pub fn new(
        request: Option<request::Parts>,
        response: Option<response::Parts>,
        props: Option<Arc<Props>>,
    ) -> Self {
        let mut st = HostState::new(Arc::from("header-maps"), Arc::from(&[][..]), 0, 0);
        st.request = request;
        st.response = response;
        st.props = props;
        Self { st }
    }

    /// `proxy_get_header_map_pairs`: the map serialized the proxy-wasm way
    /// (u32 count, then (key length, value length) per pair, then each key
    /// and value NUL-terminated, all little-endian).
    pub fn pairs(&self, map: i32) -> Result<Vec<u8>, i32> {
        let mut out = Vec::new();
        headers::pairs(&self.st, map, &mut out).map_err(code)?;
        Ok(out)
    }

    /// `proxy_get_header_map_value`: one header's values, comma-joined.
    pub fn value(&self, map: i32, key: &[u8]) -> Result<Vec<u8>, i32> {
        let mut out = Vec::new();
        headers::value(&self.st, map, key, &mut out).map_err(code)?;
        Ok(out)
    }

    /// `proxy_add_header_map_value` (`replace == false`) or
    /// `proxy_replace_header_map_value` (`replace == true`).
    pub fn set(&mut self, map: i32, key: &[u8], value: &[u8], replace: bool) -> Result<(), i32> {
        let how = if replace { Write::Replace } else { Write::Add };
        headers::set(&mut self.st, map, key, value, how).map_err(code)
    }

    /// `proxy_remove_header_map_value`.
    pub fn remove(&mut self, map: i32, key: &[u8]) -> Result<(), i32> {
        headers::remove(&mut self.st, map, key).map_err(code)
    }

    /// `proxy_set_header_map_pairs`: `serialized` as the guest would pass
    /// it, malformed input included.
    pub fn set_pairs(&mut self, map: i32, serialized: &[u8]) -> Result<(), i32> {
        headers::set_pairs(&mut self.st, map, serialized).map_err(code)
    }

    /// The request head as edited so far.
    pub fn request(&self) -> Option<&request::Parts> {
        self.st.request.as_ref()
    }

    /// The response head as edited so far.
    pub fn response(&self) -> Option<&response::Parts> {
        self.st.response.as_ref()
    }

    /// Gives the heads back, as the end of a call does.
    pub fn into_parts(self) -> (Option<request::Parts>, Option<response::Parts>) {
        (self.st.request, self.st.response)
    }

    /// Serializes `pairs` the way [`HeaderMaps::pairs`] does, to build
    /// input for [`HeaderMaps::set_pairs`].
    pub fn serialize(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        serialize_pairs(pairs.iter().copied(), &mut out);
        out
    }
}

fn code(s: Status) -> i32 {
    s as i32
}
