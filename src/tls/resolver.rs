//! Picking a listener's certificate by SNI.
//!
//! Owns: the name index (exact names and one-label `*.` wildcards) and the
//! rustls `ResolvesServerCert` over one loaded certificate set. Must not:
//! read files. A resolver never changes: a reload that changes certificates
//! builds a new one, and new handshakes get it through the swapped
//! `Dataplane`, while connections already made keep what they negotiated.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Names → certificate positions. Position 0 is the default.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NameIndex {
    exact: HashMap<Box<str>, usize>,
    /// `*.example.com` is stored as `example.com`.
    wildcard: HashMap<Box<str>, usize>,
}

impl NameIndex {
    /// Adds `name` (normalised: lowercase, no trailing dot) for the
    /// certificate at `position`. The first certificate to claim a name
    /// keeps it; returns whether this one got it.
    pub fn insert(&mut self, name: &str, position: usize) -> bool {
        let (map, key) = match name.strip_prefix("*.") {
            Some(suffix) => (&mut self.wildcard, suffix),
            None => (&mut self.exact, name),
        };
        if map.contains_key(key) {
            return false;
        }
        map.insert(Box::from(key), position);
        true
    }

    /// The position of the certificate for `sni`: an exact name first, then
    /// a wildcard covering exactly the first label (`*.example.com` serves
    /// `a.example.com`, not `example.com` or `a.b.example.com`), else 0.
    pub fn pick(&self, sni: Option<&str>) -> usize {
        let Some(sni) = sni else { return 0 };
        let lower;
        let name = if sni.bytes().any(|b| b.is_ascii_uppercase()) || sni.ends_with('.') {
            lower = sni.trim_end_matches('.').to_ascii_lowercase();
            lower.as_str()
        } else {
            sni
        };
        if let Some(&i) = self.exact.get(name) {
            return i;
        }
        name.split_once('.')
            .and_then(|(_, parent)| self.wildcard.get(parent))
            .copied()
            .unwrap_or(0)
    }
}

/// A listener's certificates, chosen by SNI; the first is the default for
/// clients that send no SNI or a name none of them serves.
#[derive(Debug)]
pub struct SniResolver {
    keys: Vec<Arc<CertifiedKey>>,
    index: NameIndex,
}

impl SniResolver {
    /// A resolver over `keys` (never empty) and `index` (positions into
    /// `keys`).
    pub fn new(keys: Vec<Arc<CertifiedKey>>, index: NameIndex) -> Self {
        Self { keys, index }
    }

    /// The certificate a handshake with `sni` gets.
    pub fn pick(&self, sni: Option<&str>) -> Option<&Arc<CertifiedKey>> {
        self.keys
            .get(self.index.pick(sni))
            .or_else(|| self.keys.first())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(client_hello.server_name()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::NameIndex;

    fn index(names: &[(&str, usize)]) -> NameIndex {
        let mut ix = NameIndex::default();
        for (n, i) in names {
            ix.insert(n, *i);
        }
        ix
    }

    #[test]
    fn exact_wildcard_and_default() {
        let ix = index(&[
            ("api.example.com", 0),
            ("www.example.com", 1),
            ("*.example.com", 2),
            ("example.com", 1),
        ]);
        let cases = [
            (None, 0),
            (Some("api.example.com"), 0),
            (Some("www.example.com"), 1),
            (Some("WWW.Example.COM."), 1),
            (Some("shop.example.com"), 2),
            (Some("example.com"), 1),
            // A wildcard covers exactly one label.
            (Some("a.shop.example.com"), 0),
            (Some("other.test"), 0),
            (Some("com"), 0),
        ];
        for (sni, want) in cases {
            assert_eq!(ix.pick(sni), want, "{sni:?}");
        }
    }

    #[test]
    fn exact_beats_an_earlier_wildcard_and_the_first_claim_wins() {
        let mut ix = index(&[("*.example.com", 0)]);
        assert!(ix.insert("api.example.com", 1));
        assert!(!ix.insert("api.example.com", 2));
        assert!(!ix.insert("*.example.com", 2));
        assert_eq!(ix.pick(Some("api.example.com")), 1);
        assert_eq!(ix.pick(Some("web.example.com")), 0);
    }
}
