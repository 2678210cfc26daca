//! The names a certificate serves, read from the certificate itself.
//!
//! Owns: reading DNS subject alternative names (through webpki's parser)
//! and, for certificates without any, the subject's common name (a small
//! DER walk over the subject webpki hands back). Must not: decide which
//! certificate a handshake gets (`resolver.rs` does).

use rustls_pki_types::CertificateDer;

use crate::config::server_name;

/// The DER tag of a SET (an RDN of a distinguished name).
const SET: u8 = 0x31;
/// The DER tag of a SEQUENCE (an attribute type and value).
const SEQUENCE: u8 = 0x30;
/// The DER tag of an OBJECT IDENTIFIER.
const OID: u8 = 0x06;
/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: [u8; 3] = [0x55, 0x04, 0x03];

/// The names `der` serves, normalised as `config::server_name` does: its
/// DNS subject alternative names, or its common name when it has none
/// (RFC 6125 §6.4.4). Names that are not DNS names (IP addresses, e-mail
/// addresses) are left out. Fails when `der` cannot be parsed.
pub(super) fn certificate_names(der: &CertificateDer<'_>) -> Result<Vec<String>, webpki::Error> {
    let cert = webpki::EndEntityCert::try_from(der)?;
    let mut names: Vec<String> = Vec::new();
    for n in cert.valid_dns_names() {
        if let Ok(n) = server_name(n) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    if names.is_empty() {
        if let Some(n) = common_name(cert.subject()).and_then(|cn| server_name(cn).ok()) {
            names.push(n);
        }
    }
    Ok(names)
}

/// The first common name in a DER `Name`'s contents (the RDN sequence
/// without its outer SEQUENCE header), if it is a string.
fn common_name(subject: &[u8]) -> Option<&str> {
    let mut rdns = subject;
    while !rdns.is_empty() {
        let (tag, set, rest) = tlv(rdns)?;
        rdns = rest;
        if tag != SET {
            return None;
        }
        let mut attributes = set;
        while !attributes.is_empty() {
            let (tag, attribute, rest) = tlv(attributes)?;
            attributes = rest;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, value) = tlv(attribute)?;
            if tag == OID && oid == COMMON_NAME {
                let (tag, value, _) = tlv(value)?;
                // UTF8String, PrintableString, TeletexString, IA5String.
                return match tag {
                    0x0c | 0x13 | 0x14 | 0x16 => std::str::from_utf8(value).ok(),
                    _ => None,
                };
            }
        }
    }
    None
}

/// Splits one DER tag-length-value off `input`: (tag, value, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => {
            let (&n, rest) = rest.split_first()?;
            (usize::from(n), rest)
        }
        0x82 => {
            let (&[hi, lo], rest) = rest.split_first_chunk::<2>()?;
            (usize::from(hi) << 8 | usize::from(lo), rest)
        }
        // Names longer than 64 KiB are not names.
        _ => return None,
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `SET { SEQUENCE { OID, UTF8String } }` for one attribute.
    fn rdn(oid: &[u8], value: &str) -> Vec<u8> {
        let mut atv = vec![OID, oid.len() as u8];
        atv.extend_from_slice(oid);
        atv.extend_from_slice(&[0x0c, value.len() as u8]);
        atv.extend_from_slice(value.as_bytes());
        let mut seq = vec![SEQUENCE, atv.len() as u8];
        seq.extend(atv);
        let mut set = vec![SET, seq.len() as u8];
        set.extend(seq);
        set
    }

    #[test]
    fn common_name_is_found_among_other_attributes() {
        let organisation = [0x55, 0x04, 0x0a];
        let mut subject = rdn(&organisation, "Example Ltd");
        subject.extend(rdn(&COMMON_NAME, "api.example.com"));
        assert_eq!(common_name(&subject), Some("api.example.com"));
        assert_eq!(common_name(&rdn(&organisation, "x")), None);
    }

    #[test]
    fn truncated_der_is_not_a_name() {
        let subject = rdn(&COMMON_NAME, "api.example.com");
        for end in 0..subject.len() {
            assert_eq!(common_name(&subject[..end]), None, "cut at {end}");
        }
    }

    #[test]
    fn long_form_lengths() {
        let long = "a".repeat(200);
        let mut input = vec![0x0c, 0x81, 200];
        input.extend_from_slice(long.as_bytes());
        input.push(0xff);
        let (tag, value, rest) = tlv(&input).unwrap();
        assert_eq!((tag, value.len(), rest), (0x0c, 200, &[0xff][..]));
        let mut input = vec![0x0c, 0x82, 0x01, 0x00];
        input.extend_from_slice(&[b'b'; 256]);
        assert_eq!(tlv(&input).map(|(_, v, _)| v.len()), Some(256));
    }
}
