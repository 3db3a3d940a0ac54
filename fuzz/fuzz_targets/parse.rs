//! Pass 1 (`syntax::parse_text`, or `parse_file` with `-g`) on arbitrary bytes, plus the
//! rendering of its diagnostics. The only failure is a panic (or a hang/OOM libFuzzer notices).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stp_hwbp_fuzz::pipeline;

fuzz_target!(|data: &[u8]| {
    let input = pipeline::decode(data);
    let out = pipeline::run(&input, 1);
    if !out.diags.has_errors() {
        // The -p1 dump, as the CLI prints it.
        let _ = stp_hwbp::syntax::print::script(&out.script);
    }
});
