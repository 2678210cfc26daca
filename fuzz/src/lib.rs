//! Input generators for the fuzz targets. The properties they check live in
//! `tests/oracle/` and are shared with the property tests that run in
//! `cargo test` (`tests/it/props/`), so a crash here and a failing property
//! test there mean the same thing.

#[path = "../../tests/oracle/mod.rs"]
pub mod oracle;

pub mod gen_config;
pub mod gen_http;
