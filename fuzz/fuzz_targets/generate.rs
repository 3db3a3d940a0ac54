//! Valid scripts written by the generator (`generate/`), its choices read from the fuzzer's
//! bytes so that coverage steers them, through the checks of `check.rs`: passes 1-3 without
//! a diagnostic, and the wild layout and the `-p1` dump reading back to the same dumps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stp_hwbp_fuzz::{check, generate, rng::Bytes};

fuzz_target!(|data: &[u8]| {
    let (layout, choices) = data.split_at(data.len().min(8));
    let s = generate::script(&mut Bytes(choices));
    let seed = layout.iter().fold(0u64, |v, &b| v << 8 | u64::from(b));
    if let Err(f) = check::front(&s, seed, "stphwbp_fuzz") {
        panic!(
            "{}\n{}\nscript:\n{}",
            f.kind,
            f.detail,
            generate::layout::canonical(&s)
        );
    }
});
