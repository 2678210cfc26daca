//! Config loading: a config that loads once loads the same from its own
//! re-serialisation (`RawConfig` → YAML → `load_str`).

use switchyard::config::{load_str, Config, RawConfig};

/// `text` loaded as `config`; re-serialising its raw form must give a
/// config that loads, to the same source and the same snapshot.
pub fn check_reserialisation(text: &str, config: &Config) {
    let raw: RawConfig = match serde_yaml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => panic!("a loaded config does not parse as RawConfig: {e}\n{text}"),
    };
    let again = match serde_yaml::to_string(&raw) {
        Ok(s) => s,
        Err(e) => panic!("RawConfig does not serialise: {e}\n{text}"),
    };
    let reloaded = match load_str(&again) {
        Ok(c) => c,
        Err(e) => panic!("re-serialised config does not load: {e}\n--- original\n{text}\n--- re-serialised\n{again}"),
    };
    assert_eq!(
        config.source, reloaded.source,
        "source differs after re-serialisation\n--- original\n{text}\n--- re-serialised\n{again}"
    );
    assert_eq!(
        snapshot(config),
        snapshot(&reloaded),
        "snapshot differs after re-serialisation\n--- original\n{text}\n--- re-serialised\n{again}"
    );
}

/// Everything in a `Config` that does not depend on where in the text a
/// thing was written (warnings without positions, in any order; the route
/// table as its routes, not its hash-map index).
fn snapshot(c: &Config) -> String {
    // Warnings come in text order, which re-serialisation may change.
    let mut warnings: Vec<(&str, &str)> = c
        .warnings
        .iter()
        .map(|w| (w.path.as_str(), w.message.as_str()))
        .collect();
    warnings.sort_unstable();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        c.runtime,
        c.admin,
        c.listeners,
        c.routes.routes(),
        c.pools,
        c.plugins,
        c.reload,
        c.access_log,
        warnings
    )
}

/// Loads `text` both ways (`load_str`, and `load_str_in` with a
/// directory), which must agree on whether it is valid, and checks the
/// re-serialisation of a valid one. Returns whether it loaded.
pub fn check_load(text: &str) -> bool {
    let plain = load_str(text);
    let based =
        switchyard::config::load_str_in(text, Some(std::path::Path::new("/etc/switchyard")));
    assert_eq!(
        plain.is_ok(),
        based.is_ok(),
        "a base directory changed whether the config is valid\n{text}"
    );
    match plain {
        Ok(config) => {
            check_reserialisation(text, &config);
            true
        }
        Err(e) => {
            assert!(!e.issues().is_empty(), "an error with no issue\n{text}");
            false
        }
    }
}
