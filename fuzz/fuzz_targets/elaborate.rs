//! Passes 1 and 2 (tapsets parsed as `Session::elaborate` parses them, then `sema::elaborate`)
//! on arbitrary bytes, plus the -p2 dump and the rendering of diagnostics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stp_hwbp_fuzz::pipeline;

fuzz_target!(|data: &[u8]| {
    let input = pipeline::decode(data);
    let out = pipeline::run(&input, 2);
    if let Some(m) = &out.module {
        if !out.diags.has_errors() {
            let _ = stp_hwbp::ir::print::module(m);
        }
    }
});
