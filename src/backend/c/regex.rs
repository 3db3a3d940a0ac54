//! The regular expressions of `=~`/`!~` as constant C tables (`struct stp_re`, matched by
//! `runtime-c/stp_regex.h`), and the sizes of the Pike VM's per-CPU scratch, defined before
//! the runtime is included and only when the script calls `matched()`.

use super::names;
use super::writer::{CWriter, c_comment, c_string, cline, copen};
use crate::ir::{Module, NfaOp, Regex};

/// Whether some reachable function reads the last match's groups.
fn captures(m: &Module) -> bool {
    m.functions.iter().any(|(_, f)| f.name == "matched")
}

/// `#define`s that size the Pike VM's thread lists for the largest regular expression.
pub fn defines(m: &Module) -> Vec<String> {
    if !captures(m) {
        return vec![];
    }
    let states = m.regexes.iter().map(|(_, r)| r.nfa.ops.len());
    let slots = m.regexes.iter().map(|(_, r)| 2 * r.nfa.groups);
    let stack = m
        .regexes
        .iter()
        .map(|(_, r)| r.nfa.alts.len() + r.nfa.ops.len() + 1);
    vec![
        format!("STP_RE_MAXSTATES {}", states.max().unwrap_or(0).max(1)),
        format!("STP_RE_MAXSLOTS {}", slots.max().unwrap_or(0).max(2)),
        format!("STP_RE_MAXSTACK {}", stack.max().unwrap_or(0).max(1)),
    ]
}

/// Every regular expression's tables.
pub fn tables(m: &Module, w: &mut CWriter) {
    for (id, r) in m.regexes.iter() {
        table(&names::regex(id.index()), r, w);
    }
}

/// One regular expression as `static const struct stp_re NAME`.
pub fn table(name: &str, r: &Regex, w: &mut CWriter) {
    let d = &r.dfa;
    cline!(w; "/* ", c_comment(&r.pattern), " */");
    let list = |v: Vec<String>| v.join(", ");
    let rows = |w: &mut CWriter, decl: String, items: Vec<String>, per: usize| {
        w.open(decl);
        for chunk in items.chunks(per.max(1)) {
            cline!(w; chunk.join(", "), ",");
        }
        w.close_semi();
    };
    rows(
        w,
        format!("static const uint8_t {name}_classes[256] ="),
        d.classes.iter().map(|c| c.to_string()).collect(),
        32,
    );
    rows(
        w,
        format!("static const uint16_t {name}_trans[] ="),
        d.trans.iter().map(|t| t.to_string()).collect(),
        d.nclasses,
    );
    cline!(w; "static const uint16_t ", name, "_eoi[] = { ", list(d.eoi.iter().map(|t| t.to_string()).collect()), " };");
    let flags = d
        .accept
        .iter()
        .zip(&d.dead)
        .map(|(&a, &x)| (u8::from(a) | (u8::from(x) << 1)).to_string())
        .collect();
    cline!(w; "static const uint8_t ", name, "_flags[] = { ", list(flags), " };");
    let n = &r.nfa;
    let ops = n
        .ops
        .iter()
        .map(|op| match *op {
            NfaOp::Ranges { first, count } => {
                format!("{{ STP_RE_RANGES, 0, 0, {first}, {count} }}")
            }
            NfaOp::Split { first, count } => format!("{{ STP_RE_SPLIT, 0, 0, {first}, {count} }}"),
            NfaOp::Save { slot, next } => format!("{{ STP_RE_SAVE, {slot}, {next}, 0, 0 }}"),
            NfaOp::Look { kind, next } => format!("{{ STP_RE_LOOK, {kind}, {next}, 0, 0 }}"),
            NfaOp::Match => "{ STP_RE_MATCH, 0, 0, 0, 0 }".into(),
            NfaOp::Fail => "{ STP_RE_FAIL, 0, 0, 0, 0 }".into(),
        })
        .collect();
    rows(
        w,
        format!("static const struct stp_re_op {name}_ops[] ="),
        ops,
        4,
    );
    let mut ranges: Vec<String> = n
        .ranges
        .iter()
        .map(|(lo, hi, next)| format!("{{ {lo}, {hi}, {next} }}"))
        .collect();
    if ranges.is_empty() {
        ranges.push("{ 0, 0, 0 }".into());
    }
    rows(
        w,
        format!("static const struct stp_re_range {name}_ranges[] ="),
        ranges,
        8,
    );
    let mut alts: Vec<String> = n.alts.iter().map(|a| a.to_string()).collect();
    if alts.is_empty() {
        alts.push("0".into());
    }
    cline!(w; "static const uint16_t ", name, "_alts[] = { ", list(alts), " };");
    copen!(w; "static const struct stp_re ", name, " =");
    cline!(w; ".pattern = ", c_string(&r.pattern), ",");
    cline!(w; ".classes = ", name, "_classes, .nclasses = ", d.nclasses, ",");
    cline!(w; ".trans = ", name, "_trans, .eoi = ", name, "_eoi, .flags = ", name, "_flags,");
    cline!(w; ".ops = ", name, "_ops, .ranges = ", name, "_ranges, .alts = ", name, "_alts,");
    cline!(w; ".nops = ", n.ops.len(), ", .start = ", n.start, ", .groups = ", n.groups, ",");
    w.close_semi();
}

/// The generated tables, run by `runtime-c/stp_regex.h` compiled with gcc in user space,
/// against the Rust regex crate (same syntax, leftmost-first submatches) on many strings.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::sema::regex::{compile, to_syntax};
    use std::fmt::Write;

    const PATTERNS: &[&str] = &[
        "",
        "a",
        "^abc$",
        "o w(or)ld ([0-9]+)$",
        "(a|aa)*",
        "(a|ab)(c|bcd)(d*)",
        "^([a-z]+)-([0-9]+)(\\.([0-9]+))?$",
        "[[:upper:]][[:lower:]]+",
        "x{2,3}y{,2}z",
        "[{,]+",
        "[]{,2}]x",
        "\\bfoo\\b",
        "\\Bo\\B",
        "(((a)b)c)|d",
        "[^a-c]+$",
        "a.c",
        "^$",
        "(x*)(y*)",
        "(foo|foobar)(bar)?",
        "[]a]",
        "a\\|b",
        "(a+|b+)*c",
    ];

    fn inputs() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = [
            "",
            "a",
            "abc",
            "xabc",
            "abcx",
            "{,",
            "a{,}x",
            "]]x",
            "hello world 42",
            "aaa",
            "abcd",
            "abbcd",
            "abc-12",
            "abc-12.5",
            "ABC-12",
            "x-1.",
            "zz-007.42",
            "Camel",
            "xxz",
            "xxxyyz",
            "xz",
            "a foo b",
            "foobar",
            "food",
            "boot",
            "o",
            "abcabc",
            "dd",
            "a\nc",
            "a\u{1}c",
            "xyz",
            "xxyy",
            "foobarbar",
            "]",
            "a|b",
            "ab",
            "aabbc",
            "ababababc",
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbd",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        // Pseudo-random strings over a small alphabet, so that patterns match often.
        let mut x: u32 = 12345;
        for n in 0..400 {
            let mut s = vec![];
            for _ in 0..(n % 23) {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                s.push(b"abcdxyz-.19 AZ|]\n"[(x >> 16) as usize % 17]);
            }
            v.push(s);
        }
        v
    }

    fn c_bytes(s: &[u8]) -> String {
        let mut o = String::from("\"");
        for b in s {
            let _ = write!(o, "\\x{b:02x}\"\"");
        }
        o.push('"');
        o
    }

    #[test]
    fn tables_match_the_regex_crate() {
        let mut c = String::from(
            "#include <stdint.h>\n#include <stdbool.h>\n#include <stdio.h>\n#include <string.h>\n\
             #define STP_MAXSTRINGLEN 128\n#define STP_RE_MAXSTATES 400\n#define STP_RE_MAXSLOTS 40\n\
             #define STP_RE_MAXSTACK 1000\n#include \"stp_regex.h\"\n\
             static struct stp_re_scratch x; static struct stp_re_match m; static int bad;\n",
        );
        let mut checks = String::new();
        let mut count = 0;
        for (i, p) in PATTERNS.iter().enumerate() {
            let r = compile(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            let mut w = CWriter::new(0);
            table(&format!("re{i}"), &r, &mut w);
            c.push_str(&w.finish());
            let rx = regex::bytes::RegexBuilder::new(&to_syntax(p))
                .unicode(false)
                .dot_matches_new_line(true)
                .build()
                .expect("the regex crate compiles it");
            for s in inputs() {
                let cs = c_bytes(&s);
                let want = rx.captures(&s);
                let caps: Vec<String> = (0..rx.captures_len())
                    .flat_map(|g| match want.as_ref().and_then(|c| c.get(g)) {
                        Some(m) => [m.start() as i64, m.end() as i64],
                        None => [-1, -1],
                    })
                    .map(|v| v.to_string())
                    .collect();
                let _ = writeln!(
                    checks,
                    "\t{{ static const int16_t want[] = {{ {} }}; check(&re{i}, {cs}, {}, want, {}); }}",
                    caps.join(", "),
                    i32::from(want.is_some()),
                    caps.len()
                );
                count += 1;
            }
        }
        c.push_str(
            "static void check(const struct stp_re *re, const char *s, int want, const int16_t *caps, int n)\n{\n\
             \tint got = stp_re_dfa(re, s), k;\n\
             \tif (got != want) { bad++; printf(\"dfa: /%s/ on \\\"%s\\\": %d\\n\", re->pattern, s, got); return; }\n\
             \tstp_re_captures(re, s, &m, &x);\n\
             \tif (m.result != want) { bad++; printf(\"nfa: /%s/ on \\\"%s\\\": %d\\n\", re->pattern, s, m.result); return; }\n\
             \tfor (k = 0; want && k < n; k++) if (m.caps[k] != caps[k]) { bad++; printf(\"caps: /%s/ on \\\"%s\\\": slot %d is %d, not %d\\n\", re->pattern, s, k, m.caps[k], caps[k]); return; }\n}\n",
        );
        let _ = write!(
            c,
            "int main(void)\n{{\n{checks}\tprintf(\"%d bad of {count}\\n\", bad);\n\treturn bad != 0;\n}}\n"
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let src = dir.path().join("t.c");
        std::fs::write(&src, c).expect("write the test program");
        let exe = dir.path().join("t");
        let rt = concat!(env!("CARGO_MANIFEST_DIR"), "/runtime-c");
        let st = std::process::Command::new("gcc")
            .args([
                "-std=gnu11",
                "-O1",
                "-Wall",
                "-Werror",
                "-Wno-unused-function",
                "-I",
                rt,
                "-o",
            ])
            .arg(&exe)
            .arg(&src)
            .status()
            .expect("gcc runs");
        assert!(st.success(), "the test program builds");
        let out = std::process::Command::new(&exe).output().expect("it runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains(&format!("0 bad of {count}")), "{text}");
    }
}
