//! `check` on `pools[].tls` and `pools[].protocol`: settings errors with
//! paths and positions, warnings for settings that weaken or do nothing,
//! and the CA and client certificate files loaded as `run` would.

use super::resilience::error;
use super::{check_with, problems, Run};
use crate::tls::Ca;

/// A config whose one pool has `settings` (spliced before `endpoints`) and
/// the endpoint `url`.
fn yaml(settings: &str, url: &str) -> String {
    format!(
        "version: 1
listeners: [{{ name: web, listen: '127.0.0.1:0' }}]
routes: [{{ name: r, pool: p }}]
pools:
  - name: p
{settings}    endpoints: [{{ name: up, url: '{url}' }}]
"
    )
}

const HTTPS: &str = "https://vendor.example:8443";

fn run(settings: &str, files: &[(&str, &str)]) -> (Run, String) {
    let c = check_with(&yaml(settings, HTTPS), files);
    let dir = c.file.parent().unwrap().display().to_string();
    (c.run, dir)
}

fn warnings(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  warning: "))
        .collect()
}

#[test]
fn valid_upstream_tls_passes_and_loads_its_files() {
    let ca = Ca::new("Vendor CA");
    let client = Ca::new("Client CA").client("switchyard");
    let settings = "    protocol: http2\n    tls: { ca: ca.pem, server_name: Vendor.Internal, client_cert: c.pem, client_key: c.key }\n";
    let (r, _) = run(
        settings,
        &[
            ("ca.pem", &ca.pem()),
            ("c.pem", &client.cert),
            ("c.key", &client.key),
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.describe());
    assert!(warnings(&r).is_empty(), "{}", r.describe());
}

#[test]
fn settings_errors_have_paths_and_positions() {
    let y = yaml("    tls: { client_cert: c.pem }\n", HTTPS);
    error(
        &y,
        "pools[0].tls.client_key",
        "client_cert needs the key",
        "{ client_cert",
    );
    let y = yaml("    tls: { client_key: c.key }\n", HTTPS);
    error(
        &y,
        "pools[0].tls.client_cert",
        "client_key needs the certificate",
        "{ client_key",
    );
    let y = yaml(
        "    tls: { ca: ca.pem, insecure_skip_verify: true }\n",
        HTTPS,
    );
    let all = problems(&y);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(
        all[0].starts_with("pools[0].tls.ca: a ca has no use with insecure_skip_verify: true"),
        "{all:#?}"
    );
    let y = yaml("    tls: { server_name: '*.example.com' }\n", HTTPS);
    error(
        &y,
        "pools[0].tls.server_name",
        "is a wildcard",
        "'*.example.com'",
    );
    let y = yaml("    tls: { server_name: 'bad name' }\n", HTTPS);
    error(
        &y,
        "pools[0].tls.server_name",
        "expected a DNS name",
        "'bad name'",
    );
    let y = yaml("    tls: { ca: '' }\n", HTTPS);
    error(&y, "pools[0].tls.ca", "must not be empty", "''");
    let y = yaml("    tls: { verify: false }\n", HTTPS);
    error(
        &y,
        "pools[0].tls.verify",
        "unknown field `verify`",
        "verify",
    );
    let y = yaml("    protocol: http3\n", HTTPS);
    error(&y, "pools[0].protocol", "unknown variant `http3`", "http3");
}

#[test]
fn skipping_verification_and_unused_tls_are_warned_about() {
    let (r, _) = run("    tls: { insecure_skip_verify: true }\n", &[]);
    assert_eq!(r.code, Some(0), "{}", r.describe());
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{}", r.describe());
    assert!(
        w[0].starts_with("pools[0].tls.insecure_skip_verify: the certificates of pool \"p\"'s endpoints are not verified"),
        "{w:?}"
    );
    let c = check_with(
        &yaml("    tls: { ca: ca.pem }\n", "http://127.0.0.1:9"),
        &[],
    );
    assert_eq!(
        c.run.code,
        Some(0),
        "an unused CA file is not loaded: {}",
        c.run.describe()
    );
    let w = warnings(&c.run);
    assert!(
        w.len() == 1 && w[0].starts_with("pools[0].tls: pool \"p\" has no https:// endpoint"),
        "{w:?}"
    );
}

#[test]
fn file_errors_name_the_pool_and_the_file() {
    let client = Ca::new("Client CA").client("switchyard");
    let other = Ca::new("Client CA").client("other");
    let settings = "    tls: { ca: ca.pem, client_cert: c.pem, client_key: c.key }\n";
    let (r, dir) = run(
        settings,
        &[
            ("ca.pem", "no certificates\n"),
            ("c.pem", &client.cert),
            ("c.key", &other.key),
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.describe());
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(
        errors,
        [format!("pools[0].tls.ca (pool \"p\"): {dir}/ca.pem contains no certificate (a PEM \"BEGIN CERTIFICATE\" block)")],
        "{}",
        r.describe()
    );
    let (r, dir) = run(
        settings,
        &[
            ("ca.pem", &Ca::new("CA").pem()),
            ("c.pem", &client.cert),
            ("c.key", &other.key),
        ],
    );
    assert!(
        r.stderr.contains(&format!("pools[0].tls.client_cert (pool \"p\"): the private key in {dir}/c.key does not match the certificate in {dir}/c.pem")),
        "{}",
        r.describe()
    );
    let (r, dir) = run("    tls: { ca: gone.pem }\n", &[]);
    assert!(
        r.stderr.contains(&format!(
            "pools[0].tls.ca (pool \"p\"): cannot read {dir}/gone.pem"
        )),
        "{}",
        r.describe()
    );
}
