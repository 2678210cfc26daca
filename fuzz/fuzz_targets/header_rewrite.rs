//! The header rewriter (`proxy::forward`): fuzzed request and response
//! heads with fuzzed route edits through `prepare_request`,
//! `prepare_response` and `upstream_uri`, checked against
//! `tests/oracle/headers.rs` (no hop-by-hop header survives but an upgrade
//! and `TE: trailers`, `X-Forwarded-*` and `Host` are the proxy's, edits
//! apply, everything else passes unchanged, the query is kept).

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::gen_http;
use switchyard_fuzz::oracle::headers;

fn run(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let head = gen_http::request_head(u)?;
    let ops = gen_http::header_ops(u)?;
    let peer = gen_http::peer(u)?;
    headers::check_prepare_request(&head, &ops, peer, u.arbitrary()?);
    let (base, strip) = gen_http::rewrite(u)?;
    headers::check_upstream_uri(&head.uri, &base, strip.as_deref());
    let status = gen_http::status(u)?;
    let lines = gen_http::request_head(u)?.headers;
    let ops = gen_http::header_ops(u)?;
    headers::check_prepare_response(status, &lines, &ops);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
