//! Type inference, as SystemTap does it: every variable, array key and value, function parameter
//! and return value is `long` or `string`, learned from any use that fixes it (a literal, an
//! operator, a typed parameter, a printf directive) and propagated to a fixed point. A final
//! walk reports conflicts at the use that conflicts, and anything still unknown.

use super::Owner;
use super::format;
use crate::diag::{Diag, Diags, Span, codes};
use crate::ir::{
    Body, Builtin, Expr, ExprKind, Function, Global, Id, LValue, Local, Module, Stmt, StmtKind, Ty,
};
use crate::syntax::ast::BinOp;

#[derive(Clone, Copy)]
enum Slot {
    Local(Owner, Id<Local>),
    Global(Id<Global>),
    Key(Id<Global>, usize),
    Ret(Id<Function>),
}

struct Infer<'d> {
    report: bool,
    changed: bool,
    diags: &'d mut Diags,
    global_used: Vec<bool>,
}

pub fn infer(m: &mut Module, diags: &mut Diags) {
    let mut inf = Infer {
        report: false,
        changed: false,
        diags,
        global_used: vec![false; m.globals.len()],
    };
    for _ in 0..200 {
        inf.changed = false;
        inf.module(m);
        if !inf.changed {
            break;
        }
    }
    inf.report = true;
    inf.module(m);
    inf.unresolved(m);
}

fn locals_of(m: &mut Module, o: Owner) -> &mut crate::ir::Arena<Local> {
    match o {
        Owner::Probe(p) => &mut m.probes[p].locals,
        Owner::Function(f) => &mut m.functions[f].locals,
    }
}

impl Infer<'_> {
    fn module(&mut self, m: &mut Module) {
        for p in m.probes.ids() {
            let o = Owner::Probe(p);
            let mut cond = m.probes[p].cond.take();
            if let Some(c) = &mut cond {
                self.check(m, o, c, Ty::Long);
            }
            m.probes[p].cond = cond;
            let mut body = std::mem::take(&mut m.probes[p].body.stmts);
            for s in &mut body {
                self.stmt(m, o, s);
            }
            m.probes[p].body.stmts = body;
        }
        for f in m.functions.ids() {
            let o = Owner::Function(f);
            if let Body::Script(b) = &mut m.functions[f].body {
                let mut body = std::mem::take(&mut b.stmts);
                for s in &mut body {
                    self.stmt(m, o, s);
                }
                if let Body::Script(b) = &mut m.functions[f].body {
                    b.stmts = body;
                }
            }
        }
    }

    fn get(&self, m: &mut Module, s: Slot) -> Ty {
        match s {
            Slot::Local(o, l) => locals_of(m, o)[l].ty,
            Slot::Global(g) => m.globals[g].ty,
            Slot::Key(g, i) => m.globals[g]
                .array
                .as_ref()
                .and_then(|a| a.keys.get(i).copied())
                .unwrap_or(Ty::Unknown),
            Slot::Ret(f) => m.functions[f].ret,
        }
    }

    /// Learns `t` for a slot that has no type yet; returns the slot's type.
    fn unify(&mut self, m: &mut Module, s: Slot, t: Ty) -> Ty {
        let cur = self.get(m, s);
        if cur != Ty::Unknown || t == Ty::Unknown || t == Ty::Void {
            return cur;
        }
        self.changed = true;
        match s {
            Slot::Local(o, l) => locals_of(m, o)[l].ty = t,
            Slot::Global(g) => m.globals[g].ty = t,
            Slot::Key(g, i) => {
                if let Some(k) = m.globals[g].array.as_mut().and_then(|a| a.keys.get_mut(i)) {
                    *k = t;
                }
            }
            Slot::Ret(f) => m.functions[f].ret = t,
        }
        t
    }

    fn mismatch(&mut self, span: Span, want: Ty, got: Ty, what: Option<String>) {
        if !self.report {
            return;
        }
        let mut d = Diag::error(
            codes::TYPE_MISMATCH,
            span,
            format!("type mismatch: expected {want}, found {got}"),
        )
        .label(format!("this is a {got}"));
        if let Some(w) = what {
            d = d.note(w);
        }
        if got == Ty::Void {
            d = d.label("this call returns no value");
        }
        self.diags.push(d);
    }

    fn check(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        let t = self.expr(m, o, e, want);
        e.ty = t;
        if want != Ty::Unknown && t != Ty::Unknown && t != want {
            let what = match &e.kind {
                ExprKind::Var(lv) => Some(self.describe(m, o, lv)),
                _ => None,
            };
            self.mismatch(e.span, want, t, what);
        }
        t
    }

    fn describe(&self, m: &mut Module, o: Owner, lv: &LValue) -> String {
        match lv {
            LValue::Local(l) => {
                let loc = &locals_of(m, o)[*l];
                format!("local `{}` is a {}", loc.name, loc.ty)
            }
            LValue::Global(g) => {
                format!("global `{}` is a {}", m.globals[*g].name, m.globals[*g].ty)
            }
            LValue::Index { array, .. } | LValue::Array(array) => format!(
                "the values of array `{}` are {}",
                m.globals[*array].name, m.globals[*array].ty
            ),
        }
    }

    fn lvalue(&mut self, m: &mut Module, o: Owner, lv: &mut LValue, want: Ty) -> Ty {
        match lv {
            LValue::Local(l) => self.unify(m, Slot::Local(o, *l), want),
            LValue::Global(g) => {
                self.global_used[g.index()] = true;
                self.unify(m, Slot::Global(*g), want)
            }
            LValue::Index { array, keys } => {
                let g = *array;
                self.global_used[g.index()] = true;
                self.keys(m, o, g, keys);
                self.unify(m, Slot::Global(g), want)
            }
            LValue::Array(g) => {
                self.global_used[g.index()] = true;
                m.globals[*g].ty
            }
        }
    }

    fn keys(&mut self, m: &mut Module, o: Owner, g: Id<Global>, keys: &mut [Expr]) {
        for (i, k) in keys.iter_mut().enumerate() {
            let kt = self.get(m, Slot::Key(g, i));
            let t = self.check(m, o, k, kt);
            self.unify(m, Slot::Key(g, i), t);
        }
    }

    fn expr(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        match &mut e.kind {
            ExprKind::Long(_) => Ty::Long,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::Var(lv) => self.lvalue(m, o, lv, want),
            ExprKind::Call { func, args } => {
                let f = *func;
                for (i, a) in args.iter_mut().enumerate() {
                    let Some(&p) = m.functions[f].params.get(i) else {
                        self.check(m, o, a, Ty::Unknown);
                        continue;
                    };
                    let pt = m.functions[f].locals[p].ty;
                    let t = self.check(m, o, a, pt);
                    self.unify(m, Slot::Local(Owner::Function(f), p), t);
                }
                self.unify(m, Slot::Ret(f), want)
            }
            ExprKind::Builtin {
                which,
                format,
                args,
            } => {
                let convs: Vec<char> = format::conversions(format).collect();
                for (i, a) in args.iter_mut().enumerate() {
                    let want = match which {
                        Builtin::Printf | Builtin::Sprintf => convs
                            .get(i)
                            .map(|c| format::arg_type(*c))
                            .unwrap_or(Ty::Unknown),
                        _ => Ty::Unknown,
                    };
                    let t = self.check(m, o, a, want);
                    if self.report && t == Ty::Void {
                        self.mismatch(
                            a.span,
                            Ty::Long,
                            Ty::Void,
                            Some(format!("{} prints values", which.name())),
                        );
                    }
                }
                if *which == Builtin::Sprintf {
                    Ty::Str
                } else {
                    Ty::Void
                }
            }
            ExprKind::Unary { e, .. } => {
                self.check(m, o, e, Ty::Long);
                Ty::Long
            }
            ExprKind::Binary { op, l, r } => {
                if *op == BinOp::Concat {
                    self.check(m, o, l, Ty::Str);
                    self.check(m, o, r, Ty::Str);
                    Ty::Str
                } else if op.is_comparison() {
                    let mut lt = self.expr(m, o, l, Ty::Unknown);
                    l.ty = lt;
                    let rt = self.check(m, o, r, lt);
                    if lt == Ty::Unknown && rt != Ty::Unknown {
                        lt = self.check(m, o, l, rt);
                    }
                    if self.report && lt == Ty::Void {
                        self.mismatch(l.span, Ty::Long, Ty::Void, None);
                    }
                    Ty::Long
                } else {
                    self.check(m, o, l, Ty::Long);
                    self.check(m, o, r, Ty::Long);
                    Ty::Long
                }
            }
            ExprKind::Ternary { cond, then, els } => {
                self.check(m, o, cond, Ty::Long);
                let tt = self.check(m, o, then, want);
                let et = self.check(m, o, els, if want != Ty::Unknown { want } else { tt });
                if tt == Ty::Unknown && et != Ty::Unknown {
                    self.check(m, o, then, et)
                } else if tt != Ty::Unknown {
                    tt
                } else {
                    et
                }
            }
            ExprKind::Assign { op, target, value } => {
                let fixed = match op {
                    None => None,
                    Some(BinOp::Concat) => Some(Ty::Str),
                    Some(_) => Some(Ty::Long),
                };
                let tt = self.lvalue(m, o, target, fixed.unwrap_or(want));
                let vt = self.check(m, o, value, fixed.unwrap_or(tt));
                if tt == Ty::Unknown && vt != Ty::Unknown {
                    return self.lvalue(m, o, target, vt);
                }
                if let (Some(f), true) = (fixed, tt != Ty::Unknown) {
                    if tt != f {
                        let what = Some(self.describe(m, o, target));
                        self.mismatch(e.span, f, tt, what);
                    }
                }
                tt
            }
            ExprKind::IncDec { target, .. } => {
                let t = self.lvalue(m, o, target, Ty::Long);
                if t == Ty::Str {
                    let what = Some(self.describe(m, o, target));
                    self.mismatch(e.span, Ty::Long, Ty::Str, what);
                }
                Ty::Long
            }
            ExprKind::In { array, keys } => {
                let g = *array;
                self.global_used[g.index()] = true;
                self.keys(m, o, g, keys);
                Ty::Long
            }
        }
    }

    fn stmt(&mut self, m: &mut Module, o: Owner, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Expr(e) => {
                self.check(m, o, e, Ty::Unknown);
            }
            StmtKind::Block(b) => b.stmts.iter_mut().for_each(|s| self.stmt(m, o, s)),
            StmtKind::If { cond, then, els } => {
                self.check(m, o, cond, Ty::Long);
                self.stmt(m, o, then);
                if let Some(e) = els {
                    self.stmt(m, o, e);
                }
            }
            StmtKind::While { cond, body } => {
                self.check(m, o, cond, Ty::Long);
                self.stmt(m, o, body);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(e) = init {
                    self.check(m, o, e, Ty::Unknown);
                }
                if let Some(e) = cond {
                    self.check(m, o, e, Ty::Long);
                }
                if let Some(e) = step {
                    self.check(m, o, e, Ty::Unknown);
                }
                self.stmt(m, o, body);
            }
            StmtKind::Foreach {
                value,
                keys,
                array,
                limit,
                body,
                ..
            } => {
                let g = *array;
                self.global_used[g.index()] = true;
                for (i, k) in keys.iter().enumerate() {
                    let kt = self.get(m, Slot::Key(g, i));
                    let lt = self.unify(m, Slot::Local(o, *k), kt);
                    self.unify(m, Slot::Key(g, i), lt);
                    if self.report && kt != Ty::Unknown && lt != kt {
                        let sp = locals_of(m, o)[*k].span;
                        self.mismatch(
                            sp,
                            kt,
                            lt,
                            Some(format!("the keys of `{}` are {kt}", m.globals[g].name)),
                        );
                    }
                }
                if let Some(v) = value {
                    let vt = m.globals[g].ty;
                    let lt = self.unify(m, Slot::Local(o, *v), vt);
                    self.unify(m, Slot::Global(g), lt);
                }
                if let Some(l) = limit {
                    self.check(m, o, l, Ty::Long);
                }
                self.stmt(m, o, body);
            }
            StmtKind::Return(Some(e)) => {
                let Owner::Function(f) = o else { return };
                let rt = m.functions[f].ret;
                let t = self.check(m, o, e, rt);
                self.unify(m, Slot::Ret(f), t);
            }
            StmtKind::Delete(lv) => {
                self.lvalue(m, o, lv, Ty::Unknown);
            }
            StmtKind::Return(None)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Next
            | StmtKind::Empty => {}
        }
    }

    fn unresolved(&mut self, m: &mut Module) {
        let help = "give it a value of the type you mean (`x = 0` or `x = \"\"`), or declare a function parameter as `name:long`";
        for (gid, g) in m.globals.iter() {
            let used = self.global_used[gid.index()];
            if g.ty == Ty::Unknown && used {
                self.diags.push(
                    Diag::error(
                        codes::TYPE_UNRESOLVED,
                        g.span,
                        format!("cannot infer the type of global `{}`", g.name),
                    )
                    .help(help),
                );
            }
            if let Some(a) = &g.array {
                if a.keys.contains(&Ty::Unknown) && used && !a.keys.is_empty() {
                    self.diags.push(
                        Diag::error(
                            codes::TYPE_UNRESOLVED,
                            g.span,
                            format!("cannot infer the key types of array `{}`", g.name),
                        )
                        .help(help),
                    );
                }
            }
        }
        let unused: Vec<Id<Global>> = m
            .globals
            .ids()
            .filter(|g| !self.global_used[g.index()])
            .collect();
        for g in unused {
            let gl = &mut m.globals[g];
            self.diags.push(
                Diag::warning(
                    codes::WARN_UNUSED,
                    gl.span,
                    format!("global `{}` is never used", gl.name),
                )
                .label("declared here"),
            );
            if gl.ty == Ty::Unknown {
                gl.ty = Ty::Long;
            }
            if let Some(a) = &mut gl.array {
                a.keys
                    .iter_mut()
                    .filter(|k| **k == Ty::Unknown)
                    .for_each(|k| *k = Ty::Long);
            }
        }
        let mut errs = vec![];
        for (_, f) in m.functions.iter() {
            if f.ret == Ty::Unknown {
                errs.push(
                    Diag::error(
                        codes::TYPE_UNRESOLVED,
                        f.span,
                        format!("cannot infer the return type of function `{}`", f.name),
                    )
                    .help("declare it, as in `function name:long (...)`"),
                );
            }
            for (_, l) in f.locals.iter() {
                if l.ty == Ty::Unknown {
                    errs.push(
                        Diag::error(
                            codes::TYPE_UNRESOLVED,
                            l.span,
                            format!(
                                "cannot infer the type of `{}` in function `{}`",
                                l.name, f.name
                            ),
                        )
                        .help(help),
                    );
                }
            }
        }
        for (_, p) in m.probes.iter() {
            for (_, l) in p.locals.iter() {
                if l.ty == Ty::Unknown {
                    errs.push(
                        Diag::error(
                            codes::TYPE_UNRESOLVED,
                            l.span,
                            format!("cannot infer the type of local `{}`", l.name),
                        )
                        .label("never given a value of known type")
                        .help(help),
                    );
                }
            }
        }
        for d in errs {
            self.diags.push(d);
        }
    }
}
