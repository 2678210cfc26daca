//! `admin` validation: the listener address and the admin token.
//!
//! Owns: reading the token from its file or environment variable at load
//! (so `check`, `run` and every reload see the same token, or the same
//! error), refusing a token written inline, and the warning for an admin
//! listener reachable from other hosts without a token. Must not: put the
//! token's value into an error or warning.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::defaults;
use super::raw_admin::{RawAdmin, RawAdminToken, RawSecretSource};
use super::secret::{AdminToken, SecretSource, MIN_TOKEN_CHARS};
use super::snapshot::Admin;
use super::validate::{socket_addr, Issues};

/// Validates `admin`. Relative token files are joined to `base_dir` when
/// given.
pub(super) fn admin(issues: &mut Issues<'_>, raw: &RawAdmin, base_dir: Option<&Path>) -> Admin {
    let listen = raw.listen.as_deref().unwrap_or(defaults::ADMIN_LISTEN);
    let listen = socket_addr(issues, "admin.listen", listen);
    let token = raw.token.as_ref().and_then(|t| token(issues, t, base_dir));
    if raw.token.is_none() && exposed(listen) {
        issues.warn(
            "admin.listen",
            format!(
                "{listen} is reachable from other hosts and admin.token is not set: anyone \
                 who can connect can read the config (GET /config) and reload it (POST \
                 /reload); set admin.token ({{ file: PATH }} or {{ env: NAME }})"
            ),
        );
    }
    Admin { listen, token }
}

/// Whether `addr` accepts connections from other hosts (anything but
/// loopback).
fn exposed(addr: SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

fn token(
    issues: &mut Issues<'_>,
    raw: &RawAdminToken,
    base_dir: Option<&Path>,
) -> Option<AdminToken> {
    let source = match raw {
        RawAdminToken::Inline => {
            issues.error(
                "admin.token",
                "the token must not be written in the config (it would be in every copy \
                 of the file); use `token: { file: PATH }` or `token: { env: NAME }`",
            );
            return None;
        }
        RawAdminToken::Source(s) => source(issues, s, base_dir)?,
    };
    let key = match &source {
        SecretSource::File(_) => "admin.token.file",
        SecretSource::Env(_) => "admin.token.env",
    };
    match source.read() {
        Ok(value) => {
            if value.len() < MIN_TOKEN_CHARS {
                issues.warn(
                    key,
                    format!(
                        "the admin token is shorter than {MIN_TOKEN_CHARS} characters; use a \
                         random one such as `openssl rand -hex 32` prints"
                    ),
                );
            }
            Some(AdminToken { source, value })
        }
        Err(e) => {
            issues.error(key, e);
            None
        }
    }
}

fn source(
    issues: &mut Issues<'_>,
    raw: &RawSecretSource,
    base_dir: Option<&Path>,
) -> Option<SecretSource> {
    match (&raw.file, &raw.env) {
        (Some(_), Some(_)) => {
            issues.error("admin.token", "set either `file` or `env`, not both");
            None
        }
        (None, None) => {
            issues.error(
                "admin.token",
                "name where the token is: `{ file: PATH }` or `{ env: NAME }`",
            );
            None
        }
        (Some(file), None) if file.trim().is_empty() => {
            issues.error("admin.token.file", "must not be empty: name the token file");
            None
        }
        (Some(file), None) => {
            let written = PathBuf::from(file);
            Some(SecretSource::File(match base_dir {
                Some(dir) if written.is_relative() => dir.join(written),
                _ => written,
            }))
        }
        (None, Some(name)) => {
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if valid {
                Some(SecretSource::Env(name.clone()))
            } else {
                issues.error(
                    "admin.token.env",
                    format!(
                        "invalid environment variable name {name:?}: use letters, digits \
                         and '_', not starting with a digit"
                    ),
                );
                None
            }
        }
    }
}
