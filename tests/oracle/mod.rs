//! Properties shared by the property tests (`tests/it/props/`) and the
//! fuzz targets (`fuzz/`): each `check_*` function takes an input however it
//! was generated and panics, with the input in the message, when Switchyard
//! breaks a property. Reference behaviour here is written from
//! `docs/CONFIG.md`, not copied from `src/`.

pub mod config;
pub mod headers;
pub mod paths;
pub mod plugin_maps;
pub mod routes;
