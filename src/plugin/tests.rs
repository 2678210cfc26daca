//! Host tests with inline WAT modules: header edits, local replies,
//! configuration, and containment of runaway calls.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::{OnError, Plugin as Spec};
use crate::metrics::Metrics;

/// A module whose request-header callback runs `$body` (a WAT instruction
/// list) after adding `x-added: yes` (map 0).
fn module(body: &str) -> String {
    format!(
        r#"(module
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $top (mut i32) (i32.const 4096))
  (data (i32.const 16) "x-added")
  (data (i32.const 32) "yes")
  (data (i32.const 48) "denied")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $top))
    (global.set $top (i32.add (global.get $top) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 0) (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 3)))
    {body}
    (i32.const 0)))"#
    )
}

fn load(wat: &str, on_error: OnError) -> (Arc<Plugin>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.wat");
    std::fs::write(&file, wat).unwrap();
    let spec = Spec {
        name: "p".into(),
        file,
        config: Arc::from(&b"{}"[..]),
        on_error,
        memory: 1 << 20,
        time: Duration::from_millis(5),
        body: 1 << 20,
    };
    let host = Host::new().unwrap();
    let metrics = Metrics::new().unwrap();
    let set = PluginSet::load(&host, &[spec], None, &metrics.plugins).unwrap();
    let p = Arc::clone(set.iter().next().unwrap());
    (p, dir)
}

fn request() -> http::request::Parts {
    http::Request::get("/a").body(()).unwrap().into_parts().0
}

fn run(plugin: &Arc<Plugin>) -> (Verdict, http::request::Parts) {
    let mut parts = request();
    let mut active = Active::new();
    let v = active.request_headers(
        &[Arc::clone(plugin)],
        &mut parts,
        &Arc::new(Props::default()),
        true,
    );
    (v, parts)
}

#[test]
fn adds_a_header_and_reuses_the_warm_instance() {
    let (p, _dir) = load(&module(""), OnError::FailClosed);
    for _ in 0..3 {
        let (v, parts) = run(&p);
        assert!(matches!(v, Verdict::Continue), "{v:?}");
        assert_eq!(parts.headers["x-added"], "yes");
        assert_eq!(parts.uri, "/a");
    }
    assert_eq!(p.instances_created(), 1);
}

#[test]
fn local_reply_ends_the_chain() {
    let body = "(drop (call $reply (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 48) (i32.const 6) (i32.const 0) (i32.const 0) (i32.const -1)))";
    let (p, _dir) = load(&module(body), OnError::FailClosed);
    let (v, _) = run(&p);
    match v {
        Verdict::Reply(r) => {
            assert_eq!(r.status, 403);
            assert_eq!(&r.body[..], b"denied");
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn runaway_calls_are_contained_and_the_instance_replaced() {
    let cases = [
        ("(loop $l (br $l))", "timeout"),
        ("(drop (i32.load (i32.const -16)))", "trap"),
        (
            "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))",
            "memory",
        ),
        ("(unreachable)", "trap"),
    ];
    for (body, want) in cases {
        let (p, _dir) = load(&module(body), OnError::FailClosed);
        let (v, parts) = run(&p);
        match v {
            Verdict::Failed(e) => {
                assert_eq!(e.failure.result(), want, "{body}: {e}");
                assert_eq!(e.phase, "request_headers");
            }
            v => panic!("{body}: {v:?}"),
        }
        // The request head came back intact.
        assert_eq!(parts.uri, "/a");
        let (p2, _dir2) = (Arc::clone(&p), ());
        let (v, _) = run(&p2);
        assert!(matches!(v, Verdict::Failed(_)));
        assert_eq!(
            p.instances_created(),
            2,
            "{body}: a failed instance is never reused"
        );
    }
    let (p, _dir) = load(&module("(unreachable)"), OnError::FailOpen);
    let (v, _) = run(&p);
    assert!(matches!(v, Verdict::Continue));
}

#[test]
fn bad_modules_are_refused_with_a_reason() {
    let host = Host::new().unwrap();
    let metrics = Metrics::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 3] = [
        ("not wasm at all", "not a valid WebAssembly module"),
        (
            "(module (memory (export \"memory\") 1))",
            "not a proxy-wasm module",
        ),
        (
            &module("").replace(
                "(i32.const 1))\n  (func (export \"proxy_on_request_headers\")",
                "(i32.const 0))\n  (func (export \"proxy_on_request_headers\")",
            ),
            "rejected its configuration",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("{i}.wat"));
        std::fs::write(&file, text).unwrap();
        let spec = Spec {
            name: "bad".into(),
            file,
            config: Arc::from(&b""[..]),
            on_error: OnError::FailClosed,
            memory: 1 << 20,
            time: Duration::from_millis(5),
            body: 1024,
        };
        let err = PluginSet::load(&host, &[spec], None, &metrics.plugins).unwrap_err();
        assert!(err[0].contains(want), "{i}: {err:?}");
        assert!(err[0].starts_with("plugins[0] (bad): "), "{err:?}");
    }
}

/// The AssemblyScript SDK's abort handler imports `proc_exit` from
/// `wasi_unstable` (WASI snapshot 0): the host defines the snapshot-0 names
/// like the preview-1 ones, so such a module links, its calls work, and
/// `proc_exit` ends the call as a trap that names it (not as an undefined
/// import). Snapshot-0 calls the host lacks answer ENOSYS.
#[test]
fn wasi_unstable_calls_are_answered_like_preview1() {
    let wat = r#"(module
  (import "wasi_unstable" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_unstable" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.ne (call $clock (i32.const 0) (i64.const 1) (i32.const 64)) (i32.const 0))
      (then (unreachable)))
    (if (i64.eqz (i64.load (i32.const 64))) (then (unreachable)))
    (if (i32.ne (call $poll (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 72)) (i32.const 52))
      (then (unreachable)))
    (call $exit (i32.const 255))
    (i32.const 0)))"#;
    let (p, _dir) = load(wat, OnError::FailClosed);
    let (v, parts) = run(&p);
    match v {
        Verdict::Failed(e) => {
            assert_eq!(
                e.failure,
                Failure::Trap("plugin called proc_exit(255)".into()),
                "{e}"
            );
            assert_eq!(e.failure.result(), "trap");
            assert_eq!(e.phase, "request_headers");
        }
        v => panic!("{v:?}"),
    }
    assert_eq!(parts.uri, "/a");
}

#[test]
fn the_epoch_ticker_parks_when_idle_and_a_call_wakes_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |name: &str, body: &str| {
        let file = dir.path().join(format!("{name}.wat"));
        std::fs::write(&file, module(body)).unwrap();
        Spec {
            name: name.into(),
            file,
            config: Arc::from(&b""[..]),
            on_error: OnError::FailClosed,
            memory: 1 << 20,
            time: Duration::from_millis(5),
            body: 1024,
        }
    };
    let host = Host::new().unwrap();
    let metrics = Metrics::new().unwrap();
    let specs = [spec("good", ""), spec("busy", "(loop $l (br $l))")];
    let set = PluginSet::load(&host, &specs, None, &metrics.plugins).unwrap();
    let (good, busy) = (set.plugins[0].clone(), set.plugins[1].clone());
    // Calls of 5 ms may run 6 ticks × 21 windows; the ticker parks after
    // that plus a second without a call.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !host.clock().is_parked() {
        assert!(
            std::time::Instant::now() < deadline,
            "the ticker never parked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // A runaway call after the idle spell is still stopped: it woke the
    // ticker.
    let (v, _) = run(&busy);
    assert!(
        matches!(v, Verdict::Failed(ref e) if e.failure.result() == "timeout"),
        "{v:?}"
    );
    assert!(!host.clock().is_parked());
    let (v, _) = run(&good);
    assert!(matches!(v, Verdict::Continue));
}
