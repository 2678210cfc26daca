//! The route matcher: a table built (through the config loader) from
//! fuzzed routes, and fuzzed requests (host, path, method, headers). The
//! indexed `match_request` must agree with trying the routes in file order
//! and with the reference in `tests/oracle/routes.rs`, and be
//! deterministic.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{gen_http, oracle};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok((routes, requests)) = gen_http::routes_and_requests(&mut u) {
        oracle::routes::check_routing(&routes, &requests);
    }
});
