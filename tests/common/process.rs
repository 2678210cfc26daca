//! The real binary as a child process, with its bound addresses read from
//! its JSON logs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ProxyProcess {
    child: Child,
    pub listeners: HashMap<String, SocketAddr>,
    pub admin: SocketAddr,
    /// The temp dir holding the config, when `spawn` wrote it.
    pub dir: Option<tempfile::TempDir>,
    /// Every line it has written to stderr so far.
    logs: Arc<Mutex<Vec<String>>>,
    /// Every line it has written to stdout so far (access logs).
    stdout: Arc<Mutex<Vec<String>>>,
}

impl ProxyProcess {
    /// Writes `yaml` to a temp dir, starts `switchyard run`, waits until it
    /// has logged "Switchyard started." (10 s at most).
    pub fn spawn(yaml: &str) -> Self {
        Self::spawn_with(yaml, &[], &[])
    }

    /// Like `spawn`, with `files` (name, content) written next to the
    /// config first and `env` added to the process's environment.
    pub fn spawn_with(yaml: &str, files: &[(&str, &str)], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchyard.yaml");
        std::fs::write(&path, yaml).unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let mut proxy = Self::spawn_path_env(&path, env);
        proxy.dir = Some(dir);
        proxy
    }

    /// Starts `switchyard run` on an existing config file (or symlink).
    /// `SWITCHYARD_BIN` names another binary to run (`bench/leak.sh` points
    /// it at a release build); by default, the one cargo built.
    pub fn spawn_path(path: &std::path::Path) -> Self {
        Self::spawn_path_env(path, &[])
    }

    /// Like `spawn_path`, with `env` added to the process's environment.
    pub fn spawn_path_env(path: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let bin = std::env::var_os("SWITCHYARD_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_switchyard").into());
        let mut child = Command::new(bin)
            .args([
                "--log-format",
                "json",
                "--log-level",
                "info",
                "run",
                "--config",
            ])
            .arg(path)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout_lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let out = child.stdout.take().unwrap();
        let kept_out = stdout_lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                kept_out.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                if tx.send(line).is_err() {
                    // Keep draining so the child never blocks on a full pipe.
                    continue;
                }
            }
        });
        let mut listeners = HashMap::new();
        let mut admin = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("proxy did not start"));
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let f = &v["fields"];
            match f["message"].as_str() {
                Some("Listening.") => {
                    listeners.insert(
                        f["listener"].as_str().unwrap().to_string(),
                        f["addr"].as_str().unwrap().parse().unwrap(),
                    );
                }
                Some("Admin API listening.") => {
                    admin = Some(f["addr"].as_str().unwrap().parse().unwrap())
                }
                Some("Switchyard started.") => break,
                _ => {}
            }
        }
        Self {
            child,
            listeners,
            admin: admin.expect("admin address logged"),
            dir: None,
            logs,
            stdout: stdout_lines,
        }
    }

    /// Every line written to stderr (the logs) so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Every line written to stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// The JSON log lines whose `fields.message` is `message`, waiting up to
    /// 5 s for at least one.
    pub fn wait_logs(&self, message: &str) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found: Vec<serde_json::Value> = self
                .logs
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["fields"]["message"] == message)
                .collect();
            if !found.is_empty() {
                return found;
            }
            assert!(Instant::now() < deadline, "no {message:?} logged");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn web(&self) -> SocketAddr {
        self.listeners["web"]
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open file descriptors (`/proc/PID/fd` entries).
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }

    /// Every JSON line written to stderr so far.
    pub fn json_logs(&self) -> Vec<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect()
    }

    /// A `/proc/PID/status` field in KiB (VmRSS, VmHWM).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "proxy did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}
