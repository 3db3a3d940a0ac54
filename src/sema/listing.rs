//! `-l`/`-L` and `--dump-probe-types`: which probe points a pattern names, as SystemTap lists
//! them. A concrete point (no `*` or `?`) is resolved as a script's point would be and echoed
//! back in its canonical form; a pattern with wildcards is matched against the families'
//! templates component by component, a `*` never crossing a `.`. Nothing matching is an error.

use super::probes::{self, FAMILIES, Family, WATCHPOINT_FAMILIES};
use crate::diag::Diags;
use crate::ir::{Id, Module, Probe};
use crate::syntax::ast::{Item, ProbePoint};
use crate::syntax::preprocess::glob;

/// What `-l PATTERN` (`-L` with `with_context`) prints, or None when nothing matches.
pub fn list(pattern: &str, with_context: bool) -> Option<String> {
    let out = if pattern.contains(['*', '?']) {
        let want = components(pattern);
        let mut out = String::new();
        for f in FAMILIES {
            let have = components(f.pattern);
            if have.len() == want.len()
                && want.iter().zip(&have).all(|(w, h)| component_matches(w, h))
            {
                // Arguments the pattern gives stand in for the template's placeholders,
                // as SystemTap lists `kernel.data("x").length(4).*`: the point each makes is
                // checked as a script's would be, and left out if it is not valid.
                match substituted(&want, &have) {
                    Some(text) => {
                        if let Some(l) = concrete(&text, with_context) {
                            out.push_str(&l);
                        }
                    }
                    None => line(&mut out, f.pattern, f, with_context),
                }
            }
        }
        out
    } else {
        concrete(pattern, with_context).unwrap_or_default()
    };
    (!out.is_empty()).then_some(out)
}

/// `--dump-probe-types`: every family's template, named watchpoints' points included.
pub fn probe_types() -> String {
    let mut out = String::new();
    for f in FAMILIES.iter().chain(WATCHPOINT_FAMILIES) {
        out.push_str(f.pattern);
        out.push('\n');
    }
    out
}

fn line(out: &mut String, text: &str, f: &Family, with_context: bool) {
    out.push_str(text);
    if with_context {
        if !f.context.is_empty() {
            out.push(' ');
            out.push_str(f.context);
        }
        out.push_str(" # ");
        out.push_str(runs_in(f.pattern));
    }
    out.push('\n');
}

/// Where a family's probes run, as `-L` says after a `#` (a comment in the language, so that
/// tools splitting SystemTap's `POINT $var:type ...` lines can stop there).
fn runs_in(pattern: &str) -> &'static str {
    let sub = [".begin", ".end", ".unavailable"]
        .iter()
        .any(|s| pattern.ends_with(s));
    if pattern == "never" {
        "never runs"
    } else if pattern.starts_with("timer.") {
        "runs in hard IRQ on every kernel, PREEMPT_RT included (a _HARD hrtimer)"
    } else if pattern.starts_with("kprobe.") || pattern.starts_with("kernel.function") {
        "runs in the kprobe handler: NMI-like, no sleeping"
    } else if (pattern.starts_with("kernel.data") || pattern.starts_with("WATCHPOINT")) && !sub {
        "runs in the debug exception of the access: NMI-like, no sleeping"
    } else {
        "runs in process context (a kernel worker)"
    }
}

/// A pattern component against a template component: the names by glob, and the argument
/// too when the pattern gives one (`timer.s(*)`); a template's placeholder (`N`) takes any.
fn component_matches(want: &str, have: &str) -> bool {
    let (wn, wa) = split_arg(want);
    let (hn, ha) = split_arg(have);
    if !glob(wn, hn) {
        return false;
    }
    match (wa, ha) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(h)) => h.chars().all(|c| c.is_ascii_uppercase()) || glob(w, h) || w == "*",
    }
}

/// The template's components with each placeholder argument replaced by the pattern's
/// argument where the pattern gives one without wildcards; None when nothing is replaced.
fn substituted(want: &[String], have: &[String]) -> Option<String> {
    let mut any = false;
    let parts: Vec<String> = want
        .iter()
        .zip(have)
        .map(|(w, h)| match (split_arg(w), split_arg(h)) {
            ((_, Some(wa)), (hn, Some(ha)))
                if !wa.contains(['*', '?']) && ha.chars().all(|c| c.is_ascii_uppercase()) =>
            {
                any = true;
                format!("{hn}({wa})")
            }
            _ => h.clone(),
        })
        .collect();
    any.then(|| parts.join("."))
}

fn split_arg(c: &str) -> (&str, Option<&str>) {
    match c.split_once('(') {
        Some((n, a)) => (n, Some(a.trim_end_matches(')'))),
        None => (c, None),
    }
}

/// Splits at the dots outside parentheses and string literals.
fn components(p: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for ch in p.chars() {
        if in_str {
            cur.push(ch);
            match (esc, ch) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out
}

/// A point without wildcards: resolved as in a script; its canonical text if it is valid.
fn concrete(pattern: &str, with_context: bool) -> Option<String> {
    let (script, diags, _) = crate::syntax::parse_text(&format!("probe {pattern} {{}}"), &[]);
    if diags.has_errors() {
        return None;
    }
    let pp: &ProbePoint = script.items.iter().find_map(|i| match i {
        Item::Probe(p) if p.points.len() == 1 => p.points.first(),
        _ => None,
    })?;
    let mut m = Module::default();
    let mut diags = Diags::default();
    let probe: Id<Probe> = m.probes.alloc(Probe {
        points: vec![],
        param: None,
        cond: None,
        locals: Default::default(),
        body: crate::ir::Block { stmts: vec![] },
        span: pp.span,
    });
    let pt = probes::resolve(
        pp,
        &mut m,
        &mut probes::WatchIndex::new(),
        &probes::NamedWatches::new(),
        probe,
        0,
        &mut diags,
    )?;
    if diags.has_errors() {
        return None;
    }
    let names: Vec<&str> = pp.components.iter().map(|c| c.name.name.as_str()).collect();
    let family = FAMILIES.iter().find(|f| {
        let have = components(f.pattern);
        have.len() == names.len() && have.iter().zip(&names).all(|(h, n)| split_arg(h).0 == *n)
    });
    let mut out = String::new();
    match family {
        Some(f) => line(&mut out, &pt.text, f, with_context),
        None => {
            out.push_str(&pt.text);
            out.push('\n');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_one_component() {
        let l = list("*", false).unwrap();
        assert!(l.lines().any(|x| x == "begin"));
        assert!(l.lines().any(|x| x == "oneshot"));
        assert!(!l.contains("timer"));
        let t = list("timer.*", false).unwrap();
        assert!(t.lines().all(|x| x.starts_with("timer.")));
        assert!(list("nosuch*", false).is_none());
    }

    #[test]
    fn concrete_points_echo() {
        assert_eq!(list("begin", false).as_deref(), Some("begin\n"));
        assert_eq!(list("timer.s(5)", false).as_deref(), Some("timer.s(5)\n"));
        assert_eq!(list("end(-1)", false).as_deref(), Some("end(-1)\n"));
        assert!(list("nosuch", false).is_none());
        assert!(list("timer.s(0)", false).is_none());
    }

    /// A wildcard pattern's concrete arguments fill the templates' placeholders, and only
    /// the valid points they make are listed.
    #[test]
    fn pattern_arguments_fill_templates() {
        assert_eq!(
            list("kernel.data(\"pid_max\").length(4).*", false).as_deref(),
            Some(
                "kernel.data(\"pid_max\").length(4).write\n\
                 kernel.data(\"pid_max\").length(4).rw\n\
                 kernel.data(\"pid_max\").length(4).change\n"
            )
        );
        assert!(list("kernel.data(\"pid_max\").length(3).*", false).is_none());
        let t = list("timer.*(5)", false).unwrap();
        assert!(t.lines().any(|x| x == "timer.ms(5)"), "{t}");
        assert!(
            !t.contains("timer.us(5)"),
            "5 us is below the shortest period: {t}"
        );
    }

    #[test]
    fn long_listing_says_where_probes_run() {
        let t = list("timer.ms(10)", true).unwrap();
        assert!(t.starts_with("timer.ms(10) # runs in hard IRQ"), "{t}");
        assert!(t.contains("PREEMPT_RT"));
        let d = list("kernel.data(\"pid_max\").write", true).unwrap();
        assert!(
            d.contains("data_value():long # runs in the debug exception"),
            "{d}"
        );
        assert!(
            list("begin", true)
                .unwrap()
                .ends_with("# runs in process context (a kernel worker)\n")
        );
        let w = list("kernel.data(*).length(*).*.begin", true).unwrap();
        assert!(
            w.lines()
                .all(|l| l.ends_with("process context (a kernel worker)")),
            "{w}"
        );
        assert_eq!(list("begin", false).as_deref(), Some("begin\n"));
    }
}
