//! `Retry-After` on 429 and 503 answers: how long an endpoint asks to be
//! left alone, as seconds or an HTTP date.

use std::time::Duration;

use http::Response;

/// How long a 429 or 503 asks to be left alone (`Retry-After` as seconds or
/// an HTTP date), if it does.
pub(super) fn retry_after(
    response: &Response<crate::upstream::ResponseStream>,
) -> Option<Duration> {
    retry_after_head(response.status(), response.headers())
}

fn retry_after_head(status: http::StatusCode, headers: &http::HeaderMap) -> Option<Duration> {
    if status != http::StatusCode::TOO_MANY_REQUESTS
        && status != http::StatusCode::SERVICE_UNAVAILABLE
    {
        return None;
    }
    let text = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = text.parse::<u64>() {
        return (secs > 0).then(|| Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    at.duration_since(std::time::SystemTime::now())
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_on_429_and_503_only() {
        let resp = |status: u16, value: &str| {
            let mut r = Response::new(());
            *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, value.parse().unwrap());
            r
        };
        let parse = |r: &Response<()>| retry_after_head(r.status(), r.headers());
        assert_eq!(parse(&resp(429, "2")), Some(Duration::from_secs(2)));
        assert_eq!(parse(&resp(503, " 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(parse(&resp(500, "2")), None);
        assert_eq!(parse(&resp(429, "0")), None);
        assert_eq!(parse(&resp(429, "soon")), None);
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let d = parse(&resp(429, &later)).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        let past = httpdate::fmt_http_date(std::time::UNIX_EPOCH);
        assert_eq!(parse(&resp(429, &past)), None);
    }
}
