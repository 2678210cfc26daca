//! The real binary: access log lines on stdout (and nothing else there),
//! the last ones written before it exits on SIGTERM.

use super::WAIT;
use crate::common::process::ProxyProcess;
use crate::common::{config, eps, get, TestUpstream};

/// The real binary writes JSON lines to stdout, nothing else goes there,
/// and the last lines are written before it exits on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_to_stdout_and_flushes_on_shutdown() {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "access_log: {{ format: json, fields: [method, path, status, route] }}\n\
routes:\n  - {{ name: r, pool: p }}\npools:\n  - {{ name: p, endpoints: [{}] }}\n",
        eps(&[("a", up.url())])
    ));
    let mut proxy = ProxyProcess::spawn(&yaml);
    for i in 0..3 {
        assert_eq!(get(proxy.web(), &format!("/n/{i}")).await.status, 200);
    }
    proxy.signal("TERM");
    assert!(proxy.wait_exit(WAIT).success());
    let out = proxy.stdout_lines();
    let want: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"method":"GET","path":"/n/{i}","status":200,"route":"r"}}"#))
        .collect();
    assert_eq!(out, want);
}

/// Without `access_log`, the binary's stdout stays empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_nothing_to_stdout_by_default() {
    let up = TestUpstream::spawn("up").await;
    let yaml = config(&format!(
        "routes:\n  - {{ name: r, pool: p }}\npools:\n  - {{ name: p, endpoints: [{}] }}\n",
        eps(&[("a", up.url())])
    ));
    let mut proxy = ProxyProcess::spawn(&yaml);
    assert_eq!(get(proxy.web(), "/").await.status, 200);
    proxy.signal("TERM");
    assert!(proxy.wait_exit(WAIT).success());
    assert_eq!(proxy.stdout_lines(), Vec::<String>::new());
}
