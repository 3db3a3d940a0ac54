//! A deterministic smoke fuzzer that runs with the other tests: the golden scripts, mutated by a
//! fixed-seed xorshift generator (byte changes, token deletions, duplications and insertions,
//! truncations, splices between scripts), go through passes 1-3 in-process through the same
//! wiring as the cargo-fuzz targets (`fuzz/src/pipeline.rs`). Any panic fails the test, as do
//! broken properties:
//! - the `-p1` dump of an error-free parse re-parses without errors to the same dump;
//! - the re-parsed dump elaborates to the same `-p2` dump as the original;
//! - pass 3 is deterministic.
//!
//! Failures are reduced (greedy line and byte deletion) and printed as Rust string literals,
//! ready for a golden file or a unit test. The real fuzzing is `fuzz/` (see fuzz/README.md).

#[path = "common/fuzzing.rs"]
mod fuzzing;
#[path = "../fuzz/src/pipeline.rs"]
#[allow(dead_code)]
mod pipeline;
#[path = "../fuzz/src/rng.rs"]
#[allow(dead_code)]
mod rng;
#[path = "../fuzz/src/text.rs"]
#[allow(dead_code)]
mod text;

use pipeline::Input;
use rng::{Rng, Source};
use std::path::Path;
use text::first_difference;

/// Mutants tried per run: a few seconds in a debug build. `STP_FUZZ_ITERATIONS` and
/// `STP_FUZZ_SEED` override these for a longer or different run by hand.
const ITERATIONS: usize = 40000;
const SEED: u64 = 0x5eed_f00d_cafe_d00d;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
/// At most this many distinct failures are reduced and reported.
const MAX_REPORTED: usize = 8;

/// Tokens worth inserting: the language's keywords, operators and odd literals.
const DICT: &[&str] = &[
    "probe",
    "function",
    "global",
    "if",
    "else",
    "while",
    "for",
    "foreach",
    "in",
    "delete",
    "next",
    "break",
    "continue",
    "return",
    "try",
    "catch",
    "limit",
    "private",
    "long",
    "string",
    "begin",
    "end",
    "timer.ms(1)",
    "kernel.data(0x1000).write",
    "kernel.data(\"pid_max\").rw",
    "%(",
    "%?",
    "%:",
    "%)",
    "%{",
    "%}",
    "kernel_v",
    "kernel_vr",
    "CONFIG_SMP",
    "arch",
    "guru_mode",
    "$1",
    "$2",
    "@1",
    "@2",
    "$#",
    "@#",
    "$var",
    "@defined",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ":",
    "?",
    "=",
    "+=",
    "<<<",
    "++",
    "--",
    "!",
    "~",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<<",
    ">>",
    "&&",
    "||",
    "==",
    "!=",
    "<=",
    ">=",
    "<",
    ">",
    "&",
    "|",
    "^",
    ".",
    ".=",
    "\"",
    "\"%d\\n\"",
    "\"%s\"",
    "\"\\x\"",
    "\"\\0\"",
    "0",
    "1",
    "-1",
    "0x",
    "0xffffffffffffffff",
    "9223372036854775808",
    "077",
    "08",
    "/*",
    "*/",
    "//",
    "#",
    "\n",
    " ",
    "\t",
    "println",
    "printf",
    "sprintf",
    "print",
    "exit()",
    "data_addr()",
    "strlen",
    "substr",
    "x",
    "a[1]",
    "a[1,\"k\"]",
    "@count",
    "@sum",
    "+",
    "-",
    "\u{e9}",
    "\u{fffd}",
];

/// Bytes a changed byte often becomes: the language's punctuation, digits and letters that
/// matter in numbers.
const NEAR: &[u8] = b" \n\"'\\(){}[];,.%$@#=+-*/<>!&|^~?:0123456789abcdefxXgl_";

/// A golden script and its side files, as the golden harness runs it.
struct Seed {
    name: String,
    text: Vec<u8>,
    args: Vec<String>,
    guru: bool,
}

fn seeds() -> Vec<Seed> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".stp"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text =
                std::fs::read(dir.join(format!("{name}.stp"))).expect("read a golden script");
            let args = std::fs::read_to_string(dir.join(format!("{name}.args")))
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default();
            let guru = std::fs::read_to_string(dir.join(format!("{name}.flags")))
                .is_ok_and(|s| s.split_whitespace().any(|f| f == "-g"));
            Seed {
                name,
                text,
                args,
                guru,
            }
        })
        .collect()
}

/// Byte offsets where rough tokens start: runs of identifier characters, runs of spaces, or
/// single other bytes. Rough is enough: mutations only need plausible cut points.
fn token_starts(s: &[u8]) -> Vec<usize> {
    let class = |b: u8| {
        if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            0
        } else if b.is_ascii_whitespace() {
            1
        } else {
            2
        }
    };
    let mut v = vec![];
    for (i, &b) in s.iter().enumerate() {
        if i == 0 || class(b) == 2 || class(b) != class(s[i - 1]) {
            v.push(i);
        }
    }
    v.push(s.len());
    v
}

/// A random rough token `start..end` of `s` (which must not be empty).
fn some_token(rng: &mut Rng, s: &[u8]) -> (usize, usize) {
    let t = token_starts(s);
    let i = rng.below(t.len() - 1);
    (t[i], t[i + 1])
}

fn mutate_once(rng: &mut Rng, s: &mut Vec<u8>, seeds: &[Seed]) {
    if s.is_empty() {
        s.extend_from_slice(DICT[rng.below(DICT.len())].as_bytes());
        return;
    }
    match rng.below(9) {
        // Change one byte: to a random byte, or to a nearby ASCII one.
        0 => {
            let i = rng.below(s.len());
            s[i] = if rng.chance(30) {
                rng.next_u64() as u8
            } else {
                NEAR[rng.below(NEAR.len())]
            };
        }
        // Flip one bit.
        1 => {
            let i = rng.below(s.len());
            s[i] ^= 1 << rng.below(8);
        }
        // Delete a run of tokens.
        2 => {
            let (a, _) = some_token(rng, s);
            let (_, b) = some_token(rng, &s[a..]);
            s.drain(a..a + b);
        }
        // Duplicate a token (or a run of them) in place.
        3 | 4 => {
            let (a, b) = some_token(rng, s);
            let extra = if rng.chance(30) { rng.below(40) } else { 0 };
            let b = (b + extra).min(s.len());
            let tok = s[a..b].to_vec();
            let at = if rng.chance(50) {
                b
            } else {
                rng.below(s.len() + 1)
            };
            s.splice(at..at, tok);
        }
        // Insert a dictionary token at a token boundary.
        5 | 6 => {
            let t = token_starts(s);
            let at = t[rng.below(t.len())];
            let mut word = DICT[rng.below(DICT.len())].as_bytes().to_vec();
            if rng.chance(50) {
                word.insert(0, b' ');
                word.push(b' ');
            }
            s.splice(at..at, word);
        }
        // Truncate.
        7 => {
            let at = rng.below(s.len() + 1);
            s.truncate(at);
        }
        // Splice: this script's head with another one's tail.
        _ => {
            let other = &seeds[rng.below(seeds.len())].text;
            let at = rng.below(s.len() + 1);
            let from = rng.below(other.len() + 1);
            s.truncate(at);
            s.extend_from_slice(&other[from..]);
        }
    }
}

/// A failure: what it is (`kind`: the panic's location or the property's name, kept while
/// reducing), a finer key to tell distinct failures of one kind apart, and the details.
struct Failure {
    kind: String,
    fine: String,
    text: String,
}

/// The properties one test checks beyond "no panic".
#[derive(Clone, Copy, PartialEq)]
enum Props {
    /// Pass 3 output is deterministic.
    NoPanic,
    /// The -p1 dump round trip (and the -p2 dump of the round trip).
    RoundTrip,
}

/// Checks one input.
fn check(input: &Input, props: Props) -> Result<(), Failure> {
    match fuzzing::quietly(|| check_inner(input, props)) {
        Ok(r) => r,
        Err(p) => Err(Failure {
            kind: format!("panic at {}", p.at),
            fine: p.at,
            text: format!("panic: {}", p.message),
        }),
    }
}

fn property(name: &str, fine: String, text: String) -> Result<(), Failure> {
    Err(Failure {
        kind: format!("property: {name}"),
        fine: format!("{name}: {fine}"),
        text: format!("property: {name}\n{text}"),
    })
}

fn check_inner(input: &Input, props: Props) -> Result<(), Failure> {
    let out = pipeline::run(input, 3);
    if props == Props::NoPanic {
        if let Some(c) = &out.c {
            if pipeline::run(input, 3).c.as_ref() != Some(c) {
                return property("pass 3 is deterministic", String::new(), String::new());
            }
        }
        return Ok(());
    }
    if out.module.is_none() {
        // Pass 1 found errors.
        return Ok(());
    }
    let printed = stp_hwbp::syntax::print::script(&out.script);
    let again = Input {
        text: printed.clone(),
        ..input.clone()
    };
    let out2 = pipeline::run(&again, 2);
    if out2.module.is_none() {
        let rendered = out2.sm.render(&out2.diags.list);
        let first = rendered.lines().next().unwrap_or("").to_string();
        return property(
            "the -p1 dump parses again",
            first,
            format!("-p1 dump:\n{printed}\n{rendered}"),
        );
    }
    let reprinted = stp_hwbp::syntax::print::script(&out2.script);
    if reprinted != printed {
        return property(
            "the -p1 dump parses again to the same dump",
            first_difference(&printed, &reprinted),
            format!("-p1 dump:\n{printed}\n-p1 dump of that:\n{reprinted}"),
        );
    }
    // The dump means what the script means: the same -p2 dump (it holds no spans).
    let (e1, e2) = (out.diags.has_errors(), out2.diags.has_errors());
    if e1 != e2 {
        return property(
            "the -p1 dump elaborates as the script does",
            format!("errors {e1} / {e2}"),
            format!(
                "-p1 dump:\n{printed}\nscript diagnostics:\n{}\ndump diagnostics:\n{}",
                out.sm.render(&out.diags.list),
                out2.sm.render(&out2.diags.list)
            ),
        );
    }
    if let (Some(m1), Some(m2), false) = (&out.module, &out2.module, e1) {
        let (a, b) = (
            stp_hwbp::ir::print::module(m1),
            stp_hwbp::ir::print::module(m2),
        );
        if a != b {
            return property(
                "the -p1 dump elaborates as the script does",
                first_difference(&a, &b),
                format!("-p1 dump:\n{printed}\n-p2 of the script:\n{a}\n-p2 of the dump:\n{b}"),
            );
        }
    }
    Ok(())
}

/// Greedy reduction: drop lines, then bytes, while a failure of the same kind persists.
fn reduce(input: &Input, kind: &str, props: Props) -> Input {
    let fails =
        |t: &[u8]| check(&pipeline::decode_with(t, input), props).is_err_and(|f| f.kind == kind);
    let mut cur = input.text.as_bytes().to_vec();
    let mut budget = 4000usize;
    for unit in [0usize, 16, 4, 1] {
        let mut i = 0;
        while i < cur.len() && budget > 0 {
            budget -= 1;
            let end = if unit == 0 {
                cur[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(cur.len(), |p| i + p + 1)
            } else {
                (i + unit).min(cur.len())
            };
            let mut cand = cur.clone();
            cand.drain(i..end);
            if fails(&cand) {
                cur = cand;
            } else {
                i = end;
            }
        }
    }
    pipeline::decode_with(&cur, input)
}

/// The inputs: every golden script as it is, then `ITERATIONS` mutants, the same on every run.
fn inputs() -> Vec<(String, Input)> {
    let seeds = seeds();
    assert!(
        seeds.len() > 10,
        "tests/golden should hold the seed scripts"
    );
    let mut v: Vec<(String, Input)> = seeds
        .iter()
        .map(|s| {
            let input = Input {
                text: String::from_utf8_lossy(&s.text).into_owned(),
                args: s.args.clone(),
                guru: s.guru,
            };
            (s.name.clone(), input)
        })
        .collect();
    // xorshift must not start from 0.
    let mut rng = Rng(env_or("STP_FUZZ_SEED", SEED).max(1));
    for n in 0..env_or("STP_FUZZ_ITERATIONS", ITERATIONS) {
        let s = &seeds[rng.below(seeds.len())];
        let mut text = s.text.clone();
        let rounds = 1 + rng.below(4);
        for _ in 0..rounds {
            mutate_once(&mut rng, &mut text, &seeds);
        }
        let mut args = s.args.clone();
        if rng.chance(5) {
            args.push(DICT[rng.below(DICT.len())].to_string());
        }
        let input = Input {
            text: String::from_utf8_lossy(&text).into_owned(),
            args,
            guru: s.guru || rng.chance(10),
        };
        v.push((format!("mutant {n} of {}", s.name), input));
    }
    v
}

fn fuzz(props: Props) {
    let inputs = inputs();
    let mut failures: Vec<(&str, &Input, Failure)> = vec![];
    let mut seen = std::collections::BTreeSet::new();
    let mut count = 0;
    for (origin, input) in &inputs {
        if let Err(f) = check(input, props) {
            count += 1;
            if seen.insert(f.fine.clone()) && failures.len() < MAX_REPORTED {
                failures.push((origin, input, f));
            }
        }
    }
    if failures.is_empty() {
        return;
    }
    let mut report = format!(
        "{count} of {} inputs failed; {} distinct failure(s) shown:\n",
        inputs.len(),
        failures.len()
    );
    for (origin, input, f) in &failures {
        let small = reduce(input, &f.kind, props);
        let text = check(&small, props)
            .err()
            .map_or(f.text.clone(), |f| f.text);
        report += &format!(
            "\n== {origin}\n{text}\nreduced input: {:?}  args: {:?}  guru: {}\n",
            small.text, small.args, small.guru
        );
    }
    panic!("{report}");
}

#[test]
fn passes_1_to_3_do_not_panic_on_mutated_golden_scripts() {
    fuzz(Props::NoPanic);
}

#[test]
fn p1_dump_round_trips_on_mutated_golden_scripts() {
    fuzz(Props::RoundTrip);
}
