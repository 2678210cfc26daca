//! Misbehaving plugins are contained: every WAT fixture (endless loop,
//! out-of-bounds access, unbounded memory growth, trap) in every request
//! phase, under `fail_closed` and `fail_open`. One proxy per fixture with
//! one route per (phase, policy) and one route without plugins, which must
//! keep answering while the others fail. Each route is asked twice: the
//! second request gets a fresh instance that fails the same way, and each
//! failure is counted once under its phase and kind.

use std::time::Duration;

use tokio::task::JoinSet;

use super::{calls, fixture, plugin, request, SLACK};
use crate::common::{config, eventually, get, metrics_text, start_proxy, Reply, TestUpstream};

const PHASES: [&str; 5] = [
    "request_headers",
    "request_body",
    "response_headers",
    "response_body",
    "log",
];
const POLICIES: [&str; 2] = ["fail_closed", "fail_open"];
/// Requests to the plugin-free route alongside each round.
const CLEAN: usize = 8;

/// One route's case: what the client and the upstream must see.
struct Case {
    name: String,
    phase: &'static str,
    closed: bool,
}

impl Case {
    fn path(&self) -> String {
        let policy = if self.closed {
            "fail_closed"
        } else {
            "fail_open"
        };
        // `/echo` sends the body back, `/headers` the request head.
        let tail = if self.phase == "request_body" {
            "echo"
        } else {
            "headers"
        };
        format!("/{}/{policy}/{tail}", self.phase)
    }

    /// Whether the client gets the plugin's 500 (the response is not
    /// decided yet in that phase).
    fn fails_request(&self) -> bool {
        self.closed && self.phase != "log"
    }

    /// Whether the upstream sees the request.
    fn reaches_upstream(&self) -> bool {
        !(self.closed && self.phase.starts_with("request_"))
    }

    async fn send(&self, web: std::net::SocketAddr) -> Reply {
        match self.phase {
            "request_body" => request("POST", web, &self.path(), &[], "ping").await,
            _ => request("GET", web, &self.path(), &[], "").await,
        }
    }

    fn check(&self, fx: &str, r: &Reply) {
        let name = &self.name;
        if self.fails_request() {
            let want = format!("plugin {name} failed\n");
            assert_eq!((r.status, r.body.as_str()), (500, want.as_str()), "{name}");
            return;
        }
        assert_eq!(r.status, 200, "{name}: {}", r.body);
        assert_eq!(r.header("x-upstream"), Some("up"), "{name}");
        if self.phase == "request_body" {
            assert_eq!(r.body, "ping", "{name}: the body went on unchanged");
        } else {
            // A plugin failing open in request headers is skipped for
            // the rest of the request; otherwise its header went up.
            let head = super::echoed(r);
            let want = (self.phase != "request_headers").then_some(fx);
            let got = head.get("x-fixture").and_then(|v| v.as_str());
            assert_eq!(got, want, "{name}: x-fixture upstream");
        }
        // The response callback adds x-fixture-seen unless the plugin
        // already failed (and was dropped) by then.
        let seen = matches!(self.phase, "response_body" | "log");
        assert_eq!(r.header("x-fixture-seen").is_some(), seen, "{name}: {r:?}");
    }
}

/// `time` is the call limit: short for the endless loop (each failing
/// call holds a worker that long), [`SLACK`] for the others, which fail at
/// once and must not time out in their well-behaved phases.
async fn contained(fx: &'static str, result: &str, time: &str) {
    let up = TestUpstream::spawn("up").await;
    let (mut plugins, mut routes, mut cases) = (String::new(), String::new(), Vec::new());
    for phase in PHASES {
        for policy in POLICIES {
            let name = format!("{fx}-{phase}-{policy}");
            let rest = format!(
                ", config: {phase}, on_error: {policy}, limits: {{ time: {time}, memory: 1MiB }}"
            );
            plugins += &plugin(&name, &fixture(fx), &rest);
            routes += &format!(
                "  - {{ name: {name}, match: {{ path_prefix: /{phase}/{policy} }}, pool: p, plugins: [{name}] }}\n"
            );
            cases.push(Case {
                name,
                phase,
                closed: policy == "fail_closed",
            });
        }
    }
    let yaml = config(&format!(
        "plugins:\n{plugins}routes:\n{routes}  - {{ name: clean, pool: p }}
pools: [{{ name: p, endpoints: [{{ name: up, url: '{}' }}] }}]\n",
        up.url()
    ));
    let proxy = start_proxy(&yaml).await;
    let web = proxy.listener_addr("web").unwrap();
    let cases = std::sync::Arc::new(cases);

    for round in 1..=2u64 {
        // Every failing route and the clean route at once.
        let mut tasks = JoinSet::new();
        for i in 0..cases.len() {
            let cases = cases.clone();
            tasks.spawn(async move { (Some(i), cases[i].send(web).await) });
        }
        for _ in 0..CLEAN {
            tasks.spawn(async move { (None, get(web, "/").await) });
        }
        let mut clean = 0;
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (Some(i), r) => cases[i].check(fx, &r),
                (None, r) => {
                    assert_eq!((r.status, r.body.as_str()), (200, "up"), "clean route");
                    clean += 1;
                }
            }
        }
        assert_eq!(clean, CLEAN);
        let reached = cases.iter().filter(|c| c.reaches_upstream()).count();
        assert_eq!(up.hits(), round * (reached + CLEAN) as u64, "round {round}");
    }

    // Each request failed once, counted under its phase; `log` calls are
    // counted when the response is over, so poll for them.
    let admin = proxy.admin_addr();
    let text = eventually(Duration::from_secs(5), || {
        let cases = cases.clone();
        async move {
            let text = metrics_text(admin).await;
            let all = cases
                .iter()
                .all(|c| calls(&text, &c.name, c.phase, result) >= 2);
            all.then_some(text)
        }
    })
    .await;
    for c in cases.iter() {
        assert_eq!(
            calls(&text, &c.name, c.phase, result),
            2,
            "{}\n{text}",
            c.name
        );
        // Nothing was counted under another failure kind.
        for other in ["timeout", "trap", "memory", "error"] {
            if other != result {
                assert_eq!(
                    calls(&text, &c.name, c.phase, other),
                    0,
                    "{} {other}",
                    c.name
                );
            }
        }
    }
    // The clean route stayed plugin-free and still answers.
    let r = get(web, "/").await;
    assert_eq!((r.status, r.body.as_str()), (200, "up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_is_cut_at_its_time_limit_in_every_phase() {
    contained("loop", "timeout", "50ms").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bounds_access_traps_in_every_phase() {
    contained("oob", "trap", SLACK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_growth_stops_at_its_limit_in_every_phase() {
    contained("grow", "memory", SLACK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_is_contained_in_every_phase() {
    contained("trap", "trap", SLACK).await;
}
