//! On-the-fly arming of conditional probes, as SystemTap does it: `probe P if (COND)` where
//! COND reads only globals registers P's points only while COND holds. A function probe is
//! enabled and disabled; a start-up watchpoint whose every hit probe is such a probe is armed
//! and disarmed, so its debug register is free while no condition holds. Every probe body that
//! writes a global some condition reads kicks the arbiter (`stp_cond_kick`), whose worker
//! re-evaluates the conditions in process context and applies them (`stp_conds_apply`). The
//! bodies keep checking their condition too, so a hit between the write and the worker's
//! turn is still filtered.

use super::body::BodyGen;
use super::writer::{CWriter, cline, copen};
use super::{Uses, frame_struct, locks, names, unlock, watches::pp_where};
use crate::diag::SourceMap;
use crate::ir::*;
use std::collections::BTreeSet;

/// What on-the-fly arming covers in one module.
#[derive(Default)]
pub struct OnTheFly {
    /// The probes whose condition is evaluated on the fly, in order (index = condition number).
    pub probes: Vec<Id<Probe>>,
    /// Globals those conditions read: a body that writes one kicks the re-evaluation.
    pub globals: BTreeSet<usize>,
    /// Function probe points and the condition that enables them.
    pub kprobes: Vec<(Id<Kprobe>, usize)>,
    /// Start-up watches armed while any of these conditions holds.
    pub watches: Vec<(Id<Watch>, Vec<usize>)>,
}

/// The globals an expression reads, or None if it does anything but read globals and
/// constants (a call, a local, an assignment): such conditions are only checked in the body.
fn global_reads(e: &Expr, out: &mut BTreeSet<usize>) -> Option<()> {
    match &e.kind {
        ExprKind::Long(_) | ExprKind::Str(_) => Some(()),
        // `[k, *] in arr` scans the array, charged to a probe run: checked in the body only.
        ExprKind::Wildcard => None,
        ExprKind::Var(LValue::Global(g)) => {
            out.insert(g.index());
            Some(())
        }
        ExprKind::Var(LValue::Index { array, keys }) | ExprKind::In { array, keys } => {
            out.insert(array.index());
            keys.iter().try_for_each(|k| global_reads(k, out))
        }
        ExprKind::Unary { e, .. } => global_reads(e, out),
        ExprKind::Binary { l, r, .. } => {
            global_reads(l, out)?;
            global_reads(r, out)
        }
        ExprKind::Ternary { cond, then, els } => {
            global_reads(cond, out)?;
            global_reads(then, out)?;
            global_reads(els, out)
        }
        _ => None,
    }
}

pub fn analyze(m: &Module) -> OnTheFly {
    let mut o = OnTheFly::default();
    let mut cond_of: Vec<Option<usize>> = vec![None; m.probes.len()];
    for (id, p) in m.probes.iter() {
        let Some(c) = &p.cond else { continue };
        let mut reads = BTreeSet::new();
        if global_reads(c, &mut reads).is_none() {
            continue;
        }
        // Only probes with something to arm: function probes or start-up watch hits.
        let armable = p.points.iter().any(|pt| match pt.kind {
            PointKind::Kprobe(_) => true,
            PointKind::Data(w) | PointKind::Change(w) => m.watches[w].name.is_none(),
            _ => false,
        });
        if !armable {
            continue;
        }
        cond_of[id.index()] = Some(o.probes.len());
        o.probes.push(id);
        o.globals.extend(reads);
    }
    for (kid, k) in m.kprobes.iter() {
        if let Some(n) = cond_of[k.probe.index()] {
            o.kprobes.push((kid, n));
        }
    }
    for (wid, w) in m.watches.iter() {
        if w.name.is_some() || w.users.is_empty() {
            continue;
        }
        let conds: Option<Vec<usize>> = w.users.iter().map(|(p, _)| cond_of[p.index()]).collect();
        if let Some(mut cs) = conds {
            cs.dedup();
            o.watches.push((wid, cs));
        }
    }
    o
}

/// Whether probe `p`'s body must kick the re-evaluation: it writes a global some condition
/// reads.
pub fn kicks(o: &OnTheFly, u: &Uses) -> bool {
    u.globals.iter().any(|&(g, w)| w && o.globals.contains(&g))
}

/// The condition functions, their frames, and `stp_conds_eval`/`stp_conds_apply`/
/// `stp_kp_initially`.
pub fn emit(
    m: &Module,
    sm: &SourceMap,
    shared: &super::Shared,
    o: &OnTheFly,
    frames: &mut CWriter,
    unions: &mut CWriter,
    bodies: &mut CWriter,
) {
    if o.probes.is_empty() {
        return;
    }
    for (n, &pid) in o.probes.iter().enumerate() {
        let p = &m.probes[pid];
        let Some(c) = &p.cond else { continue };
        let mut g = BodyGen::new(m, sm, shared, &p.locals, None);
        let v = g.long(c);
        cline!(g.w; "c->cond_result = ", v, ";");
        let fname = names::frame("c", n);
        frame_struct(frames, &fname, &Arena::default(), &g.temps);
        cline!(unions; "struct ", fname, " c", n, ";");
        let mut reads = BTreeSet::new();
        global_reads(c, &mut reads);
        let u = Uses {
            globals: reads.into_iter().map(|g| (g, false)).collect(),
            ..Uses::default()
        };
        cline!(bodies; "/* Process context: the condition of the probe at ", super::comment_where(sm, p.span), ". */");
        copen!(bodies; "static void ", names::cond(n), "(struct stp_context *c)");
        cline!(bodies; "struct ", fname, " *f __maybe_unused = stp_frame(c);");
        bodies.line("");
        let release = locks(shared, &u, bodies);
        bodies.raw(&g.w.finish());
        bodies.line("goto stp_out;");
        bodies.label("stp_out");
        unlock(&release, bodies);
        bodies.close();
        bodies.line("");
    }
    cline!(bodies; "static bool stp_cond_vals[", o.probes.len(), "];");
    bodies.line("");
    bodies.line("/* Process context: every on-the-fly condition, evaluated now. */");
    bodies.open("static void stp_conds_eval(void)");
    for (n, &pid) in o.probes.iter().enumerate() {
        let (pp, wh) = pp_where(m, sm, pid, 0);
        cline!(bodies; "stp_cond_vals[", n, "] = stp_cond_eval(", names::cond(n), ", ", pp, ", ", wh, ");");
    }
    bodies.close();
    bodies.line("");
    if !o.kprobes.is_empty() {
        bodies
            .line("/* Process context (module init): whether function probe i starts enabled. */");
        bodies.open("static bool stp_kp_initially(int i)");
        bodies.open("switch (i)");
        for (k, n) in &o.kprobes {
            cline!(bodies; "case ", k.index(), ": return stp_cond_vals[", n, "];");
        }
        bodies.close();
        bodies.line("return true;");
        bodies.close();
        bodies.line("");
    }
    bodies.line(
        "/* Process context (the arbiter's worker): arm and disarm what the conditions say. */",
    );
    bodies.open("static void stp_conds_apply(void)");
    bodies.line("stp_conds_eval();");
    for (k, n) in &o.kprobes {
        cline!(bodies; "stp_kp_set_enabled(&", names::KPROBES, "[", k.index(), "], stp_cond_vals[", n, "]);");
    }
    for (w, cs) in &o.watches {
        cline!(bodies; "stp_arb_want(&", names::WDECLS, "[", w.index(), "], ", any_of(cs), ");");
    }
    bodies.close();
    bodies.line("");
}

fn any_of(cs: &[usize]) -> String {
    cs.iter()
        .map(|n| format!("stp_cond_vals[{n}]"))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// Module init, before arming: evaluate the conditions; conditional start-up watches whose
/// conditions are all false are not armed at load.
pub fn init_before_arming(o: &OnTheFly, w: &mut CWriter) {
    if o.probes.is_empty() {
        return;
    }
    w.line("stp_conds_eval();");
    for (wid, cs) in &o.watches {
        cline!(w; names::WDECLS, "[", wid.index(), "].held_off = !(", any_of(cs), ");");
    }
}

/// Module init, after arming: from now on the worker applies condition changes.
pub fn init_after_arming(o: &OnTheFly, w: &mut CWriter) {
    if !o.probes.is_empty() {
        w.line("stp_arb_conds_fn = stp_conds_apply;");
    }
}
