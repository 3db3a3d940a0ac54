//! `=~` and `!~`: each regular expression is compiled here, at translation time, into the
//! two automata the module runs (`ir::Regex`): a DFA that decides match or no match in one
//! pass over the string (a table lookup per byte: bounded by MAXSTRINGLEN, no allocation,
//! NMI-safe), and a Thompson NFA that the runtime's Pike VM follows only when the script
//! asks for submatches (`matched(N)`), in time bounded by the string's length times the NFA's
//! size, with fixed-size thread lists.
//!
//! The dialect is SystemTap's: POSIX extended regular expressions over bytes (`.` also
//! matches a newline, `^`/`$` anchor the string's ends, bracket expressions with `[:alpha:]`
//! classes, `{m,n}`), read by regex-syntax, which also knows the Perl escapes `\d \w \s \b`
//! that SystemTap's parser accepts. Differences: a backslash inside brackets escapes (POSIX
//! takes it literally), and back-references do not exist (neither in SystemTap).

use crate::ir::{NfaOp, Regex, RegexDfa, RegexNfa};
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson::{self, State, WhichCaptures};
use regex_automata::util::look::Look;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind, PatternID};
use std::collections::HashMap;

/// Most DFA states a regular expression may need (its table is states x byte classes).
pub const MAX_DFA_STATES: usize = 2000;
/// Most bytes of one DFA's transition table.
pub const MAX_DFA_BYTES: usize = 128 * 1024;
/// Most NFA states, which bound the Pike VM's thread lists (kept per CPU).
pub const MAX_NFA_STATES: usize = 400;
/// Most capture groups, group 0 (the whole match) included.
pub const MAX_GROUPS: usize = 20;

/// Compiles `pattern` (the script string, raw bytes as lexer private-use chars); the error
/// says what is wrong, for a diagnostic at the literal.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let text = to_syntax(pattern);
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .nest_limit(100)
        .build()
        .parse(&text)
        .map_err(syntax_error)?;
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .shrink(false)
                .which_captures(WhichCaptures::All),
        )
        .build_from_hir(&hir)
        .map_err(|e| format!("cannot compile it: {e}"))?;
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Unanchored)
                .match_kind(MatchKind::All)
                .minimize(true)
                .byte_classes(true)
                .dfa_size_limit(Some(8 * MAX_DFA_BYTES))
                .determinize_size_limit(Some(8 * MAX_DFA_BYTES)),
        )
        .build_from_nfa(&nfa)
        .map_err(|_| too_big("its DFA"))?;
    Ok(Regex {
        pattern: pattern.to_string(),
        dfa: dfa_tables(&dfa)?,
        nfa: nfa_tables(&nfa)?,
    })
}

fn too_big(what: &str) -> String {
    format!(
        "it is too complex: {what} would exceed the limits (DFA: {MAX_DFA_STATES} states, \
         {MAX_DFA_BYTES} bytes; NFA: {MAX_NFA_STATES} states; {} groups)",
        MAX_GROUPS - 1
    )
}

/// The script string as regex-syntax text: bytes that are not ASCII become `\xNN` escapes
/// (with Unicode off they match that one byte), and POSIX's `{,n}` becomes `{0,n}` (outside
/// brackets, where `{,` is two literal bytes).
pub fn to_syntax(pattern: &str) -> String {
    let mut out = String::new();
    let mut prev = '\0';
    let mut escaped = false;
    // Inside `[...]`: the position of its first byte, where `]` is literal.
    let mut bracket: Option<usize> = None;
    for (i, c) in pattern.char_indices() {
        if let Some(b) = crate::syntax::lexer::raw_byte(c) {
            out.push_str(&format!("\\x{b:02X}"));
        } else if !c.is_ascii() {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02X}"));
            }
        } else if c == ',' && prev == '{' && !escaped && bracket.is_none() {
            out.push_str("0,");
        } else {
            out.push(c);
        }
        let was_escaped = escaped;
        escaped = c == '\\' && !escaped;
        if !was_escaped {
            match (c, bracket) {
                ('[', None) => bracket = Some(i + 1),
                ('^', Some(f)) if i == f => bracket = Some(i + 1),
                (']', Some(f)) if i != f => bracket = None,
                _ => {}
            }
        }
        prev = if was_escaped { '\0' } else { c };
    }
    out
}

fn syntax_error(e: regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(p) => {
            format!("{} (at offset {})", p.kind(), p.span().start.offset)
        }
        regex_syntax::Error::Translate(t) => {
            format!("{} (at offset {})", t.kind(), t.span().start.offset)
        }
        other => other.to_string(),
    }
}

/// The DFA's states reachable from the start of a string, renumbered densely from 0 (the
/// start), with one transition per byte class and one at the end of the string.
fn dfa_tables(dfa: &dense::DFA<Vec<u32>>) -> Result<RegexDfa, String> {
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::No))
        .map_err(|e| format!("cannot compile it: {e}"))?;
    let bc = dfa.byte_classes();
    let mut classes = [0u8; 256];
    let mut reps: Vec<u8> = vec![];
    for b in 0..=255u8 {
        let k = bc.get(b);
        classes[b as usize] = k;
        if k as usize == reps.len() {
            reps.push(b);
        }
    }
    let nclasses = reps.len();
    let mut ids: HashMap<StateID, u16> = HashMap::new();
    let mut order = vec![start];
    ids.insert(start, 0);
    let mut trans = vec![];
    let mut eoi = vec![];
    let mut accept = vec![];
    let mut dead = vec![];
    let mut i = 0;
    while i < order.len() {
        let sid = order[i];
        i += 1;
        let mut number = |t: StateID, order: &mut Vec<StateID>| -> Result<u16, String> {
            if let Some(&n) = ids.get(&t) {
                return Ok(n);
            }
            if order.len() >= MAX_DFA_STATES || (order.len() + 1) * nclasses * 2 > MAX_DFA_BYTES {
                return Err(too_big("its DFA"));
            }
            let n = order.len() as u16;
            ids.insert(t, n);
            order.push(t);
            Ok(n)
        };
        for &r in &reps {
            let t = dfa.next_state(sid, r);
            trans.push(number(t, &mut order)?);
        }
        let e = dfa.next_eoi_state(sid);
        eoi.push(number(e, &mut order)?);
        accept.push(dfa.is_match_state(sid));
        dead.push(dfa.is_dead_state(sid) || dfa.is_quit_state(sid));
    }
    Ok(RegexDfa {
        classes,
        nclasses,
        trans,
        eoi,
        accept,
        dead,
    })
}

/// The NFA as the runtime's Pike VM reads it: byte-range lists, ordered alternatives
/// (earlier ones preferred), capture slots, and the anchors `^`, `$`, `\b`, `\B`.
fn nfa_tables(nfa: &thompson::NFA) -> Result<RegexNfa, String> {
    let states = nfa.states();
    let groups = nfa.group_info().group_len(PatternID::ZERO);
    if states.len() > MAX_NFA_STATES || groups > MAX_GROUPS {
        return Err(too_big("its NFA"));
    }
    let id = |s: StateID| s.as_usize() as u16;
    let mut out = RegexNfa {
        ops: vec![],
        ranges: vec![],
        alts: vec![],
        start: id(nfa.start_anchored()),
        groups,
    };
    for s in states {
        let op = match s {
            State::ByteRange { trans } => {
                out.ranges.push((trans.start, trans.end, id(trans.next)));
                NfaOp::Ranges {
                    first: out.ranges.len() - 1,
                    count: 1,
                }
            }
            State::Sparse(sp) => {
                let first = out.ranges.len();
                for t in sp.transitions.iter() {
                    out.ranges.push((t.start, t.end, id(t.next)));
                }
                NfaOp::Ranges {
                    first,
                    count: sp.transitions.len(),
                }
            }
            State::Dense(d) => {
                let first = out.ranges.len();
                let mut b = 0usize;
                while b < 256 {
                    let next = d.transitions[b];
                    let mut e = b;
                    while e + 1 < 256 && d.transitions[e + 1] == next {
                        e += 1;
                    }
                    if !matches!(states[next.as_usize()], State::Fail) {
                        out.ranges.push((b as u8, e as u8, id(next)));
                    }
                    b = e + 1;
                }
                NfaOp::Ranges {
                    first,
                    count: out.ranges.len() - first,
                }
            }
            State::Look { look, next } => {
                let kind = match look {
                    Look::Start => 0,
                    Look::End => 1,
                    Look::WordAscii => 2,
                    Look::WordAsciiNegate => 3,
                    other => return Err(format!("the assertion {other:?} is not supported")),
                };
                NfaOp::Look {
                    kind,
                    next: id(*next),
                }
            }
            State::Union { alternates } => {
                let first = out.alts.len();
                out.alts.extend(alternates.iter().map(|a| id(*a)));
                NfaOp::Split {
                    first,
                    count: alternates.len(),
                }
            }
            State::BinaryUnion { alt1, alt2 } => {
                out.alts.push(id(*alt1));
                out.alts.push(id(*alt2));
                NfaOp::Split {
                    first: out.alts.len() - 2,
                    count: 2,
                }
            }
            State::Capture { next, slot, .. } => NfaOp::Save {
                slot: slot.as_usize(),
                next: id(*next),
            },
            State::Fail => NfaOp::Fail,
            State::Match { .. } => NfaOp::Match,
        };
        out.ops.push(op);
    }
    Ok(out)
}
