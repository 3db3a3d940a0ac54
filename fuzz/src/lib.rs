//! Support for the fuzz targets in `fuzz_targets/`: see `pipeline.rs`.

pub mod pipeline;
pub mod rng;
