//! The config loader: the shipped configs, those configs with random edits,
//! and generated configs never make it panic; whatever loads re-serialises
//! to the same config (`tests/oracle/config.rs`).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{json, Value};

use crate::oracle::config::check_load;

const SHIPPED: [(&str, &str); 6] = [
    ("demo", include_str!("../../../config/demo.yaml")),
    ("edge-tls", include_str!("../../../config/edge-tls.yaml")),
    ("gateway", include_str!("../../../config/gateway.yaml")),
    ("plugins", include_str!("../../../config/plugins.yaml")),
    ("sidecar", include_str!("../../../config/sidecar.yaml")),
    (
        "switchyard",
        include_str!("../../../config/switchyard.yaml"),
    ),
];

/// Values on the edges of what the config's parsers accept.
const TRICKY: &[&str] = &[
    "",
    "0",
    "-1",
    "0s",
    "1ns",
    "1µs",
    "1.5s",
    "1m30",
    "18446744073709551616s",
    "1e308s",
    "9999999999999999d",
    "0B",
    "16EiB",
    "18446744073709551615B",
    "1e20GiB",
    "0%",
    "101%",
    "NaN%",
    "127.0.0.1:65536",
    "[::1]:0",
    ":80",
    "http://a:0",
    "http://u@h:1",
    "https://_x:1",
    "ftp://h:1",
    "*",
    "*.",
    "a..b",
    "(",
    "a{1000}{1000}",
    "G E T",
    ":path",
    "a b",
    "~",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "!!binary AAAA",
    "&a x",
    "*a",
    "'",
    "\"",
    "? x",
    "- x",
    ">",
    "|",
    "0x10",
    ".inf",
    ".nan",
    "null",
    "yes",
];
const KEYS: &[&str] = &[
    "name",
    "listen",
    "url",
    "weight",
    "timeout",
    "interval",
    "path",
    "path_prefix",
    "hosts",
    "max_body",
    "budget",
    "attempts",
    "balancer",
    "type",
    "set",
    "remove",
    "limits",
    "tls",
    "version",
];

#[test]
fn shipped_configs_load_and_reserialise() {
    for (name, text) in SHIPPED {
        assert!(check_load(text), "config/{name}.yaml does not load");
    }
}

/// Found by the `config_mutate` fuzz target: a plugin config `.inf` loaded
/// (as `null`), and its re-serialisation (`config: null`) loaded to another
/// source. Now it is a config error.
#[test]
fn regression_infinite_plugin_config() {
    let written =
        r#"config: { vendor: acme, map: { "500": 502 }, message_field: error_description }"#;
    let text = SHIPPED[3].1.replacen(written, "config: .inf", 1);
    assert_ne!(text, SHIPPED[3].1, "the edit must apply");
    assert!(!check_load(&text), "{text}");
}

/// One text edit of a shipped config, at a line chosen by `Index`.
#[derive(Debug, Clone)]
enum Edit {
    /// The value after the line's first `: ` becomes a tricky value.
    Value(Index, &'static str),
    /// The line goes.
    Delete(Index),
    /// The line is repeated.
    Repeat(Index),
    /// A new `key: value` line with the line's indentation.
    Insert(Index, &'static str, &'static str),
    /// The text ends at this line.
    Truncate(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), select(TRICKY)).prop_map(|(i, v)| Edit::Value(i, v)),
        1 => any::<Index>().prop_map(Edit::Delete),
        1 => any::<Index>().prop_map(Edit::Repeat),
        2 => (any::<Index>(), select(KEYS), select(TRICKY)).prop_map(|(i, k, v)| Edit::Insert(i, k, v)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let at = |i: &Index| i.index(lines.len());
        match e {
            Edit::Value(i, v) => {
                let i = at(i);
                if let Some(k) = lines[i].find(": ") {
                    lines[i] = format!("{}: {v}", &lines[i][..k]);
                }
            }
            Edit::Delete(i) => drop(lines.remove(at(i))),
            Edit::Repeat(i) => {
                let i = at(i);
                lines.insert(i, lines[i].clone());
            }
            Edit::Insert(i, k, v) => {
                let i = at(i);
                let indent: String = lines[i].chars().take_while(|c| *c == ' ').collect();
                lines.insert(i, format!("{indent}{k}: {v}"));
            }
            Edit::Truncate(i) => lines.truncate(at(i)),
        }
    }
    lines.join("\n")
}

fn duration() -> impl Strategy<Value = String> {
    "[1-9][0-9]{0,2}(ms|s|m)|1m30s|1\\.5s"
}

/// A whole config, mostly valid, with one to three of each part.
fn config() -> impl Strategy<Value = Value> {
    let endpoint = ("[a-c]", 0u16..3, 0u32..5).prop_map(|(name, port, weight)| {
        json!({"name": name, "url": format!("http://127.0.0.1:{}", 9000 + port), "weight": weight})
    });
    let pool = (
        "p[0-2]",
        select(&["round_robin", "random", "least_request", "weighted_round_robin", "nope"][..]),
        vec(endpoint, 1..4),
        duration(),
    )
        .prop_map(|(name, balancer, endpoints, t)| {
            json!({"name": name, "balancer": balancer, "endpoints": endpoints, "connect_timeout": t})
        });
    let route = (
        "r[0-3]",
        "p[0-2]",
        "/(v1|a)?/?",
        proptest::option::of(duration()),
        proptest::option::of("/(v1|a)"),
        vec(("(X-)?[a-c]", "[ -~]{0,4}"), 0..3),
        vec("[a-c]|host", 0..2),
        1u32..4,
    )
        .prop_map(
            |(name, pool, prefix, timeout, strip, set, remove, attempts)| {
                let set: serde_json::Map<String, Value> =
                    set.into_iter().map(|(k, v)| (k, json!(v))).collect();
                let mut r = json!({
                    "name": name, "pool": pool, "match": {"path_prefix": prefix},
                    "request_headers": {"set": set, "remove": remove},
                    "retries": {"attempts": attempts},
                });
                if let Some(t) = timeout {
                    r["timeout"] = json!(t);
                }
                if let Some(s) = strip {
                    r["strip_prefix"] = json!(s);
                }
                r
            },
        );
    let listener = ("web|api", 0u16..2)
        .prop_map(|(name, p)| json!({"name": name, "listen": format!("127.0.0.1:{}", 8080 + p)}));
    (vec(listener, 1..3), vec(pool, 1..4), vec(route, 1..4))
        .prop_map(|(l, p, r)| json!({"version": 1, "listeners": l, "pools": p, "routes": r}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(super::CASES))]

    #[test]
    fn edited_shipped_configs_never_panic(
        seed in 0..SHIPPED.len(),
        edits in vec(edit(), 1..6),
    ) {
        check_load(&apply(SHIPPED[seed].1, &edits));
    }

    #[test]
    fn generated_configs_reserialise(config in config()) {
        check_load(&serde_yaml::to_string(&config).unwrap());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "version: 1\n([a-z_]{1,12}: [ -~]{0,12}\n){0,6}|\\PC{0,64}") {
        check_load(&text);
    }
}
