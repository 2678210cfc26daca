//! `check` on rejected `plugins[]` declarations and `plugins:` lists: one
//! test per rule, each asserting the path, a distinctive part of the message
//! and the position it points at.

use super::plugins::{plugin_yaml, yaml};
use super::problems;
use super::resilience::{assert_line, error};

/// Two plugins `a` and `b`, both used by the route, plus `route`, `pool`
/// and `endpoint` lists spliced like `yaml`.
fn two(route: &str, pool: &str, endpoint: &str) -> String {
    yaml(
        "  - name: a\n    file: a.wasm\n  - name: b\n    file: b.wat\n",
        &format!("    plugins: [a, b]\n{route}"),
        pool,
        endpoint,
    )
}

// ---------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------

#[test]
fn missing_name_or_file() {
    let y = yaml("  - file: g.wasm\n", "", "", "");
    error(&y, "plugins[0]", "missing field `name`", "file: g.wasm");
    let y = yaml("  - name: g\n", "    plugins: [g]\n", "", "");
    error(&y, "plugins[0]", "missing field `file`", "name: g");
}

/// Found by fuzzing: JSON has no infinity or NaN, and serde_json's `Value`
/// made them `null` without a word, so the plugin got another value than
/// the one written.
#[test]
fn config_numbers_json_cannot_hold() {
    let cases = [
        ("    config: .inf\n", "plugins[0].config", ".inf"),
        (
            "    config: { limit: -.inf }\n",
            "plugins[0].config.limit",
            "-.inf",
        ),
        ("    config: [1, .nan]\n", "plugins[0].config[1]", ".nan"),
    ];
    for (extra, path, written) in cases {
        error(
            &plugin_yaml(extra),
            path,
            &format!("{written} cannot be handed to a plugin"),
            written,
        );
    }
    // Finite numbers, big or small, are fine.
    let y = plugin_yaml("    config: { a: 1e300, b: -0.5, c: 18446744073709551615 }\n");
    assert!(switchyard::config::load_str(&y).is_ok(), "{y}");
}

#[test]
fn duplicate_plugin_name() {
    let y = yaml(
        "  - name: g\n    file: g.wasm\n  - name: g\n    file: h.wasm\n",
        "    plugins: [g]\n",
        "",
        "",
    );
    error(
        &y,
        "plugins[1].name",
        "duplicate plugin name \"g\" (first used by plugins[0])",
        "g",
    );
}

#[test]
fn invalid_plugin_names() {
    let long = "n".repeat(65);
    for bad in ["\"\"", "\"a b\"", "a/b", long.as_str()] {
        let y = yaml(&format!("  - name: {bad}\n    file: g.wasm\n"), "", "", "");
        let all = problems(&y);
        let line = super::find(&all, "plugins[0].name");
        assert_line(
            &y,
            line,
            "plugins[0].name",
            "use 1 to 64 letters, digits, '-', '_' or '.'",
            bad,
        );
    }
    // 64 characters is the limit, and is fine.
    let ok = "n".repeat(64);
    let y = yaml(
        &format!("  - name: {ok}\n    file: g.wasm\n"),
        &format!("    plugins: [{ok}]\n"),
        "",
        "",
    );
    assert!(switchyard::config::load_str(&y).is_ok());
}

#[test]
fn empty_file() {
    let y = yaml(
        "  - name: g\n    file: \"\"\n",
        "    plugins: [g]\n",
        "",
        "",
    );
    error(&y, "plugins[0].file", "must not be empty", "\"\"");
}

#[test]
fn file_without_a_wasm_or_wat_extension() {
    for bad in ["g.so", "g", "g.wasm.bak", "g.WASM"] {
        let y = yaml(
            &format!("  - name: g\n    file: {bad}\n"),
            "    plugins: [g]\n",
            "",
            "",
        );
        error(
            &y,
            "plugins[0].file",
            "must end in .wasm (a compiled module) or .wat (WebAssembly text)",
            bad,
        );
    }
}

#[test]
fn unknown_on_error_value() {
    let y = plugin_yaml("    on_error: fail_slow\n");
    error(
        &y,
        "plugins[0].on_error",
        "unknown variant `fail_slow`, expected `fail_closed` or `fail_open`",
        "fail_slow",
    );
}

#[test]
fn unknown_keys_are_rejected() {
    let y = plugin_yaml("    onerror: fail_open\n");
    error(
        &y,
        "plugins[0].onerror",
        "unknown field `onerror`",
        "onerror",
    );
    let y = plugin_yaml("    limits: { cpu: 5ms }\n");
    error(&y, "plugins[0].limits.cpu", "unknown field `cpu`", "cpu");
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

#[test]
fn memory_out_of_range() {
    for bad in ["65535", "1KiB", "5GiB", "0"] {
        let y = plugin_yaml(&format!("    limits: {{ memory: {bad} }}\n"));
        error(
            &y,
            "plugins[0].limits.memory",
            &format!("{bad} is out of range: use 64KiB to 4GiB"),
            bad,
        );
    }
}

#[test]
fn body_out_of_range() {
    for bad in ["0", "65MiB", "67108865"] {
        let y = plugin_yaml(&format!("    limits: {{ body: {bad} }}\n"));
        error(
            &y,
            "plugins[0].limits.body",
            &format!("{bad} is out of range: use 1B to 64MiB"),
            bad,
        );
    }
}

#[test]
fn bad_size_text() {
    let cases = [
        (
            "16mb",
            "unknown unit \"mb\" (use B, KiB, MiB, GiB, KB, MB or GB)",
        ),
        ("16 TiB", "unknown unit \"TiB\""),
        ("1.5MiB", "use a whole number"),
        ("-1", "invalid size \"-1\""),
        ("lots", "invalid size \"lots\""),
    ];
    for (bad, part) in cases {
        let y = plugin_yaml(&format!("    limits: {{ memory: {bad} }}\n"));
        error(&y, "plugins[0].limits.memory", part, bad);
    }
}

#[test]
fn size_of_the_wrong_type() {
    let y = plugin_yaml("    limits: { body: 1.5 }\n");
    error(
        &y,
        "plugins[0].limits.body",
        "expected a size in bytes (4096) or with a unit (\"16MiB\")",
        "1.5",
    );
}

#[test]
fn time_zero_too_long_or_malformed() {
    let cases = [
        ("0", "must be greater than 0"),
        ("11s", "11s is more than the limit of 10s"),
        ("1m", "1m is more than the limit of 10s"),
        ("5", "missing unit"),
    ];
    for (bad, part) in cases {
        let y = plugin_yaml(&format!("    limits: {{ time: \"{bad}\" }}\n"));
        error(&y, "plugins[0].limits.time", part, &format!("\"{bad}\""));
    }
}

// ---------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------

#[test]
fn unknown_plugin_in_a_route_pool_or_endpoint() {
    let want = "unknown plugin \"c\"; declared plugins: a, b";
    let y = two("", "    plugins: [a, c]\n", "");
    error(&y, "pools[0].plugins[1]", want, "c]");
    let y = two("", "", "        plugins: [c]\n");
    error(&y, "pools[0].endpoints[0].plugins[0]", want, "c]");
    let y = yaml(
        "  - name: a\n    file: a.wasm\n  - name: b\n    file: b.wat\n",
        "    plugins: [b, a, c]\n",
        "",
        "",
    );
    error(&y, "routes[0].plugins[2]", want, "c]");
}

#[test]
fn unknown_plugin_when_none_is_declared() {
    let y = super::resilience::yaml("    plugins: [guard]\n", "", "");
    error(
        &y,
        "routes[0].plugins[0]",
        "unknown plugin \"guard\"; no plugins are declared",
        "guard",
    );
}

#[test]
fn same_plugin_twice_in_one_list() {
    let y = two("", "    plugins: [b, a, b]\n", "");
    error(
        &y,
        "pools[0].plugins[2]",
        "plugin \"b\" is listed twice (first at pools[0].plugins[0])",
        "b]",
    );
    let y = yaml(
        "  - name: a\n    file: a.wasm\n",
        "    plugins:\n      - a\n      - a\n",
        "",
        "",
    );
    error(
        &y,
        "routes[0].plugins[1]",
        "plugin \"a\" is listed twice (first at routes[0].plugins[0])",
        "a",
    );
    // The same plugin in different lists is fine.
    let y = two("", "    plugins: [a]\n", "        plugins: [a, b]\n");
    assert!(switchyard::config::load_str(&y).is_ok());
}

#[test]
fn every_plugin_problem_is_reported_together() {
    let y = yaml(
        "  - name: g\n    file: g.so\n    limits: { memory: 1KiB, time: 20s, body: 0 }\n  - name: g\n    file: h.wasm\n",
        "    plugins: [g, nope]\n",
        "    plugins: [g, g]\n",
        "        plugins: [missing]\n",
    );
    let all = problems(&y);
    let paths: Vec<&str> = all
        .iter()
        .map(|p| p.split_once(": ").map_or("", |(path, _)| path))
        .collect();
    assert_eq!(
        paths,
        [
            "routes[0].plugins[1]",
            "pools[0].plugins[1]",
            "pools[0].endpoints[0].plugins[0]",
            "plugins[0].file",
            "plugins[0].limits.memory",
            "plugins[0].limits.time",
            "plugins[0].limits.body",
            "plugins[1].name",
        ],
        "{all:#?}"
    );
}
