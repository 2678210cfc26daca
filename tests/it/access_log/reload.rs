//! Access logs across reloads (on, new format, off, a file that cannot be
//! opened) and log rotation (a renamed file is reopened at its path).

use std::time::Duration;

use switchyard::Switchyard;

use super::{json, lines, wait_lines, LogDir, WAIT};
use crate::common::{config, eps, eventually, get, reload, start_proxy, TestUpstream};

fn yaml(access_log: &str, up: &TestUpstream) -> String {
    config(&format!(
        "{access_log}routes:\n  - {{ name: r, pool: p }}\npools:\n  - {{ name: p, endpoints: [{}] }}\n",
        eps(&[("a", up.url())])
    ))
}

async fn apply(proxy: &Switchyard, yaml: &str) {
    let report = reload(proxy, yaml).await;
    assert_eq!(report.result, "success", "{:?}", report.errors);
}

#[tokio::test]
async fn a_reload_turns_the_log_on_changes_its_format_and_turns_it_off() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml("", &up)).await;
    let web = proxy.listener_addr("web").unwrap();
    assert_eq!(get(web, "/before").await.status, 200);

    apply(&proxy, &yaml(&log.yaml(""), &up)).await;
    assert_eq!(get(web, "/json").await.status, 200);
    let all = wait_lines(&log.path, 1).await;
    assert_eq!(json(&all[0])["path"], "/json");

    apply(&proxy, &yaml(&log.yaml(", format: common"), &up)).await;
    assert_eq!(get(web, "/common").await.status, 200);
    let all = wait_lines(&log.path, 2).await;
    assert!(
        all[1].starts_with("127.0.0.1 - - [") && all[1].contains("\"GET /common HTTP/1.1\" 200 "),
        "{all:?}"
    );

    // Off: nothing is written for /off. Turned on again, /again is; by
    // then /off would have been written before it.
    apply(&proxy, &yaml("", &up)).await;
    assert!(proxy.shared().dataplane.load().access_log.is_none());
    assert_eq!(get(web, "/off").await.status, 200);
    apply(&proxy, &yaml(&log.yaml(""), &up)).await;
    assert_eq!(get(web, "/again").await.status, 200);
    let all = wait_lines(&log.path, 3).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(json(&all[2])["path"], "/again");
    assert!(
        !all.iter()
            .any(|l| l.contains("/before") || l.contains("/off")),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_reload_that_keeps_the_settings_keeps_the_logger() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log.yaml(""), &up)).await;
    let before = proxy.shared().dataplane.load().access_log.clone().unwrap();
    // Another route: a new generation, the same access_log.
    let more = format!(
        "{}routes:\n  - {{ name: r, pool: p }}\n  - {{ name: r2, pool: p }}\n\
pools:\n  - {{ name: p, endpoints: [{}] }}\n",
        log.yaml(""),
        eps(&[("a", up.url())])
    );
    apply(&proxy, &config(&more)).await;
    let after = proxy.shared().dataplane.load().access_log.clone().unwrap();
    assert!(std::sync::Arc::ptr_eq(&before, &after));
}

#[tokio::test]
async fn a_log_file_that_cannot_be_opened_fails_the_reload_and_the_start() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log.yaml(""), &up)).await;
    let web = proxy.listener_addr("web").unwrap();
    let missing = log.path.parent().unwrap().join("no-such-dir/access.log");
    let bad = yaml(
        &format!("access_log: {{ path: '{}' }}\n", missing.display()),
        &up,
    );
    let report = reload(&proxy, &bad).await;
    assert_eq!(report.result, "failure");
    assert_eq!(report.generation, 1);
    let error = report.errors.join("; ");
    assert!(
        error.contains("cannot open access log file") && error.contains("no-such-dir"),
        "{error}"
    );
    // The running log keeps writing.
    assert_eq!(get(web, "/still").await.status, 200);
    assert_eq!(json(&wait_lines(&log.path, 1).await[0])["path"], "/still");

    let config = switchyard::config::load_str(&bad).unwrap();
    let loaded = switchyard::config::Loaded {
        config,
        hash: String::new(),
        text: bad.clone(),
    };
    let err = Switchyard::start(loaded).await.unwrap_err();
    assert!(matches!(err, switchyard::StartError::AccessLog(_)), "{err}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

/// logrotate without `copytruncate` renames the file and expects the
/// writer to start a new one at the path. No line is lost on the way.
#[tokio::test]
async fn a_renamed_file_is_reopened_at_its_path() {
    let up = TestUpstream::spawn("up").await;
    let log = LogDir::new();
    let proxy = start_proxy(&yaml(&log.yaml(""), &up)).await;
    let web = proxy.listener_addr("web").unwrap();
    assert_eq!(get(web, "/first").await.status, 200);
    wait_lines(&log.path, 1).await;
    let rotated = log.path.with_extension("log.1");
    std::fs::rename(&log.path, &rotated).unwrap();
    // The path is looked at once a second: keep sending until a line
    // lands in a new file there.
    let mut sent = 1;
    eventually(WAIT, || {
        sent += 1;
        async {
            assert_eq!(get(web, "/next").await.status, 200);
            tokio::time::sleep(Duration::from_millis(50)).await;
            (!lines(&log.path).is_empty()).then_some(())
        }
    })
    .await;
    // Every line is in one file or the other, the first in the old one.
    let total = eventually(WAIT, || async {
        let (old, new) = (lines(&rotated), lines(&log.path));
        (old.len() + new.len() == sent).then_some((old, new))
    })
    .await;
    assert_eq!(json(&total.0[0])["path"], "/first");
    assert!(total.1.iter().all(|l| json(l)["path"] == "/next"));
}
