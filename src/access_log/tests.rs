//! The line formats on hand-made entries: every field, the Common Log
//! Format's shape, quoting, field selection and order, and the calendar.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method, Uri, Version};

use super::format::{format_line, rfc3339_millis};
use super::{Entry, Served};
use crate::config::{AccessLogField as F, AccessLogFormat};

/// A request that arrived at 2024-05-01T12:00:00.123Z and took 12.5 ms.
fn entry() -> Entry {
    let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_714_564_800_123);
    let duration = Duration::from_micros(12_500);
    Entry {
        ended: start + duration,
        listener: Arc::from("web"),
        client: "10.0.0.7".parse().unwrap(),
        method: Method::POST,
        uri: Uri::from_static("/v1/pay?card=4111&x=1"),
        version: Version::HTTP_11,
        host: Some(HeaderValue::from_static("api.example.com")),
        user_agent: Some(HeaderValue::from_static("curl/8.5 (x86_64) \"q\"")),
        request_id: Some(HeaderValue::from_static("req-42")),
        served: Served {
            route: Some(Arc::from("payments")),
            pool: Some(Arc::from("vendors")),
            endpoint: Some(Arc::from("vendor-a")),
            attempts: 2,
            upstream_duration: Some(Duration::from_micros(10_250)),
            reason: None,
        },
        status: 201,
        bytes_in: 17,
        bytes_out: 1234,
        duration,
    }
}

fn line(format: AccessLogFormat, fields: &[F], e: &Entry) -> String {
    let mut out = Vec::new();
    format_line(&mut out, format, fields, e);
    let s = String::from_utf8(out).unwrap();
    assert!(s.ends_with('\n') && s.matches('\n').count() == 1, "{s:?}");
    s.trim_end().to_string()
}

#[test]
fn json_has_every_default_field_in_order_with_units() {
    let s = line(AccessLogFormat::Json, &F::defaults(), &entry());
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    // serde_json's map sorts its keys: look for them in the text.
    assert_eq!(v.as_object().unwrap().len(), F::defaults().len(), "{s}");
    let at: Vec<usize> = F::defaults()
        .iter()
        .map(|f| s.find(&format!("\"{}\":", f.as_str())).unwrap())
        .collect();
    assert!(at.is_sorted(), "keys out of order: {s}");
    assert!(
        !s.contains("card="),
        "the query is not in the defaults: {s}"
    );
    assert_eq!(v["timestamp"], "2024-05-01T12:00:00.123Z");
    assert_eq!(v["listener"], "web");
    assert_eq!(v["client"], "10.0.0.7");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["host"], "api.example.com");
    assert_eq!(v["path"], "/v1/pay");
    assert_eq!(v["protocol"], "HTTP/1.1");
    assert_eq!(v["status"], 201);
    assert_eq!(v["bytes_in"], 17);
    assert_eq!(v["bytes_out"], 1234);
    assert_eq!(v["duration_ms"], 12.5);
    assert_eq!(v["upstream_duration_ms"], 10.25);
    assert_eq!(v["route"], "payments");
    assert_eq!(v["pool"], "vendors");
    assert_eq!(v["endpoint"], "vendor-a");
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["reason"], serde_json::Value::Null);
    assert_eq!(v["user_agent"], "curl/8.5 (x86_64) \"q\"");
    assert_eq!(v["request_id"], "req-42");
}

#[test]
fn json_follows_the_selected_fields_and_writes_null_for_the_unknown() {
    let mut e = entry();
    e.served = Served {
        reason: Some("no_route"),
        ..Served::default()
    };
    e.host = None;
    e.uri = Uri::from_static("/x?a=%22b%22");
    let fields = [
        F::Reason,
        F::Status,
        F::Query,
        F::Route,
        F::Host,
        F::Attempts,
    ];
    let s = line(AccessLogFormat::Json, &fields, &e);
    assert_eq!(
        s,
        r#"{"reason":"no_route","status":201,"query":"a=%22b%22","route":null,"host":null,"attempts":0}"#
    );
}

#[test]
fn json_escapes_header_bytes_that_are_not_text() {
    let mut e = entry();
    e.user_agent = Some(HeaderValue::from_bytes(b"bad\xffagent\t\"x\"").unwrap());
    let s = line(AccessLogFormat::Json, &[F::UserAgent], &e);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["user_agent"], "bad\u{fffd}agent\t\"x\"");
}

#[test]
fn common_is_the_clf_line_then_key_values() {
    let s = line(AccessLogFormat::Common, &F::defaults(), &entry());
    assert_eq!(
        s,
        "10.0.0.7 - - [01/May/2024:12:00:00 +0000] \"POST /v1/pay HTTP/1.1\" 201 1234 \
         listener=web host=api.example.com bytes_in=17 duration_ms=12.500 \
         upstream_duration_ms=10.250 route=payments pool=vendors endpoint=vendor-a \
         attempts=2 reason=- user_agent=\"curl/8.5 (x86_64) \\\"q\\\"\" request_id=req-42"
    );
}

#[test]
fn common_shows_dashes_for_columns_not_selected_and_the_query_when_selected() {
    let fields = [F::Attempts, F::Path, F::Query, F::Status, F::Route];
    let s = line(AccessLogFormat::Common, &fields, &entry());
    assert_eq!(
        s,
        "- - - [-] \"- /v1/pay?card=4111&x=1 -\" 201 - attempts=2 route=payments"
    );
}

#[test]
fn common_escapes_what_would_break_the_line() {
    let mut e = entry();
    e.uri = Uri::from_static("/a\"b");
    e.request_id = Some(HeaderValue::from_static(""));
    e.host = Some(HeaderValue::from_static("-"));
    e.user_agent = Some(HeaderValue::from_static("a=b\\c"));
    let fields = [F::Path, F::RequestId, F::Host, F::UserAgent];
    let s = line(AccessLogFormat::Common, &fields, &e);
    assert_eq!(
        s,
        "- - - [-] \"- /a\\x22b -\" - - request_id=\"\" host=\"-\" user_agent=\"a=b\\\\c\""
    );
}

#[test]
fn protocols_are_spelled_as_in_the_request_line() {
    for (v, want) in [
        (Version::HTTP_10, "HTTP/1.0"),
        (Version::HTTP_11, "HTTP/1.1"),
        (Version::HTTP_2, "HTTP/2.0"),
    ] {
        let mut e = entry();
        e.version = v;
        assert_eq!(
            line(AccessLogFormat::Json, &[F::Protocol], &e),
            format!("{{\"protocol\":\"{want}\"}}")
        );
    }
}

#[test]
fn the_authority_of_the_target_wins_over_the_host_header() {
    let mut e = entry();
    e.uri = Uri::from_static("https://h2.example.com:8443/p");
    let s = line(AccessLogFormat::Json, &[F::Host, F::Path], &e);
    assert_eq!(s, r#"{"host":"h2.example.com:8443","path":"/p"}"#);
}

#[test]
fn timestamps_are_utc_calendar_dates() {
    for (secs, want) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400, "2000-02-29T00:00:00.000Z"),
        (1_709_164_800, "2024-02-29T00:00:00.000Z"),
        (4_102_444_799, "2099-12-31T23:59:59.000Z"),
    ] {
        let mut out = Vec::new();
        rfc3339_millis(&mut out, SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
    let mut e = entry();
    e.ended = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 86_399);
    e.duration = Duration::ZERO;
    let s = line(AccessLogFormat::Common, &[F::Timestamp], &e);
    assert!(s.starts_with("- - - [29/Feb/2000:23:59:59 +0000] "), "{s}");
}
