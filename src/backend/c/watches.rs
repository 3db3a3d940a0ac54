//! The watchpoint part of the generated module: the table of declarations the arbiter
//! (`runtime-c/stp_arbiter.h`) works on, each watch's hit handler (NMI) and sub-probe
//! dispatcher (process context), and the symbol resolution and arming at module load.

use super::names;
use super::writer::{CWriter, c_string, cline, copen, push_c_string, push_c_string_of};
use crate::diag::SourceMap;
use crate::ir::*;

/// `pp()` text and "probe PP (file:line:col)" of one probe point, as C strings.
pub fn pp_where(m: &Module, sm: &SourceMap, pid: Id<Probe>, pt: usize) -> (String, String) {
    let p = &m.probes[pid];
    let pt = &p.points[pt];
    // Each literal escaped from its parts, with no text of its own built first.
    let mut pp = String::with_capacity(pt.text.len() + 2);
    push_c_string(&mut pp, &pt.text);
    // `probe TEXT (FILE:LINE:COL)`, as `describe` names the place.
    let name = sm.name(p.span.file);
    let mut line_col = String::with_capacity(24);
    super::push_line_col(&mut line_col, sm, p.span);
    let mut wh = String::with_capacity(pt.text.len() + name.len() + line_col.len() + 12);
    push_c_string_of(&mut wh, &["probe ", &pt.text, " (", name, &line_col, ")"]);
    (pp, wh)
}

/// What the runtime may leave out of the arbiter (`runtime-c/stp_arbiter.h`) for this module,
/// so that gcc does not compile code the module can never run: without a named watchpoint
/// (the only kind `enable`/`disable` name) and without an on-the-fly condition, no request is
/// ever queued, so the queue, its worker and the pool of parametric instances
/// (`STP_WATCH_QUEUE 0`); without sub-probes, their calls (`STP_WATCH_SUBS 0`).
pub fn defines(m: &Module, otf: &super::conds::OnTheFly) -> Vec<String> {
    let mut d = vec![];
    if otf.probes.is_empty() && m.watches.iter().all(|(_, w)| w.name.is_none()) {
        d.push("STP_WATCH_QUEUE 0".into());
    }
    if m.watches.iter().all(|(_, w)| w.subs.is_empty()) {
        d.push("STP_WATCH_SUBS 0".into());
    }
    d
}

/// Prototypes, the declaration table and the symbol-address parameters: before the probe
/// bodies, which name the table in `enable`/`disable`.
pub fn table(m: &Module, w: &mut CWriter) {
    if m.watches.is_empty() {
        return;
    }
    w.line("/* Watchpoints: start-up ones armed at load, named ones by enable (stp_arbiter.h). */");
    for (id, _) in m.watches.iter() {
        let i = id.index();
        cline!(w; "static void ", names::hit(i), "(struct perf_event *bp, struct perf_sample_data *data, struct pt_regs *regs);");
        if !m.watches[id].subs.is_empty() {
            cline!(w; "static void ", names::sub(i), "(struct stp_winst *w, int kind, const char *reason);");
        }
    }
    copen!(w; "static struct stp_wdecl ", names::WDECLS, "[] =");
    for (id, wt) in m.watches.iter() {
        let addr = match &wt.addr {
            WatchAddr::Literal(a) => format!("{a:#x}UL"),
            WatchAddr::Symbol { .. } | WatchAddr::Param(_) => "0".into(),
        };
        let ty = match wt.access {
            Access::Write => "HW_BREAKPOINT_W",
            Access::ReadWrite => "HW_BREAKPOINT_RW",
            Access::Read => "HW_BREAKPOINT_R",
        };
        let flag = |b: bool| if b { "true" } else { "false" };
        cline!(w; "{ .name = ", c_string(wt.label()), ", .addr = ", addr, ", .len = ", wt.len, ", .type = ", ty, ", .priority = ", wt.priority, ", .parametric = ", flag(matches!(wt.addr, WatchAddr::Param(_))), ", .startup = ", flag(wt.name.is_none()), ", .has_unavailable = ", flag(wt.has_sub(SubKind::Unavailable)), ", .change = ", flag(wt.change), ", ", if wt.optional { ".optional = true, " } else { "" }, ".handler = ", names::hit(id.index()), ", .sub = ", if wt.subs.is_empty() {
                "NULL".to_string()
            } else {
                names::sub(id.index())
            }, " },");
    }
    w.close_semi();
    for (id, wt) in m.watches.iter() {
        if let WatchAddr::Symbol { .. } = wt.addr {
            let p = names::sym_addr(id.index());
            cline!(w; "static unsigned long ", p, ";");
            // stp_kaddr (stp_watch.h): a value that is not a kernel address fails the load.
            cline!(w; "module_param(", p, ", stp_kaddr, 0400);");
        }
    }
    w.line("");
}

/// Each watch's hit handler and sub-probe dispatcher: after the probe bodies they call.
pub fn handlers(m: &Module, sm: &SourceMap, w: &mut CWriter) {
    for (id, wt) in m.watches.iter() {
        let i = id.index();
        w.line("/* NMI-like context: the watchpoint's debug exception, after the access on x86 (#DB), */");
        w.line(
            "/* before it on arm64 (through stp_hwbp_arm64.h's hook, with the value after it). */",
        );
        copen!(w; "static void ", names::hit(i), "(struct perf_event *bp, struct perf_sample_data *data, struct pt_regs *regs)");
        w.line("struct stp_winst *w = stp_winst_of(bp);");
        if wt.change {
            w.line("int64_t old = 0;");
            w.line("bool changed;");
        }
        w.line("");
        w.line("if (!stp_winst_live(w))");
        w.line("\treturn;");
        if wt.change {
            w.line("changed = stp_winst_changed(w, &old);");
        }
        for &(p, pt) in &wt.users {
            let (pp, wh) = pp_where(m, sm, p, pt);
            let run = format!(
                "stp_run_hit({}, {pp}, {wh}, regs, w, {});",
                names::probe(p.index()),
                if wt.change { "true, old" } else { "false, 0" }
            );
            if matches!(m.probes[p].points[pt].kind, PointKind::Change(_)) {
                w.line("if (changed)");
                cline!(w; "\t", run);
            } else {
                w.line(run);
            }
        }
        w.close();
        w.line("");
        if wt.subs.is_empty() {
            continue;
        }
        w.line("/* Process context (the arbiter's worker): the sub-probes, in script order. */");
        copen!(w; "static void ", names::sub(i), "(struct stp_winst *w, int kind, const char *reason)");
        w.open("switch (kind)");
        for k in [SubKind::Begin, SubKind::End, SubKind::Unavailable] {
            let subs: Vec<_> = wt.subs.iter().filter(|s| s.2 == k).collect();
            if subs.is_empty() {
                continue;
            }
            cline!(w; "case STP_SUB_", k.name().to_uppercase(), ":");
            for &&(p, pt, _) in &subs {
                let (pp, wh) = pp_where(m, sm, p, pt);
                cline!(w; "\tstp_run_sub(", names::probe(p.index()), ", ", pp, ", ", wh, ", w, reason);");
            }
            w.line("\tbreak;");
        }
        w.close();
        w.close();
        w.line("");
    }
}

/// Module init: resolves symbol addresses (the loader's parameter, else kallsyms), then arms
/// the start-up watches; a failure that no `.unavailable` takes fails the load.
pub fn init(m: &Module, w: &mut CWriter) {
    if m.watches.is_empty() {
        return;
    }
    for (id, wt) in m.watches.iter() {
        if let WatchAddr::Symbol { name, offset } = &wt.addr {
            let (i, p) = (id.index(), names::sym_addr(id.index()));
            cline!(w; "if (!", p, ")");
            cline!(w; "\t", p, " = stp_symbol_lookup(", c_string(name), ");");
            cline!(w; "if (", p, ")");
            w.line_fmt(format_args!(
                "\t{}[{i}].addr = {p} + {offset:#x}UL;",
                names::WDECLS
            ));
            w.line("else");
            cline!(w; "\t", names::WDECLS, "[", i, "].symbol_missing = true;");
        }
    }
    cline!(w; "rc = stp_arbiter_init(", names::WDECLS, ", ARRAY_SIZE(", names::WDECLS, "));");
    w.line("if (rc)");
    w.line("\tgoto fail_runtime;");
}
