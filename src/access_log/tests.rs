//! The line formats on hand-made entries: every field, the Common Log
//! Format's shape, quoting, field selection and order, and the calendar.

use std::time::{Duration, SystemTime};

use http::{Request, Version};

use super::format::{format_line, rfc3339_millis};
use super::head::{Wanted, MAX_PART};
use super::{AccessLogger, Entry, Served};
use crate::config::{AccessLog, AccessLogField as F, AccessLogFormat, AccessLogOutput};

const AGENT: &str = "curl/8.5 (x86_64) \"q\"";

/// `POST uri` with `headers`.
fn request(uri: &str, headers: &[(&str, &[u8])]) -> Request<()> {
    let mut req = Request::post(uri).body(()).unwrap();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut()
            .insert(name, http::HeaderValue::from_bytes(v).unwrap());
    }
    req
}

/// `req`, captured for every field, arrived at 2024-05-01T12:00:00.123Z,
/// took 12.5 ms and was answered 201 with 1234 bytes (17 read), served
/// as `served` says.
fn answered(req: &Request<()>, served: Served<'_>) -> Entry {
    let client = "10.0.0.7".parse().unwrap();
    let mut e = *Entry::start(req, "web", client, Wanted::of(&F::ALL));
    let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_714_564_800_123);
    e.duration = Duration::from_micros(12_500);
    e.ended = start + e.duration;
    e.served(served);
    e.status = 201;
    e.bytes_in = 17;
    e.bytes_out = 1234;
    e
}

/// Like `answered`, by route `payments` to `vendors/vendor-a`, retried once.
fn entry_of(req: &Request<()>) -> Entry {
    answered(
        req,
        Served {
            route: Some("payments"),
            pool: Some("vendors"),
            endpoint: Some("vendor-a"),
            attempts: 2,
            upstream_duration: Some(Duration::from_micros(10_250)),
            reason: None,
        },
    )
}

fn entry() -> Entry {
    entry_of(&request(
        "/v1/pay?card=4111&x=1",
        &[
            ("host", b"api.example.com"),
            ("user-agent", AGENT.as_bytes()),
            ("x-request-id", b"req-42"),
        ],
    ))
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
    let served = Served {
        reason: Some("no_route"),
        ..Served::default()
    };
    let e = answered(&request("/x?a=%22b%22", &[]), served);
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
    let e = entry_of(&request("/", &[("user-agent", b"bad\xffagent\t\"x\"")]));
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
    let e = entry_of(&request(
        "/a\"b",
        &[
            ("x-request-id", b""),
            ("host", b"-"),
            ("user-agent", b"a=b\\c"),
        ],
    ));
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
    let e = entry_of(&request(
        "https://h2.example.com:8443/p",
        &[("host", b"other")],
    ));
    let s = line(AccessLogFormat::Json, &[F::Host, F::Path], &e);
    assert_eq!(s, r#"{"host":"h2.example.com:8443","path":"/p"}"#);
}

#[test]
fn only_the_head_parts_the_fields_show_are_kept_each_cut_at_4_kib() {
    let long = vec![b'a'; MAX_PART + 100];
    let req = request("/p?q=1", &[("user-agent", &long), ("x-request-id", b"r")]);
    let client = "10.0.0.7".parse().unwrap();
    let wanted = Wanted::of(&[F::Status, F::UserAgent]);
    let e = Entry::start(&req, "web", client, wanted);
    let s = line(
        AccessLogFormat::Json,
        &[F::Path, F::RequestId, F::UserAgent],
        &e,
    );
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(
        (&v["path"], &v["request_id"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
    assert_eq!(v["user_agent"].as_str().unwrap().len(), MAX_PART);
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

/// An output that stops taking bytes (a stdout pipe nobody reads) holds
/// up the writer thread, never the request path: lines beyond the queue
/// are dropped and counted. Once the output fails for good, what the
/// writer held is counted as write errors; every line is accounted for.
#[cfg(unix)]
#[test]
fn a_stuck_output_drops_lines_instead_of_blocking_the_request_path() {
    let (reader, pipe) = std::io::pipe().unwrap();
    let file = std::fs::File::from(std::os::fd::OwnedFd::from(pipe));
    // A path that cannot be reopened: the rotation check keeps the pipe.
    let path = "/nonexistent-switchyard-dir/access.log".into();
    let sink = super::writer::Sink::File {
        path,
        file,
        id: None,
    };
    let metrics = crate::metrics::Metrics::new().unwrap();
    let config = AccessLog {
        format: AccessLogFormat::Json,
        output: AccessLogOutput::Stdout,
        fields: F::defaults(),
    };
    let logger = AccessLogger::start(&config, &metrics.access_log, sink, 16).unwrap();
    let req = request("/stuck", &[("user-agent", b"test")]);
    let client = "10.0.0.7".parse().unwrap();
    // Far more than the pipe (64 KiB), the writer's buffer (64 KiB) and
    // the queue (16) hold.
    let n = 5000;
    for _ in 0..n {
        let line = logger.begin(&req, "web", client);
        line.finish(200, Duration::from_millis(1), 10);
    }
    let m = &metrics.access_log;
    assert!(m.queue_full.get() > 0, "nothing was dropped");
    drop(reader);
    assert!(logger.close(Duration::from_secs(30)));
    assert!(m.write_error.get() > 0, "the broken pipe was not counted");
    assert_eq!(m.lines.get() + m.queue_full.get() + m.write_error.get(), n);
}
