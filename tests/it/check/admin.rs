//! `check` on `admin.token`: read from a file next to the config or from an
//! environment variable, every way it can be wrong (with its path and
//! position), the warnings (short token, exposed listener without one),
//! and that neither the token nor other secrets (header values, URL
//! credentials) are ever printed.

use std::process::Command;

use super::resilience::assert_line;
use super::{check_with, one_problem, problems, Run};

const TOKEN: &str = "check-admin-token-93b1f07d5e";

fn yaml(admin: &str) -> String {
    format!("version: 1\nadmin:\n{admin}listeners: [{{ name: web, listen: 127.0.0.1:8080 }}]\n")
}

/// `check` on `yaml` with `SWITCHYARD_TEST_CHECK_TOKEN` set to `value` (or
/// unset).
fn check_env(yaml: &str, value: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchyard.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("check").arg("--config").arg(&file);
    cmd.env_remove("RUST_LOG")
        .env_remove("SWITCHYARD_TEST_CHECK_TOKEN");
    if let Some(v) = value {
        cmd.env("SWITCHYARD_TEST_CHECK_TOKEN", v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_silent_about(run: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "{s:?} printed\n{}",
            run.describe()
        );
    }
}

#[test]
fn a_token_file_next_to_the_config_passes_without_being_printed() {
    let y = yaml("  listen: 0.0.0.0:9901\n  token: { file: admin-token }\n");
    let c = check_with(&y, &[("admin-token", &format!("{TOKEN}\n"))]);
    assert_eq!(c.run.code, Some(0), "{}", c.run.describe());
    assert!(c.run.stdout.contains(": OK: "), "{}", c.run.describe());
    // A token on an exposed listener: no warning.
    assert!(!c.run.stdout.contains("warning"), "{}", c.run.describe());
    assert_silent_about(&c.run, &[TOKEN]);
}

#[test]
fn a_token_from_the_environment_passes_and_an_unset_variable_is_an_error() {
    let y = yaml("  token: { env: SWITCHYARD_TEST_CHECK_TOKEN }\n");
    let ok = check_env(&y, Some(TOKEN));
    assert_eq!(ok.code, Some(0), "{}", ok.describe());
    assert_silent_about(&ok, &[TOKEN]);
    let unset = check_env(&y, None);
    assert_eq!(unset.code, Some(1), "{}", unset.describe());
    let line = unset.stderr.lines().nth(1).unwrap_or_default().trim_start();
    assert_line(
        &y,
        line,
        "admin.token.env",
        "environment variable SWITCHYARD_TEST_CHECK_TOKEN is not set",
        "SWITCHYARD_TEST_CHECK_TOKEN",
    );
    let empty = check_env(&y, Some(""));
    assert!(
        empty
            .stderr
            .contains("admin.token.env: environment variable SWITCHYARD_TEST_CHECK_TOKEN is empty"),
        "{}",
        empty.describe()
    );
}

#[test]
fn an_inline_token_is_refused_without_repeating_it() {
    for value in [TOKEN, "1234567890123456", "'quoted-inline-token'"] {
        let y = yaml(&format!("  token: {value}\n"));
        let c = check_with(&y, &[]);
        assert_eq!(c.run.code, Some(1), "{}", c.run.describe());
        let p = one_problem(&y);
        assert_line(
            &y,
            &p,
            "admin.token",
            "must not be written in the config",
            value,
        );
        assert!(
            p.contains("{ file: PATH }") && p.contains("{ env: NAME }"),
            "{p}"
        );
        assert_silent_about(&c.run, &[value.trim_matches('\'')]);
    }
}

#[test]
fn token_sources_are_checked() {
    let y = yaml("  token: { file: admin-token, env: X }\n");
    assert_line(
        &y,
        &one_problem(&y),
        "admin.token",
        "either `file` or `env`, not both",
        "{",
    );
    let y = yaml("  token: {}\n");
    assert_line(
        &y,
        &one_problem(&y),
        "admin.token",
        "`{ file: PATH }` or `{ env: NAME }`",
        "{",
    );
    let y = yaml("  token: { value: inline-secret-value }\n");
    let p = one_problem(&y);
    assert_line(
        &y,
        &p,
        "admin.token.value",
        "unknown field `value`, expected `file` or `env`",
        "value",
    );
    assert!(!p.contains("inline-secret-value"), "{p}");
    let y = yaml("  token: { env: 9LIVES }\n");
    assert_line(
        &y,
        &one_problem(&y),
        "admin.token.env",
        "invalid environment variable name",
        "9LIVES",
    );
    let y = yaml("  token: { file: '' }\n");
    assert_line(
        &y,
        &one_problem(&y),
        "admin.token.file",
        "must not be empty",
        "''",
    );
}

#[test]
fn token_files_must_hold_a_token() {
    let y = yaml("  token: { file: admin-token }\n");
    let problem = |content: Option<&str>| {
        let files: Vec<(&str, &str)> = content.map(|c| ("admin-token", c)).into_iter().collect();
        let c = check_with(&y, &files);
        assert_eq!(c.run.code, Some(1), "{}", c.run.describe());
        let lines: Vec<&str> = c.run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{}", c.run.describe());
        lines[1].trim_start().to_string()
    };
    let p = problem(None);
    assert_line(
        &y,
        &p,
        "admin.token.file",
        "cannot read token file",
        "admin-token",
    );
    assert!(p.contains("admin-token: No such file"), "{p}");
    assert_line(
        &y,
        &problem(Some("\n")),
        "admin.token.file",
        "is empty",
        "admin-token",
    );
    let p = problem(Some("two words\n"));
    assert_line(
        &y,
        &p,
        "admin.token.file",
        "other than visible ASCII",
        "admin-token",
    );
    assert!(!p.contains("two words"), "{p}");
}

#[test]
fn warnings_for_a_short_token_and_an_exposed_listener_without_one() {
    let y = yaml("  token: { file: admin-token }\n");
    let c = check_with(&y, &[("admin-token", "short-tok\n")]);
    assert_eq!(c.run.code, Some(0), "{}", c.run.describe());
    assert!(
        c.run
            .stdout
            .contains("  warning: admin.token.file: the admin token is shorter than 16 characters"),
        "{}",
        c.run.describe()
    );
    assert_silent_about(&c.run, &["short-tok"]);

    let y = yaml("  listen: 0.0.0.0:9901\n");
    let c = check_with(&y, &[]);
    assert_eq!(c.run.code, Some(0), "{}", c.run.describe());
    assert!(
        c.run.stdout.contains(
            "  warning: admin.listen: 0.0.0.0:9901 is reachable from other hosts and admin.token is not set"
        ),
        "{}",
        c.run.describe()
    );
    // Loopback without a token: nothing to warn about.
    let c = check_with(&yaml("  listen: '[::1]:9901'\n"), &[]);
    assert!(!c.run.stdout.contains("warning"), "{}", c.run.describe());
}

#[test]
fn header_values_and_url_credentials_are_not_repeated_in_errors() {
    let y = "version: 1\nlisteners: [{ name: web, listen: 127.0.0.1:8080 }]\nroutes:\n  - name: r\n    pool: p\n    request_headers:\n      set: { authorization: \"Bearer hdr-s3cret\\x01\" }\npools: [{ name: p, endpoints: [{ name: a, url: 'http://user:url-s3cret@127.0.0.1:9' }] }]\n";
    let all = problems(y);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_line(
        y,
        &all[0],
        "routes[0].request_headers.set.authorization",
        "invalid header value",
        "\"Bearer",
    );
    assert_line(
        y,
        &all[1],
        "pools[0].endpoints[0].url",
        "credentials in URL \"http://<redacted>@127.0.0.1:9\" are not allowed",
        "'http",
    );
    for p in &all {
        assert!(!p.contains("s3cret"), "{p}");
    }
}

#[test]
fn the_debug_output_of_a_loaded_config_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin-token"), TOKEN).unwrap();
    let y = "version: 1\nadmin: { token: { file: admin-token } }\n\
             listeners: [{ name: web, listen: 127.0.0.1:8080 }]\n\
             routes:\n  - name: r\n    pool: p\n    request_headers:\n      \
             set: { x-api-key: header-s3cret, x-route: visible-value }\n\
             pools: [{ name: p, endpoints: [{ name: a, url: 'http://127.0.0.1:9' }] }]\n\
             plugins: [{ name: g, file: g.wasm, config: { vendor: plugin-s3cret } }]\n";
    let raw: switchyard::config::RawConfig = serde_yaml::from_str(y).unwrap();
    let debug = format!("{raw:?}");
    for secret in ["header-s3cret", "plugin-s3cret"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    let config = switchyard::config::load_str_in(y, Some(dir.path())).unwrap();
    let token = config.admin.token.as_ref().expect("the token is loaded");
    assert!(token.value.matches(TOKEN.as_bytes()));
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains(TOKEN), "the token in Debug output");
    for secret in ["header-s3cret", "plugin-s3cret"] {
        assert!(!debug.contains(secret), "{secret} in Debug output");
    }
    // Nor as the bytes of the plugin's config.
    let bytes = format!("{:?}", b"plugin-s3cret".as_slice());
    assert!(!debug.contains(&bytes[1..bytes.len() - 1]));
    // Only secret-looking names are hidden.
    assert!(debug.contains("visible-value"));
}
