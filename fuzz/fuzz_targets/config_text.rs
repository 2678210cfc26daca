//! Arbitrary bytes as config text: `load_str` and `load_str_in` return `Ok`
//! or `Err` (never panic or hang) whatever the YAML, agree with each other,
//! and a config that loads loads the same from its own re-serialisation.
//!
//! Seeds: `fuzz/seeds/config_text/` (the shipped `config/*.yaml`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        switchyard_fuzz::oracle::config::check_load(text);
    }
});
