//! Raw values that may be written in more than one shape: shares (`0.2` or
//! `"20%"`), expected statuses (`200`, `"200-299"`, `"2xx"`), sizes (`4096`
//! or `"16MiB"`) and "one item or a list".
//!
//! Owns: their hand-written `Deserialize` impls. `#[serde(untagged)]` would
//! turn every mistake into "data did not match any variant" at the parent
//! key; these say what was expected and keep the path down to the list item.
//! Must not: interpret values (ranges and bounds are `validate_resilience`'s).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A share: a fraction such as `0.2` or a percentage such as `"20%"`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RawShare {
    /// A number, meant as a fraction in [0, 1].
    Fraction(f64),
    /// `"N%"` (or a number written as a string).
    Text(String),
}

/// One item of `expected_statuses`: `200`, `"200-299"` or `"2xx"`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RawStatus {
    /// One status code. Wider than `u16` so that `70000` or `-1` reach
    /// validation and get its message instead of a type error.
    Code(i64),
    /// A range or class.
    Text(String),
}

/// A size: a number of bytes such as `4096` or a string such as `"16MiB"`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RawSize {
    /// A plain number of bytes.
    Bytes(u64),
    /// A number with a unit (or anything else, for validation to reject).
    Text(String),
}

/// One item or a list of them.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single item.
    One(T),
    /// A list.
    Many(Vec<T>),
}

// === impl RawShare ===

impl<'de> Deserialize<'de> for RawShare {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ShareVisitor;

        impl Visitor<'_> for ShareVisitor {
            type Value = RawShare;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fraction from 0 to 1 such as 0.2, or a percentage such as \"20%\"")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawShare, E> {
                Ok(RawShare::Fraction(v))
            }

            // Integers are exact in f64 up to 2^53; anything near that is
            // rejected by validation as out of range anyway.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawShare, E> {
                Ok(RawShare::Fraction(v as f64))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawShare, E> {
                Ok(RawShare::Fraction(v as f64))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawShare, E> {
                Ok(RawShare::Text(v.to_owned()))
            }
        }

        d.deserialize_any(ShareVisitor)
    }
}

// === impl RawStatus ===

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StatusVisitor;

        impl Visitor<'_> for StatusVisitor {
            type Value = RawStatus;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code (200), a range (\"200-399\") or a class (\"2xx\")")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawStatus, E> {
                // Too big for i64 is certainly not a status: keep it out of
                // range rather than wrap it into range.
                Ok(RawStatus::Code(i64::try_from(v).unwrap_or(i64::MAX)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawStatus, E> {
                Ok(RawStatus::Code(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawStatus, E> {
                Ok(RawStatus::Text(v.to_owned()))
            }
        }

        d.deserialize_any(StatusVisitor)
    }
}

// === impl RawSize ===

impl RawSize {
    /// The size in bytes, or why the text is not one.
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            Self::Bytes(n) => Ok(*n),
            Self::Text(t) => super::size::parse_size(t),
        }
    }
}

impl fmt::Display for RawSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = RawSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes (4096) or with a unit (\"16MiB\")")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }

            // Negative: kept as text so that validation words the error
            // with the key's path, like any other bad size.
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_owned()))
            }
        }

        d.deserialize_any(SizeVisitor)
    }
}

// === impl OneOrMany ===

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

/// Hands a scalar to `T` (whose own `expecting` then words any error) and a
/// sequence item by item, so an error names the item's index.
struct OneOrManyVisitor<T>(PhantomData<T>);

impl<T> OneOrManyVisitor<T> {
    fn one<'de, D, E>(d: D) -> Result<OneOrMany<T>, E>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de, Error = E>,
    {
        T::deserialize(d).map(OneOrMany::One)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one value or a list of values")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::one(v.into_deserializer())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::one(v.into_deserializer())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::one(v.into_deserializer())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::one(v.into_deserializer())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::one(v.into_deserializer())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The hint comes from the input: cap it so a hostile file cannot make
        // us reserve a huge vector up front.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(OneOrMany::Many(items))
    }
}
