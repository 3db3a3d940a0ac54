//! Probe points: what a script may attach to, how each written point resolves to a `PointKind`,
//! and the catalogue behind `-l`/`-L` and the "did you mean" suggestions.

use crate::diag::Span;
use crate::diag::{Diag, Diags, codes, nearest};
use crate::ir::{Access, Id, Kprobe, Module, Point, PointKind, Probe, SubKind, Watch, WatchAddr};
use crate::syntax::ast::{self, LitValue, ProbePoint};
use crate::target::Arch;

/// One family of probe points, as `-L` lists them.
pub struct Family {
    pub pattern: &'static str,
    pub context: &'static str,
}

pub const FAMILIES: &[Family] = &[
    Family {
        pattern: "begin",
        context: "",
    },
    Family {
        pattern: "begin(SEQUENCE)",
        context: "",
    },
    Family {
        pattern: "end",
        context: "",
    },
    Family {
        pattern: "end(SEQUENCE)",
        context: "",
    },
    Family {
        pattern: "error",
        context: "",
    },
    Family {
        pattern: "error(SEQUENCE)",
        context: "",
    },
    Family {
        pattern: "oneshot",
        context: "",
    },
    Family {
        pattern: "never",
        context: "",
    },
    Family {
        pattern: "timer.s(N)",
        context: "",
    },
    Family {
        pattern: "timer.sec(N)",
        context: "",
    },
    Family {
        pattern: "timer.ms(N)",
        context: "",
    },
    Family {
        pattern: "timer.msec(N)",
        context: "",
    },
    Family {
        pattern: "timer.us(N)",
        context: "",
    },
    Family {
        pattern: "timer.usec(N)",
        context: "",
    },
    Family {
        pattern: "timer.ns(N)",
        context: "",
    },
    Family {
        pattern: "timer.nsec(N)",
        context: "",
    },
    Family {
        pattern: "timer.hz(N)",
        context: "",
    },
    Family {
        pattern: "timer.jiffies(N)",
        context: "",
    },
    Family {
        pattern: "kprobe.function(FUNCTION)",
        context: "probefunc():string addr():long long_arg(N):long ... pointer_arg(N):long register(NAME):long",
    },
    Family {
        pattern: "kprobe.function(FUNCTION).return",
        context: "probefunc():string addr():long returnval():long register(NAME):long",
    },
    Family {
        pattern: "kprobe.function(FUNCTION).return.maxactive(N)",
        context: "probefunc():string addr():long returnval():long register(NAME):long",
    },
    Family {
        pattern: "kprobe.module(MODULE).function(FUNCTION)",
        context: "probefunc():string addr():long long_arg(N):long ... pointer_arg(N):long register(NAME):long",
    },
    Family {
        pattern: "kprobe.module(MODULE).function(FUNCTION).return",
        context: "probefunc():string addr():long returnval():long register(NAME):long",
    },
    Family {
        pattern: "kernel.function(FUNCTION)",
        context: "probefunc():string addr():long long_arg(N):long ... pointer_arg(N):long register(NAME):long",
    },
    Family {
        pattern: "kernel.function(FUNCTION).return",
        context: "probefunc():string addr():long returnval():long register(NAME):long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).write",
        context: "data_addr():long data_value():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).rw",
        context: "data_addr():long data_value():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).write",
        context: "data_addr():long data_value():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).rw",
        context: "data_addr():long data_value():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).change",
        context: "data_addr():long data_value():long data_old():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).change",
        context: "data_addr():long data_value():long data_old():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).ACCESS.priority(N)",
        context: "as ACCESS",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).ACCESS.begin",
        context: "data_addr():long data_value():long",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).ACCESS.end",
        context: "data_addr():long data_value():long end_reason():string",
    },
    Family {
        pattern: "kernel.data(ADDRESS).length(LENGTH).ACCESS.unavailable",
        context: "data_addr():long data_value():long unavailable_reason():string",
    },
];

/// What `-l`/`-L` also list: the points a named watchpoint (`probe NAME[(PARAM)] =
/// kernel.data(...)`) adds. Not in `FAMILIES`, whose first components are fixed names.
pub const WATCHPOINT_FAMILIES: &[Family] = &[
    Family {
        pattern: "WATCHPOINT",
        context: "as its kernel.data point; PARAM:long",
    },
    Family {
        pattern: "WATCHPOINT.begin",
        context: "data_addr():long data_value():long PARAM:long",
    },
    Family {
        pattern: "WATCHPOINT.end",
        context: "data_addr():long data_value():long end_reason():string PARAM:long",
    },
    Family {
        pattern: "WATCHPOINT.unavailable",
        context: "data_addr():long data_value():long unavailable_reason():string PARAM:long",
    },
];

/// The lowest address that can be a kernel address on x86_64: the kernel half starts at
/// 0xffff800000000000 with 4-level paging and at 0xff00000000000000 with 5-level paging, so
/// the lower bound is used; anything below is user space (or not canonical).
pub const KERNEL_SPACE_START: u64 = 0xff00_0000_0000_0000;

/// Shortest timer period accepted, as SystemTap: 100 microseconds.
pub const MIN_TIMER_NS: u64 = 100_000;

/// Longest timer period: the kernel's ktime_t is a signed 64-bit count of nanoseconds.
pub const MAX_TIMER_NS: u64 = i64::MAX as u64;

/// The longest jiffy there is on the supported architectures (x86_64 and arm64 offer HZ from
/// 100 to 1000): `timer.jiffies(N)` is accepted when N of these fit in MAX_TIMER_NS, whatever
/// HZ the target kernel has. No HZ makes a jiffy shorter than MIN_TIMER_NS. The module clamps
/// the period again with its real TICK_NSEC (stp_timer_period_ns).
pub const MAX_JIFFY_NS: u64 = 10_000_000;

fn name_at(pattern: &str, i: usize) -> Option<&str> {
    pattern
        .split('.')
        .nth(i)
        .map(|c| c.split('(').next().unwrap_or(c))
}

/// Suggests the known component nearest to the first one that matches no family.
fn unknown(pp: &ProbePoint, text: &str) -> Diag {
    let comps: Vec<&str> = pp.components.iter().map(|c| c.name.name.as_str()).collect();
    let mut at = 0;
    let mut candidates: Vec<&str> = vec![];
    for (i, c) in comps.iter().enumerate() {
        let here: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| (0..i).all(|j| name_at(f.pattern, j) == Some(comps[j])))
            .filter_map(|f| name_at(f.pattern, i))
            .collect();
        if !here.contains(c) {
            at = i;
            candidates = here;
            break;
        }
        at = i + 1;
    }
    let span = pp
        .components
        .get(at)
        .map(|c| c.name.span)
        .unwrap_or(pp.span);
    let mut d = Diag::error(
        codes::PROBE_UNKNOWN,
        span,
        format!("unknown probe point `{text}`"),
    );
    candidates.dedup();
    let access = |c: &str| matches!(c, "write" | "rw" | "change" | "read");
    if let Some(comp) = comps.get(at) {
        d = d.label(format!("no probe point has `{comp}` here"));
        if comps[0] == "kernel"
            && comps.get(1) == Some(&"data")
            && at > 0
            && access(comp)
            && *comp != "read" // only arm64 has `.read`, and the target is not known here
            && access(comps[at - 1])
        {
            // `.write.change`: one access kind to a point; `.change` is a kind of write.
            let mut fixed = pp.clone();
            fixed.components.remove(at - 1);
            d = d.help(format!(
                "a point watches one kind of access, and `.{comp}` replaces `.{}`: `{}`",
                comps[at - 1],
                crate::syntax::print::probe_point(&fixed)
            ));
        } else if let Some(s) = nearest(comp, candidates.iter().copied()) {
            let mut fixed = pp.clone();
            fixed.components[at].name.name = crate::syntax::ast::Name::new(s);
            d = d.help(format!(
                "did you mean `{}`?",
                crate::syntax::print::probe_point(&fixed)
            ));
        } else if comps[0] == "kernel" || comps[0] == "process" || comps[0] == "module" {
            d = d.help("stp-hwbp supports kernel.data(...) watchpoints, kprobe.function(...)/kernel.function(...), begin, end, never and timer.* probes; see `stp-hwbp -l '*'`");
        } else if !candidates.is_empty() {
            d = d.help(format!("expected one of: {}", candidates.join(", ")));
        }
    } else {
        d = d.label("this probe point is incomplete");
        let full: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| f.pattern.starts_with(&format!("{text}.")))
            .map(|f| f.pattern)
            .collect();
        if !full.is_empty() {
            d = d.help(format!("complete it as one of: {}", full.join(", ")));
        }
    }
    d
}

/// A probe point component written without the argument it needs (`timer.ms`).
fn missing_arg(c: &ast::Component, what: &str, form: &str) -> Diag {
    Diag::error(
        codes::PROBE_ARG,
        c.name.span,
        format!("`{}` needs an argument ({what})", c.name.name),
    )
    .help(format!("write it as {}({form})", c.name.name))
}

fn int_arg(c: &ast::Component, what: &str, diags: &mut Diags) -> Option<i64> {
    match &c.arg {
        Some(ast::Literal {
            value: LitValue::Int(v),
            ..
        }) => Some(*v),
        Some(l) => {
            diags.push(
                Diag::error(
                    codes::PROBE_ARG,
                    l.span,
                    format!("`{}` takes a number ({what})", c.name.name),
                )
                .label("a string here"),
            );
            None
        }
        None => {
            diags.push(missing_arg(c, what, "N"));
            None
        }
    }
}

fn no_arg(c: &ast::Component, diags: &mut Diags) -> bool {
    if let Some(a) = &c.arg {
        diags.push(Diag::error(
            codes::PROBE_ARG,
            a.span,
            format!("`{}` takes no argument", c.name.name),
        ));
        return false;
    }
    true
}

/// Watches by what they watch, so that probes on the same bytes share one (a lookup table
/// only: never iterated, so it cannot make output order depend on hashing).
pub type WatchIndex = std::collections::HashMap<(WatchAddr, u8, Access, i64), Id<Watch>>;

/// Named watchpoints (`probe NAME = kernel.data(...)`), by name, in script order.
pub type NamedWatches = indexmap::IndexMap<String, Id<Watch>>;

const SUB_SUFFIXES: [(&str, SubKind); 3] = [
    ("begin", SubKind::Begin),
    ("end", SubKind::End),
    ("unavailable", SubKind::Unavailable),
];

fn sub_kind(name: &str) -> Option<SubKind> {
    SUB_SUFFIXES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}

/// The first components of every probe point family: a watchpoint may not be named so.
pub fn family_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = FAMILIES
        .iter()
        .filter_map(|f| name_at(f.pattern, 0))
        .collect();
    v.extend([
        "kprobe", "process", "module", "syscall", "perf", "procfs", "oneshot", "error",
    ]);
    v.dedup();
    v
}

/// Whether `d` (what resolving an optional point reported) says only that the point is of
/// no kind stp-hwbp has: such a point is left out, as SystemTap leaves out an optional point
/// it cannot resolve, where any other mistake in it stays an error.
pub fn only_unknown(d: &Diags) -> bool {
    !d.list.is_empty() && d.list.iter().all(|d| d.code == codes::PROBE_UNKNOWN)
}

/// Resolves one written probe point of probe `probe` (its point number `idx`). Start-up
/// watches are created or shared in `m.watches`; `named` holds the declared watchpoints.
#[allow(clippy::too_many_arguments)]
pub fn resolve(
    pp: &ProbePoint,
    m: &mut Module,
    index: &mut WatchIndex,
    named: &NamedWatches,
    probe: Id<Probe>,
    idx: usize,
    diags: &mut Diags,
) -> Option<Point> {
    let text = crate::syntax::print::probe_point(pp)
        .trim_end_matches(['?', '!'])
        .to_string();
    let c = &pp.components;
    let names: Vec<&str> = c.iter().map(|c| c.name.name.as_str()).collect();
    if let Some(&w) = named.get(names[0]) {
        return named_point(pp, w, text, m, probe, idx, diags);
    }
    let kind = match names.as_slice() {
        ["begin"] | ["end"] | ["error"] => {
            let seq = match &c[0].arg {
                None => 0,
                Some(_) => int_arg(&c[0], "a sequence number", diags)?,
            };
            match names[0] {
                "begin" => PointKind::Begin(seq),
                "end" => PointKind::End(seq),
                _ => PointKind::Error(seq),
            }
        }
        ["oneshot"] => {
            no_arg(&c[0], diags).then_some(())?;
            PointKind::Oneshot
        }
        ["kprobe" | "kernel", "function", ..] | ["kprobe", "module", "function", ..] => {
            return kprobe_point(pp, text, m, probe, diags);
        }
        ["never"] => {
            no_arg(&c[0], diags).then_some(())?;
            PointKind::Never
        }
        ["timer", unit]
            if matches!(
                *unit,
                "s" | "sec" | "ms" | "msec" | "us" | "usec" | "ns" | "nsec" | "hz" | "jiffies"
            ) =>
        {
            no_arg(&c[0], diags).then_some(())?;
            let n = int_arg(&c[1], "a period", diags)?;
            let arg_span = c[1].arg.as_ref().map(|a| a.span).unwrap_or(c[1].name.span);
            if n <= 0 {
                diags.push(
                    Diag::error(
                        codes::PROBE_ARG,
                        arg_span,
                        "a timer period must be positive",
                    )
                    .label(format!("{n} is not")),
                );
                return None;
            }
            let n = n as u64;
            let ns = match *unit {
                "s" | "sec" => n.checked_mul(1_000_000_000),
                "ms" | "msec" => n.checked_mul(1_000_000),
                "us" | "usec" => n.checked_mul(1_000),
                "ns" | "nsec" => Some(n),
                "hz" => (n <= 10_000).then(|| 1_000_000_000 / n),
                _ => Some(0),
            };
            match ns {
                _ if *unit == "jiffies" && n <= MAX_TIMER_NS / MAX_JIFFY_NS => {
                    PointKind::Jiffies(n)
                }
                _ if *unit == "jiffies" => {
                    diags.push(
                        Diag::error(codes::PROBE_ARG, arg_span, "timer period out of range").label(
                            format!(
                                "at most {} jiffies fit in 64 bits of nanoseconds at HZ=100",
                                MAX_TIMER_NS / MAX_JIFFY_NS
                            ),
                        ),
                    );
                    return None;
                }
                Some(ns) if (MIN_TIMER_NS..=MAX_TIMER_NS).contains(&ns) => PointKind::Timer(ns),
                Some(_) | None => {
                    diags.push(
                        Diag::error(codes::PROBE_ARG, arg_span, "timer period out of range")
                            .label("periods must be at least 100 microseconds and fit in 64 bits of nanoseconds"),
                    );
                    return None;
                }
            }
        }
        ["kernel", "data", rest @ ..] => {
            no_arg(&c[0], diags).then_some(())?;
            let spec = data_spec(pp, rest, &text, None, m.arch, diags)?;
            let sub = spec.sub;
            let change = spec.change;
            let w = startup_watch(spec, m, index, pp.span);
            return Some(Point {
                text,
                kind: match sub {
                    Some(k) => {
                        m.watches[w].subs.push((probe, idx, k));
                        PointKind::WatchSub(w, k)
                    }
                    None => {
                        m.watches[w].users.push((probe, idx));
                        m.watches[w].change |= change;
                        m.watches[w].optional |= pp.optional || pp.sufficient;
                        if change {
                            PointKind::Change(w)
                        } else {
                            PointKind::Data(w)
                        }
                    }
                },
                span: pp.span,
            });
        }
        [.., last] if sub_kind(last).is_some() && c.len() > 1 => {
            let what = crate::syntax::print::probe_point(&ProbePoint {
                components: c[..c.len() - 1].to_vec(),
                optional: false,
                sufficient: false,
                span: pp.span,
            });
            let mut d = Diag::error(
                codes::WATCH_SUB,
                c[c.len() - 1].name.span,
                format!("`.{last}` is a sub-probe of watchpoints, and `{what}` is not one"),
            )
            .label("only kernel.data(...) points and named watchpoints have it");
            if let Some(n) = nearest(names[0], named.keys().map(|k| k.as_str())) {
                d = d.help(format!("did you mean the watchpoint `{n}`?"));
            }
            diags.push(d);
            return None;
        }
        _ => {
            let mut d = unknown(pp, &text);
            if names.len() <= 2 && !named.is_empty() {
                if let Some(n) = nearest(names[0], named.keys().map(|k| k.as_str())) {
                    d = d.help(format!("did you mean the watchpoint `{n}`?"));
                }
            }
            diags.push(d);
            return None;
        }
    };
    Some(Point {
        text,
        kind,
        span: pp.span,
    })
}

/// `kprobe.function("f")`, `kernel.function("f")`, `kprobe.module("m").function("f")`, each
/// optionally `.return` and `.return.maxactive(N)`.
fn kprobe_point(
    pp: &ProbePoint,
    text: String,
    m: &mut Module,
    probe: Id<Probe>,
    diags: &mut Diags,
) -> Option<Point> {
    let c = &pp.components;
    no_arg(&c[0], diags).then_some(())?;
    let (module, fi) = if c[1].name.name == "module" {
        (Some(str_arg(&c[1], "a module name", diags)?), 2)
    } else {
        (None, 1)
    };
    if let Some(md) = &module {
        if md.is_empty()
            || !md
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            let sp = c[1].arg.as_ref().map(|a| a.span).unwrap_or(c[1].name.span);
            diags.push(
                Diag::error(codes::PROBE_ARG, sp, format!("`{md}` is not a module name"))
                    .label("module names are letters, digits, `_` and `-`"),
            );
            return None;
        }
    }
    let symbol = str_arg(&c[fi], "a function name", diags)?;
    let sym_span = c[fi]
        .arg
        .as_ref()
        .map(|a| a.span)
        .unwrap_or(c[fi].name.span);
    let ok_char = |ch: char| {
        ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '*' | '?' | '[' | ']' | '-' | '!')
    };
    if symbol.is_empty() || symbol.len() > 200 || !symbol.chars().all(ok_char) {
        diags.push(
            Diag::error(
                codes::PROBE_SYMBOL,
                sym_span,
                format!("`{symbol}` is not a function name"),
            )
            .label("expected a kernel function, optionally with wildcards * ? [...]"),
        );
        return None;
    }
    let rest: Vec<&str> = c[fi + 1..].iter().map(|c| c.name.name.as_str()).collect();
    let (ret, maxactive) = match rest.as_slice() {
        [] => (false, None),
        ["return"] => {
            no_arg(&c[fi + 1], diags).then_some(())?;
            (true, None)
        }
        ["return", "maxactive"] => {
            no_arg(&c[fi + 1], diags).then_some(())?;
            let n = int_arg(&c[fi + 2], "the number of calls tracked at once", diags)?;
            if !(1..=4096).contains(&n) {
                let sp = c[fi + 2]
                    .arg
                    .as_ref()
                    .map(|a| a.span)
                    .unwrap_or(c[fi + 2].name.span);
                diags.push(
                    Diag::error(
                        codes::PROBE_ARG,
                        sp,
                        format!("maxactive {n} is out of range"),
                    )
                    .label("from 1 to 4096"),
                );
                return None;
            }
            (true, Some(n))
        }
        _ => {
            diags.push(unknown(pp, &text));
            return None;
        }
    };
    let id = m.kprobes.alloc(Kprobe {
        symbol,
        module,
        ret,
        maxactive,
        optional: pp.optional,
        sufficient: pp.sufficient,
        probe,
        text: text.clone(),
        span: pp.span,
    });
    Some(Point {
        text,
        kind: PointKind::Kprobe(id),
        span: pp.span,
    })
}

fn str_arg(c: &ast::Component, what: &str, diags: &mut Diags) -> Option<String> {
    match &c.arg {
        Some(ast::Literal {
            value: LitValue::Str(s),
            ..
        }) => Some(s.to_string()),
        Some(l) => {
            diags.push(
                Diag::error(
                    codes::PROBE_ARG,
                    l.span,
                    format!("`{}` takes a string ({what})", c.name.name),
                )
                .label("a number here"),
            );
            None
        }
        None => {
            diags.push(missing_arg(c, what, "\"...\""));
            None
        }
    }
}

/// `NAME` (another hit handler) or `NAME.begin`/`.end`/`.unavailable` of a named watchpoint.
fn named_point(
    pp: &ProbePoint,
    w: Id<Watch>,
    text: String,
    m: &mut Module,
    probe: Id<Probe>,
    idx: usize,
    diags: &mut Diags,
) -> Option<Point> {
    let c = &pp.components;
    if let Some(a) = c[0]
        .arg
        .as_ref()
        .map(|a| a.span)
        .or(c[0].param.as_ref().map(|p| p.span))
    {
        diags.push(
            Diag::error(
                codes::WATCH_SUB,
                a,
                format!("`{}` is a watchpoint: its probes take no argument", c[0].name.name),
            )
            .help("a parametric watchpoint's parameter is bound in all its probes by the name its declaration gives"),
        );
        return None;
    }
    let kind = match c.len() {
        1 => {
            m.watches[w].users.push((probe, idx));
            if m.watches[w].change {
                PointKind::Change(w)
            } else {
                PointKind::Data(w)
            }
        }
        2 if sub_kind(&c[1].name.name).is_some() => {
            no_arg(&c[1], diags).then_some(())?;
            let k = sub_kind(&c[1].name.name)?;
            m.watches[w].subs.push((probe, idx, k));
            PointKind::WatchSub(w, k)
        }
        _ => {
            let at = &c[1].name;
            let mut d = Diag::error(
                codes::WATCH_SUB,
                at.span,
                format!(
                    "`{}` is not a sub-probe of watchpoint `{}`",
                    at.name, c[0].name.name
                ),
            )
            .label("expected begin, end or unavailable");
            if let Some(s) = nearest(&at.name, SUB_SUFFIXES.iter().map(|s| s.0)) {
                d = d.help(format!("did you mean `{}.{s}`?", c[0].name.name));
            }
            diags.push(d);
            return None;
        }
    };
    Some(Point {
        text,
        kind,
        span: pp.span,
    })
}

/// What a `kernel.data(...)` point says, before it is attached to a watch.
pub struct DataSpec {
    addr: WatchAddr,
    len: u8,
    access: Access,
    change: bool,
    priority: i64,
    sub: Option<SubKind>,
    /// The point's text without a sub-probe suffix.
    text: String,
}

fn startup_watch(spec: DataSpec, m: &mut Module, index: &mut WatchIndex, span: Span) -> Id<Watch> {
    let key = (spec.addr.clone(), spec.len, spec.access, spec.priority);
    if let Some(&id) = index.get(&key) {
        return id;
    }
    let id = new_watch(spec, None, m, span);
    index.insert(key, id);
    id
}

fn new_watch(spec: DataSpec, name: Option<String>, m: &mut Module, span: Span) -> Id<Watch> {
    m.watches.alloc(Watch {
        addr: spec.addr,
        len: spec.len,
        access: spec.access,
        users: vec![],
        subs: vec![],
        name,
        priority: spec.priority,
        change: spec.change,
        optional: false,
        text: spec.text,
        span,
    })
}

/// Declares the named watchpoint of `probe NAME[(PARAM)] = POINT`: the point must be one
/// `kernel.data(...)` point without a sub-probe suffix. Its probe attaches to it later.
pub fn declare_named(
    decl: &ast::WatchName,
    points: &[ProbePoint],
    m: &mut Module,
    diags: &mut Diags,
) -> Option<Id<Watch>> {
    let name = &decl.name;
    if points.len() != 1 {
        diags.push(
            Diag::error(
                codes::WATCH_DECL,
                points[1].span,
                format!("watchpoint `{}` names more than one probe point", name.name),
            )
            .label("a second point")
            .help("declare one watchpoint per kernel.data point"),
        );
        return None;
    }
    let pp = &points[0];
    let c = &pp.components;
    let text = crate::syntax::print::probe_point(pp);
    let comps: Vec<&str> = c.iter().map(|c| c.name.name.as_str()).collect();
    let ["kernel", "data", rest @ ..] = comps.as_slice() else {
        diags.push(
            Diag::error(
                codes::WATCH_DECL,
                name.span,
                "only a watchpoint takes a parameter",
            )
            .label(format!("`{}` would be a parametric alias of `{text}`", name.name))
            .help("`probe NAME(PARAM) = kernel.data(PARAM)...` names a parametric watchpoint; an alias has no parameter"),
        );
        return None;
    };
    let rest: Vec<&str> = rest.to_vec();
    let spec = data_spec(pp, &rest, &text, decl.param.as_ref(), m.arch, diags)?;
    if let Some(k) = spec.sub {
        diags.push(
            Diag::error(
                codes::WATCH_DECL,
                c[c.len() - 1].name.span,
                format!("a watchpoint declaration cannot be its `.{}`", k.name()),
            )
            .help(format!(
                "declare it without the suffix, then write `probe {}.{} {{ }}`",
                name.name,
                k.name()
            )),
        );
        return None;
    }
    Some(new_watch(spec, Some(name.name.to_string()), m, name.span))
}

fn data_spec(
    pp: &ProbePoint,
    rest: &[&str],
    text: &str,
    param: Option<&ast::Ident>,
    arch: Arch,
    diags: &mut Diags,
) -> Option<DataSpec> {
    let c = &pp.components;
    let data = &c[1];
    let mut len: u8 = 1;
    let mut len_span = None;
    let mut access = None;
    let mut change = false;
    let mut priority = 0;
    let mut priority_at: Option<Span> = None;
    let mut sub = None;
    let mut base_len = c.len();
    for (i, name) in rest.iter().enumerate() {
        let comp = &c[2 + i];
        match (*name, i) {
            _ if sub.is_some() => {
                diags.push(unknown(pp, text));
                return None;
            }
            ("length", 0) => {
                let n = int_arg(comp, "a length in bytes", diags)?;
                let sp = comp.arg.as_ref().map(|a| a.span).unwrap_or(comp.name.span);
                if !arch.valid_len(n) {
                    diags.push(
                        Diag::error(
                            codes::PROBE_LENGTH,
                            sp,
                            format!("unsupported watch length {n}"),
                        )
                        .label(format!("{} watch {}", arch.watch_hw(), arch.lengths_text()))
                        .help(match arch {
                            Arch::X86_64 => "use .length(1), .length(2), .length(4) or .length(8)",
                            Arch::Arm64 => "use a length from .length(1) to .length(8)",
                        }),
                    );
                    return None;
                }
                len = n as u8;
                len_span = Some(sp);
            }
            ("write" | "rw" | "change", _) if access.is_none() => {
                no_arg(comp, diags).then_some(())?;
                change = *name == "change";
                access = Some(if *name == "rw" {
                    Access::ReadWrite
                } else {
                    Access::Write
                });
            }
            ("read", _) if access.is_none() && arch.has_read_watches() => {
                no_arg(comp, diags).then_some(())?;
                access = Some(Access::Read);
            }
            ("priority", _) if access.is_some() && priority_at.is_some() => {
                let first = priority_at.expect("checked");
                diags.push(
                    Diag::error(
                        codes::WATCH_PRIORITY,
                        comp.name.span,
                        "a watchpoint has one priority",
                    )
                    .label("a second `.priority`")
                    .secondary(first, "the first one")
                    .help("keep one `.priority(N)`"),
                );
                return None;
            }
            ("priority", _) if access.is_some() => match &comp.arg {
                Some(ast::Literal {
                    value: LitValue::Int(v),
                    ..
                }) if i32::try_from(*v).is_ok() => {
                    priority = *v;
                    priority_at = Some(comp.name.span);
                }
                Some(ast::Literal {
                    value: LitValue::Int(v),
                    span,
                    ..
                }) => {
                    diags.push(
                        Diag::error(
                            codes::WATCH_PRIORITY,
                            *span,
                            format!("priority {v} is out of range"),
                        )
                        .label(format!(
                            "priorities go from {} to {}",
                            i32::MIN,
                            i32::MAX
                        )),
                    );
                    return None;
                }
                _ => {
                    let sp = comp
                        .arg
                        .as_ref()
                        .map(|a| a.span)
                        .or(comp.param.as_ref().map(|p| p.span))
                        .unwrap_or(comp.name.span);
                    diags.push(
                        Diag::error(
                            codes::WATCH_PRIORITY,
                            sp,
                            "`.priority` takes a literal integer",
                        )
                        .label("not an integer literal")
                        .help("write .priority(N), where a higher N preempts a lower one"),
                    );
                    return None;
                }
            },
            (s, _) if access.is_some() && sub_kind(s).is_some() => {
                no_arg(comp, diags).then_some(())?;
                sub = sub_kind(s);
                base_len = 2 + i;
            }
            ("read", _) if !arch.has_read_watches() => {
                diags.push(
                    Diag::error(
                        codes::PROBE_READ,
                        comp.name.span,
                        "read-only watchpoints do not exist on x86",
                    )
                    .label("x86 debug registers trigger on writes, or on reads and writes")
                    .note("arm64 has them: `-a arm64` targets an arm64 kernel")
                    .help(format!(
                        "use `.rw` and tell reads from writes yourself: {}",
                        text.replace(".read", ".rw")
                    )),
                );
                return None;
            }
            _ => {
                diags.push(unknown(pp, text));
                return None;
            }
        }
    }
    let Some(access) = access else {
        let last = c.last().map(|l| l.name.span).unwrap_or(pp.span);
        diags.push(
            Diag::error(
                codes::PROBE_UNKNOWN,
                last,
                format!("incomplete probe point `{text}`"),
            )
            .label("the access type is missing")
            .help(format!(
                "add `.write` (writes), `.change` (writes that change the value){} or `.rw` (reads and writes): {text}.write", if arch.has_read_watches() { ", `.read` (reads)" } else { "" }
            )),
        );
        return None;
    };
    let base_text = crate::syntax::print::probe_point(&ProbePoint {
        components: c[..base_len].to_vec(),
        optional: false,
        sufficient: false,
        span: pp.span,
    });
    let addr = match (&data.arg, &data.param) {
        (None, Some(p)) => match param {
            Some(q) if q.name == p.name => WatchAddr::Param(p.name),
            _ => {
                let mut d = Diag::error(
                    codes::WATCH_ARG,
                    p.span,
                    format!("`{}` is not a parameter of this probe", p.name),
                )
                .label("an address must be a number, a symbol string, $N or @N");
                d = match param {
                    Some(q) => d.secondary(q.span, format!("the watchpoint's parameter is `{}`", q.name)),
                    None => d.help(format!(
                        "to watch an address known only at run time, declare `probe NAME({}) = {text} {{ ... }}` and `enable NAME(ADDRESS)`",
                        p.name
                    )),
                };
                diags.push(d);
                return None;
            }
        },
        (None, None) => {
            diags.push(
                Diag::error(codes::PROBE_ARG, data.name.span, "kernel.data needs an address or a symbol")
                    .help("write kernel.data(0xADDRESS), kernel.data(\"symbol\"), kernel.data($1) or kernel.data(@1)"),
            );
            return None;
        }
        (Some(arg), _) => match literal_addr(arg, len, len_span, arch, diags)? {
            a if param.is_some() => {
                let q = param?;
                diags.push(
                    Diag::error(
                        codes::WATCH_ARG,
                        arg.span,
                        format!(
                            "watchpoint parameter `{}` is not used as the address",
                            q.name
                        ),
                    )
                    .secondary(q.span, "declared here")
                    .help(format!("write kernel.data({})", q.name)),
                );
                let _ = a;
                return None;
            }
            a => a,
        },
    };
    Some(DataSpec {
        addr,
        len,
        access,
        change,
        priority,
        sub,
        text: base_text,
    })
}

fn literal_addr(
    arg: &ast::Literal,
    len: u8,
    len_span: Option<Span>,
    arch: Arch,
    diags: &mut Diags,
) -> Option<WatchAddr> {
    Some(match &arg.value {
        LitValue::Int(v) => {
            let mut d = None;
            if *v == 0 {
                d = Some(
                    Diag::error(codes::PROBE_ARG, arg.span, "address 0 cannot be watched")
                        .label("a null address"),
                );
            } else if (*v as u64) < KERNEL_SPACE_START {
                let (shown, label) = if *v < 0 {
                    (
                        v.to_string(),
                        format!("a negative number: {:#x}", *v as u64),
                    )
                } else {
                    (
                        format!("{:#x}", *v as u64),
                        "a user-space address".to_string(),
                    )
                };
                d = Some(
                    Diag::error(
                        codes::PROBE_ARG,
                        arg.span,
                        format!("{shown} is not a kernel address"),
                    )
                    .label(label)
                    .note(format!(
                        "{} {KERNEL_SPACE_START:#x}; below that, \
                         an address means something different in every process, so a watch \
                         there would fire for whichever process touches it",
                        match arch {
                            Arch::X86_64 => "x86_64 kernel addresses start at",
                            Arch::Arm64 => "arm64 kernel addresses lie above",
                        }
                    ))
                    .help("watch a kernel variable: kernel.data(\"symbol\"), or an address from /proc/kallsyms"),
                );
            } else if !arch.fits(*v as u64, len) {
                let a = *v as u64;
                let mut e = match arch {
                    Arch::X86_64 => Diag::error(
                        codes::PROBE_ALIGN,
                        arg.span,
                        format!("address {a:#x} is not aligned to the watch length {len}"),
                    )
                    .label(format!("not a multiple of {len}")),
                    Arch::Arm64 => Diag::error(
                        codes::PROBE_ALIGN,
                        arg.span,
                        format!("{len} bytes at {a:#x} cross an 8-byte boundary"),
                    )
                    .label(format!(
                        "bytes {a:#x} to {:#x} span two doublewords",
                        a + u64::from(len) - 1
                    )),
                }
                .help(format!(
                    "{}: watch {:#x} instead, or use a shorter length",
                    arch.alignment_rule(),
                    arch.fitting_addr(a, len)
                ));
                if let Some(ls) = len_span {
                    e = e.secondary(ls, "the length");
                }
                d = Some(e);
            }
            if let Some(mut d) = d {
                if let Some(a) = &arg.from_arg {
                    d = d.note(format!("the address comes from the command line: {a}"));
                }
                diags.push(d);
                return None;
            }
            WatchAddr::Literal(*v as u64)
        }
        LitValue::Str(s) => match parse_symbol(s) {
            Some((name, offset)) => WatchAddr::Symbol { name, offset },
            None => {
                let mut d = Diag::error(codes::PROBE_SYMBOL, arg.span, format!("`{s}` is not a kernel symbol name"))
                    .label("expected a symbol, optionally with +OFFSET")
                    .help("write a symbol such as \"pid_max\" or \"jiffies_64+4\"; for a numeric address use a number or $1");
                if let Some(a) = &arg.from_arg {
                    d = d.note(format!("the symbol comes from the command line: {a}"));
                }
                diags.push(d);
                return None;
            }
        },
    })
}

/// `name` or `name+OFFSET` (decimal or 0x hex), with a C-identifier-like name (kernel symbols
/// may also contain `.`, as in `foo.constprop.0`).
pub fn parse_symbol(s: &str) -> Option<(String, u64)> {
    let (name, off) = match s.split_once('+') {
        Some((n, o)) => (n.trim(), Some(o.trim())),
        None => (s, None),
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        || name.len() > 200
    {
        return None;
    }
    let offset = match off {
        None => 0,
        Some(o) => {
            if o.starts_with('0') && o.len() > 1 && !o.starts_with("0x") {
                return None;
            }
            let v = crate::syntax::lexer::parse_int(o)?;
            if v < 0 {
                return None;
            }
            v as u64
        }
    };
    Some((name.to_string(), offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn symbols() {
        assert_eq!(parse_symbol("pid_max"), Some(("pid_max".into(), 0)));
        assert_eq!(parse_symbol("jiffies_64+4"), Some(("jiffies_64".into(), 4)));
        assert_eq!(
            parse_symbol("a.constprop.0+0x10"),
            Some(("a.constprop.0".into(), 16))
        );
        assert_eq!(parse_symbol("0xffff"), None);
        assert_eq!(parse_symbol("a b"), None);
        assert_eq!(parse_symbol("x+"), None);
        assert_eq!(parse_symbol(""), None);
    }
}
