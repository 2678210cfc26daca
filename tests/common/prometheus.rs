//! A real Prometheus server (Debian's `prometheus`, installed by
//! `.ci/test`) scraping the admin listeners of proxies under test, on a
//! loopback port, with its data in a temp dir. Stopped by PID on drop.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Prometheus {
    child: Option<Child>,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// A loopback port that was free a moment ago (Prometheus cannot report a
/// port it picked itself, so this one is handed to it).
pub fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

impl Prometheus {
    /// Starts Prometheus on `addr`, scraping `targets` every second as job
    /// `switchyard`, and waits until it is ready (20 s at most).
    pub async fn start(addr: SocketAddr, targets: &[SocketAddr]) -> Self {
        let bin = which("prometheus").unwrap_or_else(|| {
            panic!("the `prometheus` binary is missing: run the tests with `bash .ci/test`, which installs Debian's prometheus package")
        });
        let dir = tempfile::tempdir().unwrap();
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(
            &cfg,
            format!("global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nscrape_configs:\n  - job_name: switchyard\n    static_configs: [{{ targets: [{list}] }}]\n"),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let p = Self {
            child: Some(child),
            addr,
            _dir: dir,
        };
        let client = super::client();
        let ready = super::eventually(Duration::from_secs(20), || {
            let client = client.clone();
            async move {
                tokio::net::TcpStream::connect(addr).await.ok()?;
                let r = super::get_on(&client, addr, "/-/ready").await;
                (r.status == 200).then_some(())
            }
        });
        ready.await;
        p
    }

    /// Stops the server (SIGKILL by PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
