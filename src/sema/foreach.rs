//! Pass 2: an array must not change while a `foreach` iterates it, as SystemTap refuses.
//!
//! A foreach walks an index of the array's entries taken when the loop starts (sorted, if it
//! asks for an order). Setting, incrementing or deleting an element, or clearing the array,
//! inside the loop would skip an entry, repeat one or visit a new one, and a value sort
//! would no longer hold. This check runs on the IR once every reachable function is lowered,
//! so that a change made in a called function (at any depth, recursion included) is found
//! at the call inside the loop. Reading the array, and nested loops over it in the same
//! order (checked while lowering), stay allowed.

use crate::diag::{Diag, Diags, Span, codes};
use crate::ir::{Block, Expr, ExprKind, Function, Global, Id, LValue, Module, Stmt, StmtKind};
use std::collections::BTreeMap;

/// What the walk reports, in evaluation order.
enum Event {
    /// The array changes here.
    Write(Id<Global>, Span),
    Call(Id<Function>, Span),
    /// A foreach over the array starts (at its `foreach` keyword); its body follows, then
    /// `LoopEnd`.
    Loop(Id<Global>, Span),
    LoopEnd,
}

/// A place where an array changes, in a function.
#[derive(Clone, Copy)]
struct Change {
    at: Span,
    func: Id<Function>,
}

pub fn check(m: &Module, diags: &mut Diags) {
    // What each function changes, directly, then through the functions it calls.
    let mut changes: Vec<BTreeMap<Id<Global>, Change>> = vec![];
    let mut calls: Vec<Vec<Id<Function>>> = vec![];
    // Only a body with a loop can have something to report.
    let mut has_loop: Vec<bool> = vec![];
    for (id, f) in m.functions.iter() {
        let (mut ch, mut cs, mut looping) = (BTreeMap::new(), vec![], false);
        body_of(f, &mut |ev| match ev {
            Event::Write(g, at) => {
                ch.entry(g).or_insert(Change { at, func: id });
            }
            Event::Call(c, _) => cs.push(c),
            Event::Loop(..) => looping = true,
            Event::LoopEnd => {}
        });
        changes.push(ch);
        calls.push(cs);
        has_loop.push(looping);
    }
    loop {
        let mut changed = false;
        for f in 0..changes.len() {
            // Taken out while the callees' changes join it (a call to itself adds nothing).
            let mut mine = std::mem::take(&mut changes[f]);
            for c in calls[f].iter().filter(|c| c.index() != f) {
                for (&g, &w) in &changes[c.index()] {
                    if let std::collections::btree_map::Entry::Vacant(v) = mine.entry(g) {
                        v.insert(w);
                        changed = true;
                    }
                }
            }
            changes[f] = mine;
        }
        if !changed {
            break;
        }
    }

    let report = |diags: &mut Diags, loops: &[(Id<Global>, Span)], ev: &Event| {
        let (g, at, change) = match *ev {
            Event::Write(g, at) => (g, at, None),
            Event::Call(f, at) => match changes[f.index()]
                .iter()
                .find(|(g, _)| loops.iter().any(|(l, _)| l == *g))
            {
                Some((&g, &c)) => (g, at, Some((f, c))),
                None => return,
            },
            Event::Loop(..) | Event::LoopEnd => return,
        };
        let Some(&(_, head)) = loops.iter().find(|(l, _)| *l == g) else {
            return;
        };
        let name = &m.globals[g].name;
        let mut d = Diag::error(
            codes::FOREACH_MODIFY,
            at,
            format!("`{name}` changes while a foreach iterates it"),
        );
        d = match change {
            None => d.label("changed here"),
            Some((f, c)) => {
                let inner = &m.functions[c.func].name;
                d.label(format!("`{}` changes `{name}`", m.functions[f].name))
                    .secondary(c.at, format!("changed here, in `{inner}`"))
            }
        };
        diags.push(
            d.secondary(head, format!("the loop over `{name}`"))
                .help("the loop would skip, repeat or add entries: collect the changes in another array and make them after the loop"),
        );
    };
    // The loops enclosing the event at hand; each body ends with none open.
    let mut loops: Vec<(Id<Global>, Span)> = vec![];
    let mut on_event = |ev: Event| match ev {
        Event::Loop(g, head) => loops.push((g, head)),
        Event::LoopEnd => {
            loops.pop();
        }
        _ if !loops.is_empty() => report(diags, &loops, &ev),
        _ => {}
    };
    // A body's statements run outside any loop: only those that can hold one can report.
    for (_, p) in m.probes.iter() {
        outer(&p.body, &mut on_event);
    }
    for ((_, f), _) in m.functions.iter().zip(&has_loop).filter(|(_, l)| **l) {
        if let crate::ir::Body::Script(b) = &f.body {
            outer(b, &mut on_event);
        }
    }
}

/// `block` for a body, stepping over the statements that hold no other (an expression, a
/// `return`, a `delete`...): with no loop open, their events report nothing.
fn outer(b: &Block, ev: &mut dyn FnMut(Event)) {
    for s in &b.stmts {
        if matches!(
            s.kind,
            StmtKind::Block(_)
                | StmtKind::If { .. }
                | StmtKind::While { .. }
                | StmtKind::For { .. }
                | StmtKind::Foreach(_)
                | StmtKind::Try(_)
        ) {
            stmt(s, ev);
        }
    }
}

fn body_of(f: &Function, ev: &mut dyn FnMut(Event)) {
    if let crate::ir::Body::Script(b) = &f.body {
        block(b, ev);
    }
}

fn block(b: &Block, ev: &mut dyn FnMut(Event)) {
    b.stmts.iter().for_each(|s| stmt(s, ev));
}

fn stmt(s: &Stmt, ev: &mut dyn FnMut(Event)) {
    match &s.kind {
        StmtKind::Expr(e) | StmtKind::Return(Some(e)) => expr(e, ev),
        StmtKind::Block(b) => block(b, ev),
        StmtKind::If { cond, then, els } => {
            expr(cond, ev);
            stmt(then, ev);
            if let Some(e) = els {
                stmt(e, ev);
            }
        }
        StmtKind::While { cond, body } => {
            expr(cond, ev);
            stmt(body, ev);
        }
        StmtKind::For {
            init,
            cond,
            step,
            body,
        } => {
            [init, cond, step]
                .into_iter()
                .flatten()
                .for_each(|e| expr(e, ev));
            stmt(body, ev);
        }
        StmtKind::Foreach(fe) => {
            let crate::ir::Foreach {
                array,
                limit,
                slice,
                body,
                ..
            } = &**fe;
            // The limit and the slice are evaluated once, before the loop starts.
            if let Some(l) = limit {
                expr(l, ev);
            }
            slice.iter().flatten().for_each(|k| expr(k, ev));
            let keyword = Span::new(
                s.span.file,
                s.span.start as usize..s.span.start as usize + 7,
            );
            ev(Event::Loop(*array, keyword));
            stmt(body, ev);
            ev(Event::LoopEnd);
        }
        StmtKind::Delete(lv) => lvalue(lv, s.span, true, ev),
        // `a[k] <<< v` may add a key to the array a foreach iterates.
        StmtKind::StatAdd { stat, keys, value } => {
            keys.iter().for_each(|k| expr(k, ev));
            expr(value, ev);
            if !keys.is_empty() {
                ev(Event::Write(*stat, s.span));
            }
        }
        StmtKind::PrintHist { keys, .. } => keys.iter().for_each(|k| expr(k, ev)),
        StmtKind::Enable { arg, .. } | StmtKind::Disable { arg, .. } => {
            if let Some(e) = arg {
                expr(e, ev)
            }
        }
        StmtKind::Try(t) => {
            let crate::ir::Try { body, var, catch } = &**t;
            block(body, ev);
            if let Some((v, _)) = var {
                lvalue(v, s.span, false, ev);
            }
            block(catch, ev);
        }
        StmtKind::Break
        | StmtKind::Continue
        | StmtKind::Next
        | StmtKind::Return(None)
        | StmtKind::Empty => {}
    }
}

/// An lvalue's keys are evaluated first, then (when `write`) the array changes at `at`.
fn lvalue(lv: &LValue, at: Span, write: bool, ev: &mut dyn FnMut(Event)) {
    match lv {
        LValue::Index { array, keys } => {
            keys.iter().for_each(|k| expr(k, ev));
            if write {
                ev(Event::Write(*array, at));
            }
        }
        LValue::Array(g) if write => ev(Event::Write(*g, at)),
        LValue::Array(_) | LValue::Local(_) | LValue::Global(_) => {}
    }
}

fn expr(e: &Expr, ev: &mut dyn FnMut(Event)) {
    match &e.kind {
        ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Wildcard | ExprKind::Invalid => {}
        ExprKind::Var(lv) => lvalue(lv, e.span, false, ev),
        ExprKind::Call { func, args } => {
            args.iter().for_each(|a| expr(a, ev));
            ev(Event::Call(*func, e.span));
        }
        ExprKind::Builtin { args, .. } | ExprKind::In { keys: args, .. } => {
            args.iter().for_each(|a| expr(a, ev))
        }
        ExprKind::Unary { e: x, .. } | ExprKind::Regex { s: x, .. } => expr(x, ev),
        ExprKind::Binary { l, r, .. } => {
            expr(l, ev);
            expr(r, ev);
        }
        ExprKind::Ternary { cond, then, els } => {
            expr(cond, ev);
            expr(then, ev);
            expr(els, ev);
        }
        ExprKind::Assign { target, value, .. } => {
            expr(value, ev);
            lvalue(target, e.span, true, ev);
        }
        ExprKind::IncDec { target, .. } => lvalue(target, e.span, true, ev),
        ExprKind::StatGet { bucket, keys, .. } => {
            keys.iter().for_each(|k| expr(k, ev));
            if let Some(b) = bucket {
                expr(b, ev)
            }
        }
    }
}
