//! Human sizes: `1048576`, `512B`, `64KiB`, `16MiB`, `1GiB`, `10MB`.
//!
//! Owns: the one parser for size strings in the config. Must not: apply
//! bounds (each key has its own, checked by its validator).

/// Multipliers by unit, case-sensitive as written: binary units are powers
/// of 1024, decimal ones powers of 1000.
const UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

/// Parses a size in bytes: a whole number, optionally followed by a unit
/// (`B`, `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`; one space between the number
/// and the unit is allowed).
///
/// ```
/// assert_eq!(switchyard::config::parse_size("16MiB"), Ok(16 * 1024 * 1024));
/// assert_eq!(switchyard::config::parse_size("4096"), Ok(4096));
/// assert!(switchyard::config::parse_size("16mb").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty size".into());
    }
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return Err(format!(
            "invalid size {text:?}: expected a whole number of bytes, optionally with a unit such as 16MiB"
        ));
    }
    let number: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("invalid size {text:?}: out of range"))?;
    let unit = s[digits..].strip_prefix(' ').unwrap_or(&s[digits..]);
    let factor = match unit {
        "" => 1,
        u if u.starts_with('.') => {
            return Err(format!(
                "invalid size {text:?}: use a whole number (1536KiB, not 1.5MiB)"
            ))
        }
        u => UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!(
                    "invalid size {text:?}: unknown unit {u:?} (use B, KiB, MiB, GiB, KB, MB or GB)"
                )
            })?,
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("invalid size {text:?}: out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        let cases = [
            ("0", 0),
            ("4096", 4096),
            ("512B", 512),
            ("64KiB", 64 * 1024),
            ("16MiB", 16 << 20),
            ("4GiB", 4 << 30),
            ("10KB", 10_000),
            ("10MB", 10_000_000),
            ("2GB", 2_000_000_000),
            (" 1MiB ", 1 << 20),
            ("1 MiB", 1 << 20),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn rejects_garbage() {
        let cases = [
            ("", "empty size"),
            ("MiB", "expected a whole number"),
            ("-1", "expected a whole number"),
            ("1.5MiB", "whole number"),
            ("16mb", "unknown unit \"mb\""),
            ("16mib", "unknown unit \"mib\""),
            ("16K", "unknown unit \"K\""),
            ("16TiB", "unknown unit \"TiB\""),
            ("16MiBs", "unknown unit \"MiBs\""),
            ("1  MiB", "unknown unit \" MiB\""),
            ("99999999999999999999", "out of range"),
            ("99999999999GiB", "out of range"),
        ];
        for (text, part) in cases {
            let err = parse_size(text).expect_err(text);
            assert!(err.contains(part), "{text:?}: {err}");
        }
    }
}
