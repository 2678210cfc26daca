//! Structure-aware config fuzzing: a shipped example config with a few
//! edits chosen by the input (see `gen_config`), through the same checks as
//! `config_text`: no panic, `load_str` and `load_str_in` agree, and a
//! config that loads re-serialises to the same snapshot.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use switchyard_fuzz::{gen_config, oracle};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(text) = gen_config::mutated_config(&mut u) {
        oracle::config::check_load(&text);
    }
});
