//! The function-probe part of the generated module: the table of `struct stp_kp` that
//! `runtime-c/stp_kprobe.h` registers at load, one entry or return handler per point, and the
//! parameters through which the loader passes a wildcard's matching functions.

use super::names;
use super::watches::pp_where;
use super::writer::{CWriter, c_string};
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
            w.line_fmt(format_args!(
                "static int {}(struct kretprobe_instance *ri, struct pt_regs *regs);",
                names::kp_handler(i)
            ));
        } else {
            w.line_fmt(format_args!(
                "static int {}(struct kprobe *p, struct pt_regs *regs);",
                names::kp_handler(i)
            ));
        }
        if k.wildcard() {
            // The loader expands the pattern against /proc/kallsyms (less what the kernel
            // will not probe) and passes the matches in this array, one function a name:
            // a single charp parameter would cap them at 1024 bytes. One more entry than
            // MAXKPROBES lets the module itself report a pattern matching too many (the
            // loader passes no more than that, as stphwbp_kpmax tells it).
            w.line_fmt(format_args!(
                "MODULE_INFO(stphwbp_kpglob, {});",
                c_string(&format!(
                    "{i}:{}:{}",
                    k.module.as_deref().unwrap_or(""),
                    k.symbol
                ))
            ));
            w.line_fmt(format_args!(
                "static char *{}[STP_MAXKPROBES + 1];",
                names::kp_list(i)
            ));
            w.line_fmt(format_args!("static unsigned int {};", names::kp_nlist(i)));
            w.line_fmt(format_args!(
                "module_param_array({}, charp, &{}, 0400);",
                names::kp_list(i),
                names::kp_nlist(i)
            ));
        }
    }
    if m.kprobes.iter().any(|(_, k)| k.wildcard()) {
        w.line("MODULE_INFO(stphwbp_kpmax, __stringify(STP_MAXKPROBES));");
    }
    w.open_fmt(format_args!("static struct stp_kp {}[] =", names::KPROBES));
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
        w.line_fmt(format_args!(
            "{{ .pp = {}, {resolved}.module = {module}, .symbol = {}, .ret = {}, .optional = {}, .sufficient = {}, .wildcard = {}, .group = {}, .maxactive = {}, {handler} = {} }},",
            c_string(&k.text),
            c_string(&k.symbol),
            flag(k.ret),
            flag(k.optional),
            flag(k.sufficient),
            flag(k.wildcard()),
            k.probe.index(),
            k.maxactive.unwrap_or(0),
            names::kp_handler(id.index()),
        ));
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
            w.open_fmt(format_args!(
                "static int {}(struct kretprobe_instance *ri, struct pt_regs *regs)",
                names::kp_handler(i)
            ));
            w.line("struct stp_kp_inst *in = stp_kp_of_ret(ri);");
            w.line("");
            w.line_fmt(format_args!(
                "stp_run_kprobe({}, {pp}, {wh}, regs, in->func, (unsigned long)in->rp.kp.addr, STP_FN_RETURN);",
                names::probe(k.probe.index())
            ));
        } else {
            w.open_fmt(format_args!(
                "static int {}(struct kprobe *p, struct pt_regs *regs)",
                names::kp_handler(i)
            ));
            w.line("struct stp_kp_inst *in = stp_kp_of(p);");
            w.line("");
            w.line_fmt(format_args!(
                "stp_run_kprobe({}, {pp}, {wh}, regs, in->func, (unsigned long)p->addr, STP_FN_ENTRY);",
                names::probe(k.probe.index())
            ));
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
            w.line_fmt(format_args!(
                "{}[{}].nlist = {};",
                names::KPROBES,
                id.index(),
                names::kp_nlist(id.index())
            ));
        }
    }
    // Conditional probes whose condition is false start disabled.
    let initially = if otf.kprobes.is_empty() {
        "NULL"
    } else {
        "stp_kp_initially"
    };
    w.line_fmt(format_args!(
        "rc = stp_kprobes_init({0}, ARRAY_SIZE({0}), {initially});",
        names::KPROBES
    ));
    w.line("if (rc)");
    w.line("\tgoto fail_runtime;");
}

/// Session end, before the watches: no function probe fires during the end probes.
pub fn shutdown(m: &Module, w: &mut CWriter) {
    if !m.kprobes.is_empty() {
        w.line_fmt(format_args!(
            "stp_kprobes_exit({0}, ARRAY_SIZE({0}));",
            names::KPROBES
        ));
    }
}
