//! Validation of `pools[].scoring`.
//!
//! Owns: the rules and error wording for scoring settings and their
//! Prometheus source.

use std::sync::OnceLock;

use http::uri::{Scheme, Uri};
use regex::Regex;

use super::defaults;
use super::raw::{RawPrometheusSource, RawScoring, RawScoringSource};
use super::resilience::{PrometheusSource, Scoring, ScoringSource};
use super::validate::Issues;
use super::validate_resilience::share;

/// `pools[i].scoring`
pub(super) fn scoring(
    issues: &mut Issues<'_>,
    base: &str,
    raw: Option<&RawScoring>,
) -> Option<Scoring> {
    let raw = raw?;
    let source = match &raw.source {
        None => ScoringSource::Local,
        Some(RawScoringSource::Named(name)) => {
            if name != "local" {
                issues.error(
                    format!("{base}.source"),
                    format!(
                        "unknown source {name:?}: use local or {{ prometheus: {{ url: ... }} }}"
                    ),
                );
            }
            ScoringSource::Local
        }
        Some(RawScoringSource::Prometheus(RawPrometheusSource { prometheus: p })) => {
            let path = format!("{base}.source.prometheus");
            let (authority, base_path) = prometheus_url(issues, &format!("{path}.url"), &p.url);
            let timeout = issues.duration(
                &format!("{path}.timeout"),
                p.timeout.as_deref(),
                defaults::PROMETHEUS_TIMEOUT,
                false,
            );
            let selector = p
                .selector
                .as_deref()
                .map(|s| selector(issues, &format!("{path}.selector"), s))
                .unwrap_or_default();
            ScoringSource::Prometheus(PrometheusSource {
                authority,
                base_path,
                timeout,
                selector,
            })
        }
    };
    let default_interval = match source {
        ScoringSource::Local => defaults::SCORING_INTERVAL,
        ScoringSource::Prometheus(_) => defaults::SCORING_INTERVAL_PROMETHEUS,
    };
    let dur = |issues: &mut Issues<'_>, key: &str, v: &Option<String>, d| {
        issues.duration(&format!("{base}.{key}"), v.as_deref(), d, false)
    };
    let interval = dur(issues, "interval", &raw.interval, default_interval);
    let window = dur(issues, "window", &raw.window, defaults::SCORING_WINDOW);
    let latency_target = dur(
        issues,
        "latency_target",
        &raw.latency_target,
        defaults::SCORING_LATENCY_TARGET,
    );
    if raw.window.is_some() && raw.interval.is_some() && window < interval {
        issues.error(
            format!("{base}.window"),
            format!(
                "{window:?} is shorter than the interval ({interval:?}): ticks would miss data"
            ),
        );
    }
    let cost_exponent = match raw.cost_exponent {
        None => defaults::SCORING_COST_EXPONENT,
        Some(e) if e.is_finite() && (0.0..=4.0).contains(&e) => e,
        Some(e) => {
            issues.error(
                format!("{base}.cost_exponent"),
                format!("{e} must be between 0 and 4"),
            );
            defaults::SCORING_COST_EXPONENT
        }
    };
    let fraction = |issues: &mut Issues<'_>, key: &str, v, d| match v {
        None => d,
        Some(s) => share(issues, &format!("{base}.{key}"), s),
    };
    let error_ok = fraction(
        issues,
        "error_ok",
        raw.error_ok.as_ref(),
        defaults::SCORING_ERROR_OK,
    );
    let error_max = fraction(
        issues,
        "error_max",
        raw.error_max.as_ref(),
        defaults::SCORING_ERROR_MAX,
    );
    if error_max <= error_ok {
        issues.error(
            format!("{base}.error_max"),
            format!("{error_max} must be above error_ok ({error_ok})"),
        );
    }
    let score = |issues: &mut Issues<'_>, key: &str, v: Option<f64>, d: f64| match v {
        None => d,
        Some(x) if x.is_finite() && (0.0..=1.0).contains(&x) => x,
        Some(x) => {
            issues.error(
                format!("{base}.{key}"),
                format!("{x} must be between 0 and 1"),
            );
            d
        }
    };
    let eject_below = score(
        issues,
        "eject_below",
        raw.eject_below,
        defaults::SCORING_EJECT_BELOW,
    );
    let rearm_above = score(
        issues,
        "rearm_above",
        raw.rearm_above,
        defaults::SCORING_REARM_ABOVE,
    );
    if rearm_above < eject_below {
        issues.error(
            format!("{base}.rearm_above"),
            format!("{rearm_above} must be at least eject_below ({eject_below})"),
        );
    }
    let min_weight = fraction(
        issues,
        "min_weight",
        raw.min_weight.as_ref(),
        defaults::SCORING_MIN_WEIGHT,
    );
    Some(Scoring {
        interval,
        window: window.max(interval),
        latency_target,
        cost_exponent,
        error_ok,
        error_max: error_max.max(error_ok + f64::EPSILON),
        eject_below,
        rearm_above: rearm_above.max(eject_below),
        min_requests: raw
            .min_requests
            .unwrap_or(defaults::SCORING_MIN_REQUESTS)
            .max(1),
        min_weight,
        source,
    })
}

fn prometheus_url(issues: &mut Issues<'_>, path: &str, text: &str) -> (String, String) {
    let fallback = (String::from("invalid.invalid:80"), String::new());
    let shown = super::secret::url_for_display(text);
    let uri: Uri = match text.parse() {
        Ok(u) => u,
        Err(e) => {
            issues.error(path, format!("invalid URL {shown:?}: {e}"));
            return fallback;
        }
    };
    match (uri.scheme(), uri.authority()) {
        (Some(s), Some(a))
            if s == &Scheme::HTTP && !a.as_str().contains('@') && uri.query().is_none() =>
        {
            let port = a.port_u16().unwrap_or(80);
            (
                format!("{}:{port}", a.host()),
                uri.path().trim_end_matches('/').to_string(),
            )
        }
        _ => {
            issues.error(
                path,
                format!("invalid Prometheus URL {shown:?}: expected http://HOST:PORT[/PATH] without credentials or query"),
            );
            fallback
        }
    }
}

/// `{job="x", env!="dev"}` or the same without braces → the matchers
/// without braces.
fn selector(issues: &mut Issues<'_>, path: &str, text: &str) -> String {
    static MATCHER: OnceLock<Regex> = OnceLock::new();
    let re = MATCHER.get_or_init(|| {
        Regex::new(r#"^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$"#)
            .unwrap_or_else(|e| unreachable!("static regex: {e}"))
    });
    let inner = text.trim();
    let inner = inner
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(inner);
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.trim().is_empty()).collect();
    if quoted || parts.iter().any(|p| !re.is_match(p)) {
        issues.error(
            path,
            format!(
                r#"invalid selector {text:?}: expected label matchers such as {{job="switchyard"}}"#
            ),
        );
        return String::new();
    }
    parts.iter().map(|p| p.trim()).collect::<Vec<_>>().join(",")
}
