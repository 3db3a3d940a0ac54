//! Passes 1 to 3: `backend::c::emit` on every input that elaborates without errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stp_hwbp_fuzz::pipeline;

fuzz_target!(|data: &[u8]| {
    let input = pipeline::decode(data);
    let _ = pipeline::run(&input, 3);
});
