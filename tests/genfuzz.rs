//! The generated-script fuzzer: valid scripts written from a seed by `fuzz/src/generate/`
//! (the whole language of the README: globals, functions, every statement and operator,
//! formats, tapset functions, every probe point family, watchpoints with their sub-probes,
//! `enable`/`disable`, context functions where they are allowed, conditions, preprocessor
//! conditionals), each checked three ways:
//! - (a) passes 1-3 take it without an error or a warning: the generator writes only valid
//!   scripts, so any diagnostic is a translator bug, or a generator bug to fix;
//! - (b) it reads back through `-p1`: its canonical text (every compound expression in
//!   parentheses, one statement a line) and its wild text (parentheses only where precedence
//!   needs them, random layout and comments, `;` dropped wherever the grammar allows) give the
//!   same `-p1` and `-p2` dumps, and the `-p1` dump parses again to itself and the same `-p2`;
//! - (c) its C builds with kbuild and `-Werror` against every installed kernel tree, several
//!   modules to one kbuild run (`stp_hwbp::kbuild::build_batch`, pass 4's own code).
//!
//! Trials: `gen::SEED` checks (a) and (b) on one script; `front::FIRST+N` on N more scripts;
//! `kbuild::KVER::gen_FIRST+N` checks (c) on a batch (named `kbuild::` so nextest runs it in
//! the heavy group). Knobs, all optional: `STP_GENFUZZ_SEED` (the first seed; scripts take the
//! seeds after it), `STP_GENFUZZ_SCRIPTS` (scripts given `gen::` trials and built, default 8),
//! `STP_GENFUZZ_FRONT` (further scripts checked in `front::`, default 1000),
//! `STP_GENFUZZ_BATCH` (modules per kbuild run, default 8), `STP_GENFUZZ_REDUCE_SECS` (time
//! spent reducing one kbuild failure, default 60), `STP_GENFUZZ_DEFINES` (`NAME=VALUE ...`: the
//! -D limits of every batch; by default one batch in three gets some at the ends of their
//! ranges), `STP_GENFUZZ_DUMP=DIR` (`gen::` trials write each script, its arguments, its
//! flags (`-g`) and its C there). A failure prints the seed, the command that replays it, and the script reduced as
//! far as the time allows, in its canonical layout.

#[path = "../fuzz/src/check.rs"]
mod check;
#[allow(dead_code)]
mod common;
#[path = "common/fuzzing.rs"]
mod fuzzing;
#[path = "../fuzz/src/generate/mod.rs"]
#[allow(dead_code)]
mod generate;
#[path = "../fuzz/src/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;
#[path = "../fuzz/src/rng.rs"]
#[allow(dead_code)]
mod rng;
#[path = "../fuzz/src/text.rs"]
mod text;

use check::{Failure, fail};
use common::{KBUILD_SLOTS, kernel_trees};
use generate::{layout, model::Script, reduce};
use libtest_mimic::{Arguments, Failed, Trial};
use rng::{Rng, Source};
use std::time::{Duration, Instant};
use text::shape;

const SEED: u64 = 0x5747_2d66_757a_7a00;
const SCRIPTS: u64 = 8;
const FRONT: u64 = 1000;
const BATCH: u64 = 8;
const REDUCE_SECS: u64 = 60;
/// Distinct front-end failures reduced and reported by one `front::` trial.
const MAX_REPORTED: usize = 5;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(default)
}

/// `n` seeds from `first` (wrapping, so that any first seed works).
fn seeds(first: u64, n: u64) -> impl Iterator<Item = u64> {
    (0..n).map(move |i| first.wrapping_add(i))
}

fn script(seed: u64) -> Script {
    generate::script(&mut Rng::seeded(seed))
}

/// The seed of the wild layout: its own stream, so that a reduced script is laid out from the
/// same choices.
fn layout_seed(seed: u64) -> u64 {
    seed.rotate_left(29) ^ 0x1a_0a7
}

fn module_name(seed: u64) -> String {
    format!("stphwbp_gen_{seed:016x}")
}

/// Checks (a) and (b) on one script; returns its C.
fn front(s: &Script, seed: u64) -> Result<String, Failure> {
    match fuzzing::quietly(|| check::front(s, layout_seed(seed), &module_name(seed))) {
        Ok(r) => r,
        Err(p) => fail(
            format!("panic at {}", p.at),
            format!("panic: {}", p.message),
        ),
    }
}

/// The first error kbuild reports, without paths and positions, folded to its shape.
fn kbuild_kind(messages: &str) -> String {
    let line = messages
        .lines()
        .find(|l| l.contains("error:"))
        .or_else(|| messages.lines().next())
        .unwrap_or("");
    let msg = line.split("error:").last().unwrap_or(line);
    format!("kbuild: {}", shape(msg))
}

/// The `-D` limits of the batch that starts at seed `first`: `STP_GENFUZZ_DEFINES` if set
/// (`NAME=VALUE ...`), else none for two batches in three and, for the third, some limits at
/// one end of their ranges, where the C's buffers and bounds are smallest or largest.
fn limits(first: u64) -> Vec<(String, String)> {
    if let Ok(v) = std::env::var("STP_GENFUZZ_DEFINES") {
        return v
            .split_whitespace()
            .map(|d| {
                let (k, v) = d.split_once('=').unwrap_or((d, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
    }
    let mut r = Rng::seeded(first ^ 0x0d3f_16e5);
    if r.below(3) != 0 {
        return vec![];
    }
    let mut v = vec![];
    for l in stp_hwbp::limits::LIMITS {
        if r.chance(40) {
            v.push((l.name.to_string(), [l.min, l.max][r.below(2)].to_string()));
        }
    }
    // BUFSIZE and PRINTBUF must agree (a power of two, at most a quarter): drop them if not.
    if stp_hwbp::limits::defines(&v, false).is_err() {
        v.retain(|(k, _)| k != "BUFSIZE" && k != "PRINTBUF");
    }
    v
}

/// The command that replays `seed`; for a kbuild failure, with the `-D` limits it was built
/// with (none included: a lone seed might draw some).
fn replay(seed: u64, limits: Option<&[(String, String)]>) -> String {
    let defines = match limits {
        None => String::new(),
        Some(ds) => format!(
            "STP_GENFUZZ_DEFINES='{}' ",
            ds.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    format!(
        "{defines}STP_GENFUZZ_SEED={seed:#x} STP_GENFUZZ_SCRIPTS=1 STP_GENFUZZ_FRONT=0 cargo test --test genfuzz"
    )
}

/// The options a script needs, as a golden test's NAME.flags holds them.
fn flags(s: &Script) -> &'static str {
    if s.guru { "-g\n" } else { "" }
}

/// Writes the whole failing script (both layouts) where the report can point to it.
fn keep(seed: u64, s: &Script) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("genfuzz");
    let base = dir.join(format!("{seed:#x}"));
    let wild = layout::wild(s, &mut Rng::seeded(layout_seed(seed)));
    let written = std::fs::create_dir_all(&dir).is_ok()
        && std::fs::write(base.with_extension("stp"), layout::canonical(s)).is_ok()
        && std::fs::write(base.with_extension("wild.stp"), wild).is_ok()
        && std::fs::write(base.with_extension("args"), s.args.join("\n")).is_ok()
        && std::fs::write(base.with_extension("flags"), flags(s)).is_ok();
    if written {
        format!(
            "the whole script: {}.{{stp,wild.stp,args,flags}}\n",
            base.display()
        )
    } else {
        String::new()
    }
}

fn report(
    seed: u64,
    f: &Failure,
    whole: &Script,
    reduced: &Script,
    limits: Option<&[(String, String)]>,
) -> String {
    let mut args = if reduced.args.is_empty() {
        String::new()
    } else {
        format!("; arguments {:?}", reduced.args)
    };
    if reduced.guru {
        args += "; guru mode, -g";
    }
    format!(
        "seed {seed:#x}: {}\n{}\nreplay: {}\n{}script (reduced, canonical layout{args}):\n{}",
        f.kind,
        f.detail,
        replay(seed, limits),
        keep(seed, whole),
        layout::canonical(reduced)
    )
}

fn gen_trial(seed: u64) -> Result<(), Failed> {
    let s = script(seed);
    let r = front(&s, seed);
    if let Some(dir) = std::env::var_os("STP_GENFUZZ_DUMP") {
        let base = std::path::Path::new(&dir).join(format!("{seed:#x}"));
        let c = r.as_ref().map(|c| c.as_str()).unwrap_or("");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(base.with_extension("stp"), layout::canonical(&s)))
            .and_then(|()| std::fs::write(base.with_extension("args"), s.args.join("\n")))
            .and_then(|()| std::fs::write(base.with_extension("flags"), flags(&s)))
            .and_then(|()| std::fs::write(base.with_extension("c"), c))
            .map_err(|e| format!("STP_GENFUZZ_DUMP: {e}"))?;
    }
    let Err(f) = r else {
        return Ok(());
    };
    let small = reduce::reduce(&s, usize::MAX, &mut |c| {
        front(c, seed).is_err_and(|g| g.kind == f.kind)
    });
    let detail = front(&small, seed).err().unwrap_or(f);
    Err(report(seed, &detail, &s, &small, None).into())
}

fn front_trial(first: u64, n: u64) -> Result<(), Failed> {
    let t0 = Instant::now();
    let mut failures: Vec<(u64, Script, Failure)> = vec![];
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for seed in seeds(first, n) {
        let s = script(seed);
        if let Err(f) = front(&s, seed) {
            let seen = kinds.entry(f.kind.clone()).or_default();
            *seen += 1;
            if *seen == 1 && failures.len() < MAX_REPORTED {
                failures.push((seed, s, f));
            }
        }
    }
    eprintln!(
        "genfuzz: {n} scripts through passes 1-3 in {:.1} s ({:.1} ms a script)",
        t0.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64() * 1000.0 / n.max(1) as f64
    );
    if failures.is_empty() {
        return Ok(());
    }
    let mut out = format!(
        "{} of {n} scripts failed, in {} way(s):\n",
        kinds.values().sum::<usize>(),
        kinds.len()
    );
    for (k, c) in &kinds {
        out += &format!("  {c:>5}  {k}\n");
    }
    for (seed, s, f) in failures {
        let small = reduce::reduce(&s, usize::MAX, &mut |c| {
            front(c, seed).is_err_and(|g| g.kind == f.kind)
        });
        let detail = front(&small, seed).err().unwrap_or(f);
        out += &format!("\n== {}\n", report(seed, &detail, &s, &small, None));
    }
    Err(out.into())
}

/// Builds the scripts of seeds `first..first + n` against `kver` in one kbuild run. A module
/// whose C does not compile is built again alone for its own messages, and reduced; if any
/// failed, the others are built again without it, since modpost then linked none of them.
fn kbuild_trial(kver: &str, first: u64, n: u64) -> Result<(), Failed> {
    let tree = stp_hwbp::kbuild::tree::find(Some(kver), None)?;
    let limits = limits(first);
    let defines = stp_hwbp::limits::defines(&limits, false)?;
    if !defines.is_empty() {
        eprintln!("genfuzz: built with -D {}", defines.join(" -D "));
    }
    let mut cases = vec![];
    let mut refused = vec![];
    for seed in seeds(first, n) {
        let s = script(seed);
        match front(&s, seed) {
            Ok(c) => cases.push((seed, s, c)),
            Err(_) => refused.push(format!("{seed:#x}")),
        }
    }
    if !refused.is_empty() {
        // Their gen:: trials say why.
        eprintln!(
            "genfuzz: not built, passes 1-3 fail: {}",
            refused.join(", ")
        );
    }
    let build_all = |cases: &[&(u64, Script, String)]| {
        let names: Vec<String> = cases.iter().map(|(seed, ..)| module_name(*seed)).collect();
        let sources: Vec<(&str, &str)> = names
            .iter()
            .zip(cases)
            .map(|(m, (.., c))| (m.as_str(), c.as_str()))
            .collect();
        let _slot = KBUILD_SLOTS.take();
        let t0 = Instant::now();
        let b = stp_hwbp::kbuild::build_batch(&sources, &tree, &defines);
        eprintln!(
            "genfuzz: {} modules against {kver} in one kbuild run: {:.1} s",
            sources.len(),
            t0.elapsed().as_secs_f64()
        );
        b
    };
    let all: Vec<&(u64, Script, String)> = cases.iter().collect();
    let batch = build_all(&all)?;
    if batch.modules.iter().all(|m| m.ko.is_some()) {
        return Ok(());
    }
    let broken: Vec<usize> = (0..cases.len())
        .filter(|&i| !batch.modules[i].compiled)
        .collect();
    let mut out = String::new();
    if broken.is_empty() {
        out += &format!(
            "every module compiled against {kver}, but kbuild made no .ko:\n{}\n",
            batch.messages
        );
    } else {
        let rest: Vec<&(u64, Script, String)> = (0..cases.len())
            .filter(|i| !broken.contains(i))
            .map(|i| &cases[i])
            .collect();
        let again = if rest.is_empty() {
            None
        } else {
            Some(build_all(&rest)?)
        };
        let unlinked: Vec<String> = again
            .iter()
            .flat_map(|b| b.modules.iter())
            .filter(|m| m.ko.is_none())
            .map(|m| m.name.clone())
            .collect();
        out += &format!(
            "{} of {} modules do not compile against {kver}{}\n",
            broken.len(),
            cases.len(),
            if unlinked.is_empty() {
                String::new()
            } else {
                format!("; without them, these still fail: {unlinked:?}")
            }
        );
    }
    let deadline =
        Instant::now() + Duration::from_secs(env_or("STP_GENFUZZ_REDUCE_SECS", REDUCE_SECS));
    for &i in broken.iter().take(2) {
        let (seed, s, c) = &cases[i];
        let build = |c: &str| -> Result<(), Failure> {
            let _slot = KBUILD_SLOTS.take();
            match stp_hwbp::kbuild::build(c, &module_name(*seed), &tree, &defines, None) {
                Ok(_) => Ok(()),
                Err(e) => fail(kbuild_kind(&e.to_string()), e.to_string()),
            }
        };
        let Err(f) = build(c) else {
            out += &format!(
                "\n== seed {seed:#x} fails only beside the others:\n{}\n",
                batch.messages
            );
            continue;
        };
        let small = reduce::reduce(s, usize::MAX, &mut |cand| {
            Instant::now() < deadline
                && front(cand, *seed).is_ok_and(|c| build(&c).is_err_and(|g| g.kind == f.kind))
        });
        let detail = front(&small, *seed)
            .ok()
            .and_then(|c| build(&c).err())
            .unwrap_or(f);
        out += &format!(
            "\n== {}\n",
            report(*seed, &detail, s, &small, Some(&limits))
        );
    }
    Err(out.into())
}

fn main() {
    let args = Arguments::from_args();
    let first = env_or("STP_GENFUZZ_SEED", SEED);
    let n = env_or("STP_GENFUZZ_SCRIPTS", SCRIPTS);
    let more = env_or("STP_GENFUZZ_FRONT", FRONT);
    let batch = env_or("STP_GENFUZZ_BATCH", BATCH).max(1);
    let mut trials = vec![];
    for seed in seeds(first, n) {
        trials.push(Trial::test(format!("gen::{seed:#x}"), move || {
            gen_trial(seed)
        }));
    }
    if more > 0 {
        let from = first.wrapping_add(n);
        trials.push(Trial::test(format!("front::{from:#x}+{more}"), move || {
            front_trial(from, more)
        }));
    }
    for kver in kernel_trees() {
        for at in (0..n).step_by(batch as usize) {
            let (k, from, count) = (kver.clone(), first.wrapping_add(at), batch.min(n - at));
            trials.push(Trial::test(
                format!("kbuild::{kver}::gen_{from:#x}+{count}"),
                move || kbuild_trial(&k, from, count),
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
