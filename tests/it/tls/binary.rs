//! The real binary behind curl: `--resolve` for SNI, `--http2` over ALPN.

use std::process::Command;

use super::{write_atomic, write_pair, Ca};
use crate::common::process::ProxyProcess;
use crate::common::TestUpstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_http2_200_from_the_binary_over_tls() {
    let up = TestUpstream::spawn("up").await;
    let certs = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test CA");
    write_pair(certs.path(), "api", &ca.server(&["api.example.com"], "api"));
    write_pair(certs.path(), "www", &ca.server(&["www.example.com"], "www"));
    let ca_file = certs.path().join("ca.pem");
    write_atomic(&ca_file, &ca.pem());
    let file = |n: &str| certs.path().join(n).display().to_string();
    let yaml = format!(
        "version: 1
runtime: {{ worker_threads: 1, shutdown_timeout: 5s }}
admin: {{ listen: '127.0.0.1:0' }}
listeners:
  - name: web
    listen: '127.0.0.1:0'
    tls:
      certificates:
        - {{ cert: '{}', key: '{}' }}
        - {{ cert: '{}', key: '{}' }}
routes: [{{ name: r, pool: p }}]
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]
",
        file("api.pem"),
        file("api.key"),
        file("www.pem"),
        file("www.key"),
        up.url()
    );
    let proxy = ProxyProcess::spawn(&yaml);
    let port = proxy.web().port();
    for name in ["api.example.com", "www.example.com"] {
        let out = tokio::task::spawn_blocking({
            let ca_file = ca_file.clone();
            let url = format!("https://{name}:{port}/headers");
            let resolve = format!("{name}:{port}:127.0.0.1");
            move || {
                Command::new("curl")
                    .args(["-sS", "--max-time", "10", "--http2", "--cacert"])
                    .arg(&ca_file)
                    .args([
                        "--resolve",
                        &resolve,
                        "-w",
                        "\n%{http_version} %{http_code}",
                        &url,
                    ])
                    .output()
                    .expect("curl runs (installed by .ci/test)")
            }
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: curl failed: {stderr}");
        let (body, summary) = stdout.rsplit_once('\n').unwrap();
        assert_eq!(summary, "2 200", "{name}: {stdout}\n{stderr}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["headers"]["x-forwarded-proto"], "https", "{body}");
        let host = json["headers"]["x-forwarded-host"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(host, format!("{name}:{port}"), "{body}");
    }
}
