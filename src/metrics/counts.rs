//! Cumulative request counters read back for `GET /status`, which turns
//! deltas between two reads into rates.
//!
//! Reads gathered samples only: reading never creates a series.

use prometheus::core::Collector;

use super::Metrics;

/// Requests served for one route, over every listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteCount {
    /// Responses sent, any status.
    pub requests: u64,
    /// Responses with a 5xx status (the proxy's own included).
    pub errors: u64,
}

impl Metrics {
    /// The cumulative count of `route` (summed over listeners); `""` for
    /// requests no route matched.
    pub fn route_count(&self, route: &str) -> RouteCount {
        let mut out = RouteCount::default();
        for family in self.http_requests.collect() {
            for m in family.get_metric() {
                let mut of_route = false;
                let mut error = false;
                for l in m.get_label() {
                    match l.name() {
                        "route" => of_route = l.value() == route,
                        "code_class" => error = l.value() == "5xx",
                        _ => {}
                    }
                }
                if !of_route {
                    continue;
                }
                // Counters hold integers; the float is exact below 2^53.
                let n = m.get_counter().get_value() as u64;
                out.requests += n;
                if error {
                    out.errors += n;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_listeners_and_counts_5xx_as_errors() {
        let m = Metrics::new().expect("metrics register");
        let web = m.route("web", "pay");
        let other = m.route("admin-ish", "pay");
        web.record(200, 0.01);
        web.record(502, 0.01);
        other.record(404, 0.01);
        m.route("web", "else").record(500, 0.01);
        assert_eq!(
            m.route_count("pay"),
            RouteCount {
                requests: 3,
                errors: 1
            }
        );
        assert_eq!(m.route_count("none"), RouteCount::default());
    }
}
