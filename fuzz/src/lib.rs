//! Support for the fuzz targets in `fuzz_targets/`: the pipeline they drive (`pipeline.rs`),
//! the script generator (`generate/`) and the checks of what it writes (`check.rs`).

pub mod check;
pub mod generate;
pub mod pipeline;
pub mod rng;
pub mod text;
