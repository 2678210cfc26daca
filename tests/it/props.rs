//! Property tests: the config loader, the route matcher, the header
//! rewriter and the plugin header maps over generated input, a few hundred
//! cases each so the suite stays fast. The properties are in
//! `tests/oracle/`, shared with the cargo-fuzz targets in `fuzz/`, which
//! run the same checks for as long as one likes (`bench/fuzz.sh`).

mod config;
mod headers;
mod plugin_maps;
mod routing;

/// Cases per property: enough to cover the generators' alphabets, few
/// enough for a debug build to run them all in a few seconds.
const CASES: u32 = 256;
