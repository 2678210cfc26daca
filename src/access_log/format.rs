//! The two line formats. Pure: an [`Entry`] and the field list in, bytes
//! out.
//!
//! `json`: one object per line, the selected fields as keys in their
//! order, `null` for what is not known. `common`: the NCSA Common Log
//! Format, `CLIENT - - [TIME] "METHOD PATH PROTOCOL" STATUS BYTES_OUT`
//! (a column whose field is not selected shows `-`; `?QUERY` follows the
//! path when `query` is selected), then every other selected field as
//! ` key=value` in order (logfmt quoting). Times are UTC.

use std::borrow::Cow;
use std::io::Write;
use std::time::{Duration, SystemTime};

use http::Version;

use super::head::Part;
use super::Entry;
use crate::config::{AccessLogField as F, AccessLogFormat};

/// One field's value.
enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(u64),
    Millis(Duration),
    Time(SystemTime),
}

/// Appends `entry`'s line, newline included, to `out`.
pub(super) fn format_line(out: &mut Vec<u8>, format: AccessLogFormat, fields: &[F], entry: &Entry) {
    match format {
        AccessLogFormat::Json => json(out, fields, entry),
        AccessLogFormat::Common => common(out, fields, entry),
    }
    out.push(b'\n');
}

fn text(v: Option<&[u8]>) -> Value<'_> {
    match v {
        Some(v) => Value::Text(String::from_utf8_lossy(v)),
        None => Value::Null,
    }
}

fn value(e: &Entry, field: F) -> Value<'_> {
    match field {
        F::Timestamp => Value::Time(started(e)),
        F::Listener => text(e.head.get(Part::Listener)),
        F::Client => Value::Text(Cow::Owned(e.client.to_string())),
        F::Method => Value::Text(Cow::Borrowed(e.method.as_str())),
        F::Host => text(e.head.get(Part::Host)),
        F::Path => text(e.head.get(Part::Path)),
        F::Query => text(e.head.get(Part::Query)),
        F::Protocol => Value::Text(Cow::Borrowed(protocol(e.version))),
        F::Status => Value::Int(u64::from(e.status)),
        F::BytesIn => Value::Int(e.bytes_in),
        F::BytesOut => Value::Int(e.bytes_out),
        F::DurationMs => Value::Millis(e.duration),
        F::UpstreamDurationMs => e.upstream_duration.map_or(Value::Null, Value::Millis),
        F::Route => text(e.head.get(Part::Route)),
        F::Pool => text(e.head.get(Part::Pool)),
        F::Endpoint => text(e.head.get(Part::Endpoint)),
        F::Attempts => Value::Int(u64::from(e.attempts)),
        F::Reason => e
            .reason
            .map_or(Value::Null, |r| Value::Text(Cow::Borrowed(r))),
        F::UserAgent => text(e.head.get(Part::UserAgent)),
        F::RequestId => text(e.head.get(Part::RequestId)),
    }
}

/// When the request head arrived.
fn started(e: &Entry) -> SystemTime {
    e.ended.checked_sub(e.duration).unwrap_or(e.ended)
}

fn protocol(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "-",
    }
}

// === json ===

fn json(out: &mut Vec<u8>, fields: &[F], e: &Entry) {
    out.push(b'{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(f.as_str().as_bytes());
        out.extend_from_slice(b"\":");
        match value(e, *f) {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Text(t) => json_str(out, &t),
            Value::Int(n) => write!(out, "{n}").unwrap_or(()),
            Value::Millis(d) => millis(out, d),
            Value::Time(t) => {
                out.push(b'"');
                rfc3339_millis(out, t);
                out.push(b'"');
            }
        }
    }
    out.push(b'}');
}

/// A JSON string literal (RFC 8259 §7): `"` and `\` escaped, control
/// characters as `\uXXXX` (the usual ones by their short escapes); the
/// rest is UTF-8 already, copied in runs.
fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escape.is_empty() {
            write!(out, "\\u{b:04x}").unwrap_or(());
        } else {
            out.extend_from_slice(escape);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn millis(out: &mut Vec<u8>, d: Duration) {
    write!(out, "{:.3}", d.as_secs_f64() * 1000.0).unwrap_or(());
}

// === common ===

/// The fields the Common Log Format columns show.
const CLF: [F; 8] = [
    F::Client,
    F::Timestamp,
    F::Method,
    F::Path,
    F::Query,
    F::Protocol,
    F::Status,
    F::BytesOut,
];

fn common(out: &mut Vec<u8>, fields: &[F], e: &Entry) {
    let has = |f: F| fields.contains(&f);
    let column = |out: &mut Vec<u8>, f: F| match has(f).then(|| value(e, f)) {
        Some(Value::Text(t)) if !t.is_empty() => escaped(out, &t),
        Some(Value::Int(n)) => write!(out, "{n}").unwrap_or(()),
        _ => out.push(b'-'),
    };
    column(out, F::Client);
    out.extend_from_slice(b" - - [");
    if has(F::Timestamp) {
        clf_time(out, started(e));
    } else {
        out.push(b'-');
    }
    out.extend_from_slice(b"] \"");
    column(out, F::Method);
    out.push(b' ');
    column(out, F::Path);
    if let (true, Some(q)) = (has(F::Query), e.head.get(Part::Query)) {
        out.push(b'?');
        escaped(out, &String::from_utf8_lossy(q));
    }
    out.push(b' ');
    column(out, F::Protocol);
    out.extend_from_slice(b"\" ");
    column(out, F::Status);
    out.push(b' ');
    column(out, F::BytesOut);
    for f in fields.iter().filter(|f| !CLF.contains(f)) {
        out.push(b' ');
        out.extend_from_slice(f.as_str().as_bytes());
        out.push(b'=');
        match value(e, *f) {
            Value::Null => out.push(b'-'),
            Value::Text(t) => logfmt(out, &t),
            Value::Int(n) => write!(out, "{n}").unwrap_or(()),
            Value::Millis(d) => millis(out, d),
            Value::Time(t) => rfc3339_millis(out, t),
        }
    }
}

/// Inside the CLF columns: `"`, `\`, spaces and control bytes as `\xHH`
/// (as Apache does), so a column never breaks the line's shape.
fn escaped(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        if b <= b' ' || b == b'"' || b == b'\\' || b == 0x7f {
            write!(out, "\\x{b:02x}").unwrap_or(());
        } else {
            out.push(b);
        }
    }
}

/// A logfmt value: bare when it is printable ASCII without spaces, `"`,
/// `\` or `=` (and not `-`, which means "none"); otherwise quoted, with
/// `\"`, `\\` and control bytes as `\xHH`.
fn logfmt(out: &mut Vec<u8>, s: &str) {
    let bare = !s.is_empty()
        && s != "-"
        && s.bytes()
            .all(|b| b > b' ' && b < 0x7f && !matches!(b, b'"' | b'\\' | b'='));
    if bare {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b if b < b' ' || b == 0x7f => write!(out, "\\x{b:02x}").unwrap_or(()),
            b => out.push(b),
        }
    }
    out.push(b'"');
}

// === time ===

/// UTC calendar fields of `t` (clamped to 1970 and later):
/// (year, month 1-12, day 1-31, hour, minute, second, millisecond).
fn civil(t: SystemTime) -> (u64, u64, u64, u64, u64, u64, u32) {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        year,
        month,
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis(),
    )
}

/// `2024-05-01T12:00:00.123Z`
pub(super) fn rfc3339_millis(out: &mut Vec<u8>, t: SystemTime) {
    let (y, mo, d, h, mi, s, ms) = civil(t);
    write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z").unwrap_or(());
}

/// `01/May/2024:12:00:00 +0000`
fn clf_time(out: &mut Vec<u8>, t: SystemTime) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s, _) = civil(t);
    let month = usize::try_from(mo - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .unwrap_or(&"Jan");
    write!(out, "{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02} +0000").unwrap_or(());
}
