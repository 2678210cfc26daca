//! `check` on `listeners[].tls`: settings are validated with paths and
//! positions like the rest of the file; the PEM files are then loaded as
//! `run` and a reload would, and each problem names its file.

use super::resilience::{assert_line, error};
use super::{check_with, problems, Run};
use crate::tls::Ca;

/// A config whose one listener has `tls` (spliced after `tls:`).
fn yaml(tls: &str) -> String {
    format!(
        "version: 1
admin: {{ listen: '127.0.0.1:0' }}
listeners:
  - name: web
    listen: '127.0.0.1:0'
    tls:
{tls}routes: [{{ name: r, pool: p }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: 'http://127.0.0.1:9' }}] }}]
"
    )
}

const ONE: &str = "      certificates:\n        - { cert: api.pem, key: api.key }\n";

/// Runs `check` with `files` next to the config; returns the run and the
/// directory's path as the messages print it.
fn run(tls: &str, files: &[(&str, &str)]) -> (Run, String) {
    let c = check_with(&yaml(tls), files);
    let dir = c.file.parent().unwrap().display().to_string();
    (c.run, dir)
}

/// Asserts that `check` failed on loading the TLS files with exactly the
/// problem lines `want` (after the two-space indent).
fn assert_tls_errors(run: &Run, want: &[String]) {
    let what = run.describe();
    assert_eq!(run.code, Some(1), "{what}");
    let mut lines = run
        .stderr
        .lines()
        .filter(|l| !l.contains("\"level\"") && !l.contains(" INFO "));
    let header = lines.next().unwrap_or_default();
    assert!(header.ends_with("switchyard.yaml: TLS errors:"), "{what}");
    let got: Vec<&str> = lines.map(|l| l.strip_prefix("  ").unwrap_or(l)).collect();
    assert_eq!(got, want, "{what}");
}

#[test]
fn valid_tls_passes_and_loads_its_files() {
    let ca = Ca::new("Test CA");
    let pair = ca.server(&["api.example.com"], "api");
    let client_ca = ca.pem();
    let tls = format!("{ONE}      client_auth: {{ ca: clients.pem }}\n");
    let (run, _) = run(
        &tls,
        &[
            ("api.pem", &pair.cert),
            ("api.key", &pair.key),
            ("clients.pem", &client_ca),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains(": OK: 1 listener"),
        "{}",
        run.describe()
    );
}

#[test]
fn settings_errors_have_paths_and_positions() {
    let y = yaml("      certificates: []\n");
    error(
        &y,
        "listeners[0].tls.certificates",
        "at least one certificate is required",
        "[]",
    );

    let y = yaml("      certificates:\n        - { cert: '', key: api.key }\n");
    error(
        &y,
        "listeners[0].tls.certificates[0].cert",
        "must not be empty",
        "''",
    );

    let y = yaml("      certificates:\n        - { cert: a.pem, key: a.key, server_names: [] }\n");
    error(
        &y,
        "listeners[0].tls.certificates[0].server_names",
        "leave it out to take the names from the certificate",
        "[]",
    );

    let y = yaml("      certificates:\n        - { cert: a.pem, kye: a.key }\n");
    error(
        &y,
        "listeners[0].tls.certificates[0].kye",
        "unknown field `kye`",
        "kye",
    );

    let y = yaml(&format!("{ONE}      client_auth: {{ ca: '' }}\n"));
    error(
        &y,
        "listeners[0].tls.client_auth.ca",
        "must not be empty",
        "''",
    );

    let y = yaml(&format!("{ONE}      handshake_timeout: 0s\n"));
    error(
        &y,
        "listeners[0].tls.handshake_timeout",
        "must be greater than 0",
        "0s",
    );
    let y = yaml(&format!("{ONE}      session_resumption: maybe\n"));
    error(
        &y,
        "listeners[0].tls.session_resumption",
        "invalid type",
        "maybe",
    );
}

#[test]
fn server_names_must_be_dns_names_or_leading_wildcards() {
    let names = "[api.example.com, 'a.*.example.com', '10.0.0.1', 'bad name', '*']";
    let y = yaml(&format!(
        "      certificates:\n        - {{ cert: a.pem, key: a.key, server_names: {names} }}\n"
    ));
    let all = problems(&y);
    assert_eq!(all.len(), 4, "{all:#?}");
    let path = |j: usize| format!("listeners[0].tls.certificates[0].server_names[{j}]");
    assert_line(
        &y,
        &all[0],
        &path(1),
        "a wildcard must be the whole first label",
        "'a.*",
    );
    assert_line(
        &y,
        &all[1],
        &path(2),
        "never send an IP address as SNI",
        "'10.0.0.1'",
    );
    assert_line(&y, &all[2], &path(3), "expected a DNS name", "'bad name'");
    assert_line(
        &y,
        &all[3],
        &path(4),
        "a wildcard needs a domain after it",
        "'*'",
    );
}

#[test]
fn file_errors_name_the_file() {
    let ca = Ca::new("Test CA");
    let pair = ca.server(&["api.example.com"], "api");
    let other = ca.server(&["api.example.com"], "other");
    let at = "listeners[0].tls.certificates[0]";

    let (r, dir) = run(ONE, &[("api.key", &pair.key)]);
    assert_tls_errors(
        &r,
        &[format!(
            "{at}.cert (listener \"web\"): cannot read {dir}/api.pem: No such file or directory (os error 2)"
        )],
    );

    let (r, dir) = run(ONE, &[("api.pem", "hello\n"), ("api.key", &pair.key)]);
    assert_tls_errors(
        &r,
        &[format!(
            "{at} (listener \"web\"): {dir}/api.pem contains no certificate (a PEM \"BEGIN CERTIFICATE\" block)"
        )],
    );

    let truncated = &pair.cert[..pair.cert.len() - 30];
    let (r, dir) = run(ONE, &[("api.pem", truncated), ("api.key", &pair.key)]);
    assert!(
        r.stderr.contains(&format!(
            "{at} (listener \"web\"): {dir}/api.pem is not valid PEM"
        )),
        "{}",
        r.describe()
    );

    let (r, dir) = run(ONE, &[("api.pem", &pair.cert), ("api.key", &pair.cert)]);
    assert_tls_errors(
        &r,
        &[format!(
            "{at} (listener \"web\"): {dir}/api.key contains no private key (a PEM \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\" block)"
        )],
    );

    let (r, dir) = run(ONE, &[("api.pem", &pair.cert), ("api.key", &other.key)]);
    assert_tls_errors(
        &r,
        &[format!(
            "{at} (listener \"web\"): the private key in {dir}/api.key does not match the certificate in {dir}/api.pem"
        )],
    );

    // A second certificate must serve some name; the CA file must hold one.
    let nameless = ca.server(&[], "not a name");
    let tls = format!(
        "{ONE}        - {{ cert: b.pem, key: b.key }}\n      client_auth: {{ ca: clients.pem }}\n"
    );
    let (r, dir) = run(
        &tls,
        &[
            ("api.pem", &pair.cert),
            ("api.key", &pair.key),
            ("b.pem", &nameless.cert),
            ("b.key", &nameless.key),
            ("clients.pem", "no certificates here\n"),
        ],
    );
    assert_tls_errors(
        &r,
        &[
            format!("listeners[0].tls.certificates[1] (listener \"web\"): the certificate in {dir}/b.pem has no DNS name (subject alternative name or common name), so no client could select it; list its names in server_names"),
            format!("listeners[0].tls.client_auth.ca (listener \"web\"): {dir}/clients.pem contains no certificate (a PEM \"BEGIN CERTIFICATE\" block)"),
        ],
    );
}
