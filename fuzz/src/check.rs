//! The properties every generated script must have (`generate/`), checked in-process: by
//! `tests/genfuzz.rs` on scripts from seeds, and by the cargo-fuzz target `generate` on scripts
//! from fuzzer bytes. A generated script is valid, so any diagnostic is a failure (of the
//! translator, or of the generator), and so is a layout or a `-p1` dump that reads back to
//! a different `-p1` or `-p2` dump.

use crate::generate::{layout, model::Script};
use crate::pipeline::{self, Input};
use crate::rng::Rng;
use crate::text::{first_difference, shape};
use stp_hwbp::backend::c::{self, Opts};

fn input(text: String, s: &Script) -> Input {
    Input {
        text,
        args: s.args.clone(),
        guru: s.guru,
    }
}

/// A failed check: `kind` stays the same while the script is reduced, `detail` says all.
pub struct Failure {
    pub kind: String,
    pub detail: String,
}

pub fn fail<T>(kind: String, detail: String) -> Result<T, Failure> {
    Err(Failure { kind, detail })
}

/// Checks that `s` goes through passes 1-3 without a diagnostic, and that its wild layout
/// (drawn from `layout_seed`) and its `-p1` dump read back to the same `-p1` and `-p2` dumps;
/// returns its C, for a module named `module`.
pub fn front(s: &Script, layout_seed: u64, module: &str) -> Result<String, Failure> {
    let out = clean("the generated script", &layout::canonical(s), s)?;
    let Some(m) = &out.module else {
        return fail("no module".into(), "pass 2 made no module".into());
    };
    let p1 = stp_hwbp::syntax::print::script(&out.script);
    let p2 = stp_hwbp::ir::print::module(m);

    let wild = layout::wild(s, &mut Rng::seeded(layout_seed));
    same_dumps("the wild layout", &wild, s, &p1, &p2)?;
    same_dumps("the -p1 dump", &p1, s, &p1, &p2)?;

    let opts = Opts {
        script_name: format!("{module}.stp"),
        module_name: module.to_string(),
    };
    Ok(c::emit(m, &out.sm, &opts))
}

/// Passes 1-2 on `text` (with `s`'s arguments), which must say nothing.
fn clean(what: &str, text: &str, s: &Script) -> Result<pipeline::Outcome, Failure> {
    let out = pipeline::run(&input(text.to_string(), s), 2);
    match out.diags.list.first() {
        Some(d) => fail(
            format!("{what} is rejected: {} {}", d.code, shape(&d.message)),
            format!(
                "{what} is rejected:\n{}\n{what}:\n{text}",
                out.sm.render(&out.diags.list)
            ),
        ),
        None => Ok(out),
    }
}

/// `text` passes 1-2 without a diagnostic, and gives the dumps `p1` and `p2`.
fn same_dumps(what: &str, text: &str, s: &Script, p1: &str, p2: &str) -> Result<(), Failure> {
    let out = clean(what, text, s)?;
    let q1 = stp_hwbp::syntax::print::script(&out.script);
    if q1 != p1 {
        return fail(
            format!("{what} parses differently: {}", first_difference(p1, &q1)),
            format!(
                "{what} parses differently.\n{what}:\n{text}\nits -p1:\n{q1}\nthe script's -p1:\n{p1}"
            ),
        );
    }
    let q2 = out
        .module
        .as_ref()
        .map(stp_hwbp::ir::print::module)
        .unwrap_or_default();
    if q2 != p2 {
        return fail(
            format!(
                "{what} elaborates differently: {}",
                first_difference(p2, &q2)
            ),
            format!("{what} elaborates differently.\nits -p2:\n{q2}\nthe script's -p2:\n{p2}"),
        );
    }
    Ok(())
}
