//! The proxy-wasm header maps plugins edit (`plugin::HeaderMaps`, the code
//! behind `proxy_{get,set}_header_map_pairs`, `proxy_get_header_map_value`,
//! `proxy_{add,replace,remove}_header_map_value`): any call sequence with
//! any bytes, malformed serialised pairs included, checked by
//! `tests/oracle/plugin_maps.rs`.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{gen_http, oracle};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok((req, resp, calls)) = gen_http::map_calls(&mut u) {
        oracle::plugin_maps::check_calls(req.as_ref(), resp.as_ref(), &calls);
    }
});
