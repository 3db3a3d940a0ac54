//! The front end as the fuzzers drive it: passes 1-3 in-process, wired the way `driver::Session`
//! wires them for the CLI, but with no kernel tree (kernel conditionals take their "no tree"
//! branch), so a run depends on nothing but its input. Shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) and the deterministic smoke fuzzer (`tests/fuzz_smoke.rs`, which
//! includes this file with `#[path]`), so both exercise exactly the same wiring.

use stp_hwbp::backend::c::{self, Opts};
use stp_hwbp::diag::{Diags, Origin, SourceMap};
use stp_hwbp::ir::Module;
use stp_hwbp::sema;
use stp_hwbp::syntax::{self, ast, preprocess::NoKernel};

/// One fuzz input decoded: script text, script arguments, `-g`.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub text: String,
    pub args: Vec<String>,
    pub guru: bool,
}

/// Raw bytes to an `Input`. Everything before the first 0xFF byte is the script; the rest,
/// split at 0xFF, are the script's arguments, where an argument `-g` turns on guru mode instead.
/// 0xFF never occurs in UTF-8, and lossy decoding maps it to U+FFFD like any other invalid
/// byte, so using it as the separator hides no script text from the fuzzer.
pub fn decode(data: &[u8]) -> Input {
    let mut parts = data.split(|&b| b == 0xFF);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mut input = Input {
        text,
        ..Input::default()
    };
    for a in parts {
        let a = String::from_utf8_lossy(a).into_owned();
        if a == "-g" {
            input.guru = true;
        } else {
            input.args.push(a);
        }
    }
    input
}

/// The inverse of `decode`, for writing seeds (script, then its arguments, then `-g`).
pub fn encode(text: &str, args: &[String], guru: bool) -> Vec<u8> {
    let mut out = text.as_bytes().to_vec();
    for a in args {
        out.push(0xFF);
        out.extend_from_slice(a.as_bytes());
    }
    if guru {
        out.push(0xFF);
        out.extend_from_slice(b"-g");
    }
    out
}

/// Everything one run produced, up to the last pass that ran.
pub struct Outcome {
    pub sm: SourceMap,
    pub diags: Diags,
    pub script: ast::Script,
    pub module: Option<Module>,
    pub c: Option<String>,
}

/// Pass 1 as the CLI runs it on a script, but with the kernel-less environment.
pub fn parse(input: &Input) -> (ast::Script, Diags, SourceMap) {
    if !input.guru {
        // The public entry point itself, so that it is fuzzed as it stands.
        return syntax::parse_text(&input.text, &input.args);
    }
    let mut sm = SourceMap::default();
    let f = sm.add("<input>", input.text.as_str(), Origin::Script);
    let mut diags = Diags::default();
    let mut env = NoKernel {
        args: input.args.clone(),
        guru: true,
    };
    let lib = syntax::macros::Library::default();
    let s = syntax::parse_file(&sm, f, &mut env, &lib, &mut diags);
    (s, diags, sm)
}

/// Passes 1 to `last_pass` (1, 2 or 3), stopping after the first pass with errors as the CLI
/// does. Diagnostics are rendered at the end, as the CLI always does, since a span that does
/// not fit its file panics only there.
pub fn run(input: &Input, last_pass: u8) -> Outcome {
    let (script, diags, sm) = parse(input);
    let mut out = Outcome {
        sm,
        diags,
        script,
        module: None,
        c: None,
    };
    if last_pass >= 2 && !out.diags.has_errors() {
        // As `Session::elaborate`: the tapsets join the script's source map, parsed in guru
        // mode with no arguments.
        let mut tapsets = vec![];
        for (name, text) in sema::tapsets::EMBEDDED {
            let f = out.sm.add(*name, *text, Origin::Tapset);
            let mut env = NoKernel {
                args: vec![],
                guru: true,
            };
            let lib = syntax::macros::Library::default();
            tapsets.push(syntax::parse_file(
                &out.sm,
                f,
                &mut env,
                &lib,
                &mut out.diags,
            ));
        }
        let m = sema::elaborate(
            out.script.clone(),
            &tapsets,
            stp_hwbp::target::Arch::host(),
            &mut out.diags,
        );
        out.module = Some(m);
    }
    if last_pass >= 3 && !out.diags.has_errors() {
        if let Some(m) = &out.module {
            let opts = Opts {
                module_name: "stphwbp_fuzz".into(),
                script_name: "fuzz.stp".into(),
            };
            out.c = Some(c::emit(m, &out.sm, &opts));
        }
    }
    let _ = out.sm.render(&out.diags.list);
    out
}

/// `text` with the arguments and mode of `like`, for reducing a failing input.
pub fn decode_with(text: &[u8], like: &Input) -> Input {
    Input {
        text: String::from_utf8_lossy(text).into_owned(),
        args: like.args.clone(),
        guru: like.guru,
    }
}
