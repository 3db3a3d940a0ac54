//! The function-probe part of the generated module: the table of `struct stp_kp` that
//! `runtime-c/stp_kprobe.h` registers at load, one entry or return handler per point, and the
//! parameters through which the loader passes a wildcard's matching functions.

use super::names;
use super::watches::pp_where;
use super::writer::{CWriter, c_string, cline, copen};
use crate::diag::SourceMap;
use crate::ir::*;

/// The table and, for wildcards, their `.modinfo` pattern and list parameter: before the
/// handlers, which the table names.
pub fn table(m: &Module, w: &mut CWriter) {
    if m.kprobes.is_empty() {
        return;
    }
    w.line("/* Function probes (stp_kprobe.h), registered at load in script order. */");
    for (id, k) in m.kprobes.iter() {
        let i = id.index();
        if k.ret {
            cline!(w; "static int ", names::kp_handler(i), "(struct kretprobe_instance *ri, struct pt_regs *regs);");
        } else {
            cline!(w; "static int ", names::kp_handler(i), "(struct kprobe *p, struct pt_regs *regs);");
        }
        if k.wildcard() {
            // The loader expands the pattern against /proc/kallsyms (less what the kernel
            // will not probe) and passes the matches in this array, one function a name:
            // a single charp parameter would cap them at 1024 bytes. One more entry than
            // MAXKPROBES lets the module itself report a pattern matching too many (the
            // loader passes no more than that, as stphwbp_kpmax tells it).
            cline!(w; "MODULE_INFO(stphwbp_kpglob, ", c_string(&format!(
                    "{i}:{}:{}",
                    k.module.as_deref().unwrap_or(""),
                    k.symbol
                )), ");");
            cline!(w; "static char *", names::kp_list(i), "[STP_MAXKPROBES + 1];");
            cline!(w; "static unsigned int ", names::kp_nlist(i), ";");
            cline!(w; "module_param_array(", names::kp_list(i), ", charp, &", names::kp_nlist(i), ", 0400);");
        }
    }
    if m.kprobes.iter().any(|(_, k)| k.wildcard()) {
        w.line("MODULE_INFO(stphwbp_kpmax, __stringify(STP_MAXKPROBES));");
    }
    copen!(w; "static struct stp_kp ", names::KPROBES, "[] =");
    for (id, k) in m.kprobes.iter() {
        let flag = |b: bool| if b { "true" } else { "false" };
        let module = match &k.module {
            Some(md) => c_string(md),
            None => "NULL".into(),
        };
        let handler = if k.ret { ".exit" } else { ".entry" };
        let mut resolved = String::new();
        if let Some((head, tail)) = wildcard_pp(k) {
            resolved = format!(
                ".pp_head = {}, .pp_tail = {}, ",
                c_string(head),
                c_string(tail)
            );
        }
        if k.wildcard() {
            resolved.push_str(&format!(".list = {}, ", names::kp_list(id.index())));
        }
        cline!(w; "{ .pp = ", c_string(&k.text), ", ", resolved, ".module = ", module, ", .symbol = ", c_string(&k.symbol), ", .ret = ", flag(k.ret), ", .optional = ", flag(k.optional), ", .sufficient = ", flag(k.sufficient), ", .wildcard = ", flag(k.wildcard()), ", .group = ", k.probe.index(), ", .maxactive = ", k.maxactive.unwrap_or(0), ", ", handler, " = ", names::kp_handler(id.index()), " },");
    }
    w.close_semi();
    w.line("");
}

/// A wildcard point's text split around its pattern: what comes before and after the
/// function each matching instance puts in its place for pp() (`kernel.function("` and
/// `").return`), as SystemTap gives the resolved point. None for a point naming one function
/// (its pp() is its text).
fn wildcard_pp(k: &Kprobe) -> Option<(&str, &str)> {
    if !k.wildcard() {
        return None;
    }
    // Function names are checked in pass 2 to need no escaping, so the text holds the
    // pattern as written.
    let at = k.text.rfind(&format!("function(\"{}\")", k.symbol))?;
    let head = at + "function(\"".len();
    Some((&k.text[..head], &k.text[head + k.symbol.len()..]))
}

/// One handler per point: it runs the point's probe body with the instance's function (and,
/// for a wildcard, its pp() text).
pub fn handlers(m: &Module, sm: &SourceMap, w: &mut CWriter) {
    for (id, k) in m.kprobes.iter() {
        let i = id.index();
        let pt = m.probes[k.probe]
            .points
            .iter()
            .position(|p| p.kind == PointKind::Kprobe(id))
            .unwrap_or(0);
        let (mut pp, wh) = pp_where(m, sm, k.probe, pt);
        if wildcard_pp(k).is_some() {
            pp = "in->pp".into();
        }
        w.line("/* NMI-like context: a kprobe handler, preemption disabled. */");
        if k.ret {
            copen!(w; "static int ", names::kp_handler(i), "(struct kretprobe_instance *ri, struct pt_regs *regs)");
            w.line("struct stp_kp_inst *in = stp_kp_of_ret(ri);");
            w.line("");
            cline!(w; "stp_run_kprobe(", names::probe(k.probe.index()), ", ", pp, ", ", wh, ", regs, in->func, (unsigned long)in->rp.kp.addr, STP_FN_RETURN);");
        } else {
            copen!(w; "static int ", names::kp_handler(i), "(struct kprobe *p, struct pt_regs *regs)");
            w.line("struct stp_kp_inst *in = stp_kp_of(p);");
            w.line("");
            cline!(w; "stp_run_kprobe(", names::probe(k.probe.index()), ", ", pp, ", ", wh, ", regs, in->func, (unsigned long)p->addr, STP_FN_ENTRY);");
        }
        w.line("return 0;");
        w.close();
        w.line("");
    }
}

/// Module init, after the start-up watches are armed: registers every function probe; a
/// failure (not optional) fails the load, and the caller's `fail_runtime` rolls back the
/// watches.
pub fn init(m: &Module, otf: &super::conds::OnTheFly, w: &mut CWriter) {
    if m.kprobes.is_empty() {
        return;
    }
    for (id, k) in m.kprobes.iter() {
        if k.wildcard() {
            // How many names the loader passed is known only now.
            cline!(w; names::KPROBES, "[", id.index(), "].nlist = ", names::kp_nlist(id.index()), ";");
        }
    }
    // Conditional probes whose condition is false start disabled.
    let initially = if otf.kprobes.is_empty() {
        "NULL"
    } else {
        "stp_kp_initially"
    };
    cline!(w; "rc = stp_kprobes_init(", names::KPROBES, ", ARRAY_SIZE(", names::KPROBES, "), ", initially, ");");
    w.line("if (rc)");
    w.line("\tgoto fail_runtime;");
}

/// Session end, before the watches: no function probe fires during the end probes.
pub fn shutdown(m: &Module, w: &mut CWriter) {
    if !m.kprobes.is_empty() {
        cline!(w; "stp_kprobes_exit(", names::KPROBES, ", ARRAY_SIZE(", names::KPROBES, "));");
    }
}
