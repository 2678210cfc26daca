//! Certificate validity: the `notAfter` of an X.509 certificate, read
//! from its DER, and Unix times written as RFC 3339.
//!
//! Owns: the few DER steps from a certificate to its validity (RFC 5280
//! §4.1), and the calendar arithmetic for UTCTime and GeneralizedTime.
//! Must not: judge a certificate (rustls and webpki do that). A
//! certificate this reader cannot follow has no known expiry; it is never
//! an error, since the handshake code has already accepted the bytes.

/// Unix seconds at which the certificate `der` stops being valid, if its
/// validity can be read.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (cert, _) = element(der, SEQUENCE)?;
    let (tbs, _) = element(cert, SEQUENCE)?;
    // version [0] EXPLICIT, present from v2 on.
    let rest = match element(tbs, VERSION) {
        Some((_, rest)) => rest,
        None => tbs,
    };
    let (_serial, rest) = element(rest, INTEGER)?;
    let (_signature, rest) = element(rest, SEQUENCE)?;
    let (_issuer, rest) = element(rest, SEQUENCE)?;
    let (validity, _) = element(rest, SEQUENCE)?;
    let (_not_before, rest) = any_element(validity)?;
    let (tag, time, _) = any_element_tagged(rest)?;
    match tag {
        UTC_TIME => utc_time(time),
        GENERALIZED_TIME => generalized_time(time),
        _ => None,
    }
}

/// `secs` (Unix seconds) as RFC 3339 in UTC, e.g. `2027-03-01T12:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The contents of the element at the start of `input` if its tag is
/// `tag`, and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = any_element_tagged(input)?;
    (t == tag).then_some((contents, rest))
}

fn any_element(input: &[u8]) -> Option<(&[u8], &[u8])> {
    any_element_tagged(input).map(|(_, c, r)| (c, r))
}

/// Tag, contents and rest of the DER element at the start of `input`
/// (single-byte tags; definite lengths of up to four bytes).
fn any_element_tagged(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// UTCTime `YYMMDDHHMMSSZ`; years 50–99 are 19xx (RFC 5280 §4.1.2.5.1).
fn utc_time(t: &[u8]) -> Option<i64> {
    if t.len() != 13 {
        return None;
    }
    let yy = digits(&t[0..2])?;
    let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    civil_time(year, &t[2..])
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ` (RFC 5280 §4.1.2.5.2).
fn generalized_time(t: &[u8]) -> Option<i64> {
    if t.len() != 15 {
        return None;
    }
    civil_time(digits(&t[0..4])?, &t[4..])
}

/// `MMDDHHMMSSZ` of `year` as Unix seconds.
fn civil_time(year: i64, t: &[u8]) -> Option<i64> {
    if t.len() != 11 || t[10] != b'Z' {
        return None;
    }
    let month = digits(&t[0..2])?;
    let day = digits(&t[2..4])?;
    let hour = digits(&t[4..6])?;
    let minute = digits(&t[6..8])?;
    let second = digits(&t[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    // 60: a leap second, as X.509 allows.
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-1, 0, 59, 60, 11_016, 11_017, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn times() {
        assert_eq!(utc_time(b"700101000000Z"), Some(0));
        assert_eq!(utc_time(b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(generalized_time(b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(utc_time(b"700101000000+0100"), None);
        assert_eq!(utc_time(b"701301000000Z"), None);
        assert_eq!(generalized_time(b"2050010100000aZ"), None);
    }

    #[test]
    fn reads_not_after_of_generated_certificates() {
        for (y, m, d) in [(2031, 7, 4), (2050, 1, 1), (1999, 12, 31)] {
            let mut params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
            params.not_after = rcgen::date_time_ymd(y, m, d);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            let want = days_from_civil(i64::from(y), i64::from(m), i64::from(d)) * 86_400;
            assert_eq!(not_after(cert.der()), Some(want), "{y}-{m}-{d}");
        }
    }

    #[test]
    fn garbage_has_no_expiry() {
        assert_eq!(not_after(b""), None);
        assert_eq!(not_after(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(not_after(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
        let mut params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 7, 4);
        let cert = params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let der = cert.der().to_vec();
        for cut in [1, 10, 40, der.len() / 2, der.len() - 1] {
            // Truncated: the outer length no longer fits.
            assert_eq!(not_after(&der[..cut]), None, "cut at {cut}");
        }
    }
}
