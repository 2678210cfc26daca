//! Human durations: `250ms`, `5s`, `1m`, `1h`, `1m30s` (also `us` and `d`).
//!
//! Owns: the one parser for duration strings in the config.

use std::time::Duration;

/// Parses a duration such as `250ms`, `5s`, `1m`, `2h` or `1m30s`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(switchyard::config::parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert!(switchyard::config::parse_duration("5").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {text:?}: missing unit (ms, s, m or h)"))?;
        if digits == 0 {
            return Err(format!("invalid duration {text:?}: expected a number"));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: bad number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m or h)"
                ))
            }
        };
        rest = &rest[unit_len..];
        // Each part may be in range while their sum is not (`Duration`'s `+`
        // panics on overflow), so add with a check too.
        total = Duration::try_from_secs_f64(number * seconds)
            .ok()
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("invalid duration {text:?}: out of range"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_garbage() {
        let overflow = "10000000000000000000s10000000000000000000s";
        for bad in ["", "5", "s", "5x", "-1s", "1s5", overflow] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
