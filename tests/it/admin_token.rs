//! `admin.token` through the real binary: which admin endpoints want the
//! token (401 without it, 401 `invalid_token` with a wrong one, 200 with
//! it), which stay open, rotation of the token file by `POST /reload`, by
//! the file watcher and by polling after a broken file, the token from an
//! environment variable, the behaviour without a token, and that the token
//! never shows up in logs, stdout or `GET /config`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;

use crate::common::process::ProxyProcess;
use crate::common::{eventually, get, metric, metrics_text, send, Reply};

const TOKEN: &str = "first-admin-token-4f9c2a7e1b";
const WRONG: &str = "wrong-admin-token-0000000000";
const ROTATED: &str = "second-admin-token-8d3e6b5c0a";
/// A credential the config sends upstream; `GET /config` must hide it too.
const UPSTREAM_CREDENTIAL: &str = "upstream-credential-77aa";

/// A config with the admin token read from `token` (YAML flow map), file
/// watching and polling off unless `reload` says otherwise.
fn yaml(token: &str, reload: &str) -> String {
    format!(
        "version: 1\n\
         admin: {{ listen: '127.0.0.1:0', token: {token} }}\n\
         reload: {reload}\n\
         listeners: [{{ name: web, listen: '127.0.0.1:0' }}]\n\
         routes:\n  - name: r\n    pool: p\n    request_headers:\n      \
         set: {{ authorization: 'Bearer {UPSTREAM_CREDENTIAL}' }}\n\
         pools: [{{ name: p, endpoints: [{{ name: a, url: 'http://127.0.0.1:9' }}] }}]\n"
    )
}

const NO_TRIGGERS: &str = "{ watch: false, poll_interval: 0s }";

async fn call(admin: SocketAddr, method: &str, path: &str, auth: Option<&str>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{admin}{path}"));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    send(req.body(Full::new(Bytes::new())).unwrap()).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts the three answers of a protected endpoint: 401 without a token
/// (or with another scheme), 401 `invalid_token` with a wrong one, and
/// `ok` with `token`.
async fn assert_protected(admin: SocketAddr, method: &str, path: &str, token: &str, ok: u16) {
    for auth in [None, Some(format!("Basic {token}"))] {
        let r = call(admin, method, path, auth.as_deref()).await;
        assert_eq!(r.status, 401, "{method} {path} {auth:?}: {}", r.body);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"switchyard-admin\""),
            "{method} {path}"
        );
        assert!(r.body.contains("admin token required"), "{}", r.body);
    }
    let r = call(admin, method, path, Some(&bearer(WRONG))).await;
    assert_eq!(r.status, 401, "{method} {path} wrong token: {}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"switchyard-admin\", error=\"invalid_token\"")
    );
    let r = call(admin, method, path, Some(&bearer(token))).await;
    assert_eq!(r.status, ok, "{method} {path} with the token: {}", r.body);
}

/// No log line and no stdout line holds any of `secrets`.
fn assert_never_printed(proxy: &ProxyProcess, secrets: &[&str]) {
    let lines = proxy.log_lines().into_iter().chain(proxy.stdout_lines());
    for line in lines {
        for s in secrets {
            assert!(!line.contains(s), "{s:?} printed: {line}");
        }
    }
}

#[tokio::test]
async fn protected_endpoints_want_the_token_and_the_rest_stay_open() {
    let token_file = format!("{TOKEN}\n");
    let proxy = ProxyProcess::spawn_with(
        &yaml("{ file: admin-token }", NO_TRIGGERS),
        &[("admin-token", &token_file)],
        &[],
    );
    let admin = proxy.admin;
    assert_protected(admin, "GET", "/config", TOKEN, 200).await;
    assert_protected(admin, "POST", "/reload", TOKEN, 200).await;
    // Open: probes, scrapers and the status page need no token.
    for path in [
        "/",
        "/status",
        "/metrics",
        "/healthz",
        "/readyz",
        "/upstreams",
        "/plugins",
        "/tls",
    ] {
        let r = get(admin, path).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    }
    // Wrong methods and unknown paths answer as before, token or not.
    assert_eq!(call(admin, "POST", "/config", None).await.status, 405);
    assert_eq!(call(admin, "GET", "/reload", None).await.status, 405);
    assert_eq!(call(admin, "GET", "/nope", None).await.status, 404);
    // No extension outside demo mode: 404, not 401.
    assert_eq!(
        call(admin, "POST", "/demo/vendors/a/errors", None)
            .await
            .status,
        404
    );

    let status: serde_json::Value =
        serde_json::from_str(&get(admin, "/status").await.body).unwrap();
    assert_eq!(status["admin_token_required"], true);

    // GET /config: the token's source is redacted like every secret, and
    // neither the token nor the upstream credential is in it.
    let r = call(admin, "GET", "/config", Some(&bearer(TOKEN))).await;
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        doc["config"]["admin"]["token"]["file"], "<redacted>",
        "{doc}"
    );
    assert_eq!(
        doc["config"]["routes"][0]["request_headers"]["set"]["authorization"],
        "<redacted>"
    );
    assert!(
        !r.body.contains(TOKEN) && !r.body.contains(UPSTREAM_CREDENTIAL),
        "{}",
        r.body
    );

    // Counted, by reason: 2 missing and 1 wrong per protected endpoint.
    let text = metrics_text(admin).await;
    let failures = |reason| {
        metric(
            &text,
            "switchyard_admin_auth_failures_total",
            &[("reason", reason)],
        )
    };
    assert_eq!(failures("missing"), 4.0, "{text}");
    assert_eq!(failures("invalid"), 2.0, "{text}");

    // Logged, with the reason and the peer, never the credentials.
    // The log lines reach the reader thread a little after the answers.
    let message = "Admin request refused: admin token missing or wrong.";
    let refused = eventually(Duration::from_secs(5), || async {
        let lines = proxy.wait_logs(message);
        (lines.len() >= 6).then_some(lines)
    })
    .await;
    assert_eq!(refused.len(), 6, "{refused:?}");
    assert!(refused.iter().any(|l| l["fields"]["reason"] == "invalid"));
    assert!(refused.iter().all(|l| l["fields"]["peer"].is_string()));
    assert_never_printed(&proxy, &[TOKEN, WRONG, UPSTREAM_CREDENTIAL]);

    // `switchyard healthcheck` sends the token its config file names.
    let config = proxy.dir.as_ref().unwrap().path().join("switchyard.yaml");
    let healthcheck = |with_config: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
        cmd.args([
            "healthcheck",
            "--admin",
            &admin.to_string(),
            "--path",
            "/config",
        ]);
        if with_config {
            cmd.arg("--config").arg(&config);
        } else {
            cmd.arg("--config").arg("/nonexistent/switchyard.yaml");
        }
        let out = cmd.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains(TOKEN), "{text}");
        (out.status.code(), text)
    };
    let (code, text) = healthcheck(true);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = healthcheck(false);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("401"), "{text}");
}

#[tokio::test]
async fn a_rotated_token_file_applies_on_post_reload() {
    let proxy = ProxyProcess::spawn_with(
        &yaml("{ file: admin-token }", NO_TRIGGERS),
        &[("admin-token", TOKEN)],
        &[],
    );
    let admin = proxy.admin;
    let dir = proxy.dir.as_ref().unwrap().path().to_path_buf();
    // The same config and token: nothing to apply.
    let r = call(admin, "POST", "/reload", Some(&bearer(TOKEN))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\"unchanged\""), "{}", r.body);

    std::fs::write(dir.join("admin-token"), format!("{ROTATED}\n")).unwrap();
    // Until a reload, the running token stands.
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(ROTATED)))
            .await
            .status,
        401
    );
    let r = call(admin, "POST", "/reload", Some(&bearer(TOKEN))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(report["result"], "success", "{report}");
    assert_eq!(report["generation"], 2, "{report}");
    proxy.wait_logs("Admin token changed.");
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(TOKEN)))
            .await
            .status,
        401
    );
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(ROTATED)))
            .await
            .status,
        200
    );

    // A broken token file fails the reload with the file's problem, and
    // the running token stays.
    std::fs::write(dir.join("admin-token"), "\n").unwrap();
    let r = call(admin, "POST", "/reload", Some(&bearer(ROTATED))).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("admin.token.file: token file"),
        "{}",
        r.body
    );
    assert!(r.body.contains("is empty"), "{}", r.body);
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(ROTATED)))
            .await
            .status,
        200
    );
    assert_never_printed(&proxy, &[TOKEN, ROTATED]);
}

#[tokio::test]
async fn the_watcher_and_polling_pick_up_a_rotated_token_file() {
    // The token in a directory of its own: the watcher adds it.
    let secrets = tempfile::tempdir().unwrap();
    let file = secrets.path().join("admin-token");
    std::fs::write(&file, TOKEN).unwrap();
    let source = format!("{{ file: '{}' }}", file.display());
    let proxy = ProxyProcess::spawn(&yaml(
        &source,
        "{ watch: true, debounce: 50ms, poll_interval: 0s }",
    ));
    let admin = proxy.admin;
    std::fs::write(&file, ROTATED).unwrap();
    eventually(Duration::from_secs(10), || async {
        let r = call(admin, "GET", "/config", Some(&bearer(ROTATED))).await;
        (r.status == 200).then_some(())
    })
    .await;
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(TOKEN)))
            .await
            .status,
        401
    );
    drop(proxy);

    // Polling only: a broken file fails once, and fixing it is noticed
    // (the failure is remembered with what the file read, not just the
    // unchanged config text).
    std::fs::write(&file, TOKEN).unwrap();
    let proxy = ProxyProcess::spawn(&yaml(&source, "{ watch: false, poll_interval: 100ms }"));
    let admin = proxy.admin;
    std::fs::remove_file(&file).unwrap();
    proxy.wait_logs("Config reload failed; the running config is unchanged.");
    assert_eq!(
        call(admin, "GET", "/config", Some(&bearer(TOKEN)))
            .await
            .status,
        200
    );
    std::fs::write(&file, ROTATED).unwrap();
    eventually(Duration::from_secs(10), || async {
        let r = call(admin, "GET", "/config", Some(&bearer(ROTATED))).await;
        (r.status == 200).then_some(())
    })
    .await;
    assert_never_printed(&proxy, &[TOKEN, ROTATED]);
}

#[tokio::test]
async fn the_token_can_come_from_an_environment_variable() {
    let proxy = ProxyProcess::spawn_with(
        &yaml("{ env: SWITCHYARD_TEST_ADMIN_TOKEN }", NO_TRIGGERS),
        &[],
        &[("SWITCHYARD_TEST_ADMIN_TOKEN", TOKEN)],
    );
    assert_protected(proxy.admin, "GET", "/config", TOKEN, 200).await;
    assert_never_printed(&proxy, &[TOKEN]);
}

#[tokio::test]
async fn without_a_token_nothing_changes_but_an_exposed_listener_is_warned_about() {
    let proxy = ProxyProcess::spawn(
        "version: 1\nadmin: { listen: '0.0.0.0:0' }\nreload: { watch: false, poll_interval: 0s }\n\
         listeners: [{ name: web, listen: '127.0.0.1:0' }]\n",
    );
    let admin = SocketAddr::from(([127, 0, 0, 1], proxy.admin.port()));
    assert_eq!(get(admin, "/config").await.status, 200);
    assert_eq!(call(admin, "POST", "/reload", None).await.status, 200);
    let status: serde_json::Value =
        serde_json::from_str(&get(admin, "/status").await.body).unwrap();
    assert_eq!(status["admin_token_required"], false);
    let warnings = proxy.wait_logs("Config warning.");
    let warning = warnings[0]["fields"]["warning"].as_str().unwrap();
    assert!(
        warning.starts_with("admin.listen: 0.0.0.0:0 is reachable from other hosts"),
        "{warning}"
    );
    assert!(warning.contains("admin.token"), "{warning}");
}
