//! What `switchyard demo` prints when it is up: what to open, what to try,
//! and what to watch.

use super::Demo;
use crate::config::SecretSource;
use crate::routing::PathMatch;

/// The banner for `demo`; `wanted_load`: whether `--load` was given.
pub(super) fn banner(demo: &Demo, wanted_load: bool) -> String {
    let proxy = &demo.proxy;
    let dp = proxy.shared().dataplane.load();
    let admin = proxy.admin_addr();
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line("Switchyard demo is running.\n".into());
    line(format!(
        "  Status page:  http://{admin}/   (open it in a browser; it refreshes itself)\n"
    ));
    for p in &dp.pools {
        line(format!("Vendors (pool {}):", p.name));
        for e in &p.endpoints {
            let Some(v) = demo.vendor(&e.config.name) else {
                continue;
            };
            line(format!(
                "  {:<3} {:<24} {:>4} ms {:>5.1}% errors   cost {:.1}   weight {}",
                v.name,
                e.config.url.original,
                v.latency().as_millis(),
                v.error_rate() * 100.0,
                v.cost,
                e.config.weight
            ));
        }
    }
    for plugin in &dp.config.plugins {
        line(format!(
            "Plugin: {} ({})",
            plugin.name,
            plugin.file.display()
        ));
    }
    let web = dp
        .config
        .listeners
        .iter()
        .find(|l| l.tls.is_none())
        .and_then(|l| proxy.listener_addr(&l.name));
    line(match (&demo.load, web) {
        (Some((plan, _)), Some(web)) => format!(
            "Load: {} requests/s to http://{web} for {} min at most, then it stops by itself.",
            plan.rate,
            plan.duration.as_secs().div_ceil(60)
        ),
        _ if wanted_load => "Load: none (no plain HTTP listener to send it to).".into(),
        _ => "Load: none. `switchyard demo --load` sends a steady stream of requests.".into(),
    });
    let victim = demo
        .vendors
        .get(1)
        .or(demo.vendors.first())
        .map_or("b", |v| v.name.as_str());
    let mut tries: Vec<(String, String)> = Vec::new();
    if let Some(web) = web {
        for r in dp.config.routes.routes() {
            let path = match &r.matcher.path {
                PathMatch::Prefix(p) | PathMatch::Exact(p) => p.clone(),
                _ => "/".into(),
            };
            tries.push((
                format!("curl -si http://{web}{path}"),
                format!("route {}", r.name),
            ));
        }
    }
    let base = format!("http://{admin}/demo/vendors");
    // With an admin token, the controls want it: say where it is, and
    // pass it by variable (never the value itself).
    let post = match dp.config.admin.token.as_ref().map(|t| &t.source) {
        Some(source) => {
            let from = match source {
                SecretSource::File(f) => format!("$(cat {})", f.display()),
                SecretSource::Env(name) => format!("${name}"),
            };
            line(format!(
                "Admin token: the controls need it; first run  ADMIN_TOKEN={from}  \
                 (the status page asks for it)."
            ));
            "curl -X POST -H \"Authorization: Bearer $ADMIN_TOKEN\"".to_string()
        }
        None => "curl -X POST".to_string(),
    };
    for (cmd, what) in [
        (
            format!("{post} '{base}/{victim}/errors?rate=0.3'"),
            format!("vendor {victim} fails 30% of its requests"),
        ),
        (
            format!("{post} '{base}/{victim}/errors?rate=0'"),
            "and works again".into(),
        ),
        (
            format!("{post} '{base}/{victim}/latency?ms=400'"),
            "or turns slow".into(),
        ),
        (
            format!("curl -s {base}"),
            "the vendors' profiles and counters".into(),
        ),
        (
            format!("curl -s http://{admin}/upstreams"),
            "health, ejections, weights, scores".into(),
        ),
        (
            format!("curl -s http://{admin}/status"),
            "listeners, routes, counters, last reload".into(),
        ),
        (
            format!("curl -s http://{admin}/metrics | grep upstream_requests_total"),
            "Prometheus metrics".into(),
        ),
    ] {
        tries.push((cmd, what));
    }
    let width = tries.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    line("\nTry:".into());
    for (cmd, what) in &tries {
        line(format!("  {cmd:<width$}   # {what}"));
    }
    line(format!(
        "\nWhat to watch: with {victim} at 30% errors under load, its error score and\n\
         effective weight fall on the status page, and it is ejected (a quarter of its\n\
         requests failing, three in a row, or its score). Each ejection ends in a\n\
         probation; while {victim} still fails it is ejected again, for longer. Set the\n\
         rate back to 0: after its ejection it passes probation and is re-admitted,\n\
         with a slow start back to full weight.\n\
         \nPress Ctrl-C to stop."
    ));
    out
}
