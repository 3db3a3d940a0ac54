//! Type inference, as SystemTap does it: every variable, array key and value, function parameter
//! and return value is `long` or `string`, learned from any use that fixes it (a literal, an
//! operator, a typed parameter, a printf directive) and propagated to a fixed point. A final
//! walk reports conflicts at the use that conflicts, and anything still unknown.
//!
//! An expression pass 2 could not resolve (`ExprKind::Invalid`, already reported) has no type
//! at all, and neither has an operator with one as an operand: such a value gives nothing it
//! flows into a type, is never reported as a mismatch, and what it leaves unknown is not
//! reported either. The user sees the one error, not the ones it would cause.

use super::Owner;
use super::format;
use crate::diag::{Diag, Diags, Span, codes};
use crate::ir::{
    Body, Builtin, Expr, ExprKind, Function, Global, Id, LValue, Local, Module, Stmt, StmtKind, Ty,
};
use crate::syntax::ast::BinOp;
use rustc_hash::FxHashMap;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Local(Owner, Id<Local>),
    Global(Id<Global>),
    Key(Id<Global>, usize),
    Ret(Id<Function>),
}

struct Infer<'d> {
    report: bool,
    changed: bool,
    /// Whether this round met something the report round would report: when the last round
    /// of the fixed point met nothing, the report round (the same walk) is skipped.
    reportable: bool,
    diags: &'d mut Diags,
    global_used: Vec<bool>,
    /// Arrays stored into or read with keys (`a[k]`), as opposed to only `foreach`, `in` or
    /// `delete`, which can never give them a type.
    global_indexed: Vec<bool>,
    /// Slots that were given a value of no type (`x = exit()`, `x = no_such()`), already
    /// reported: they are not reported again as unresolved.
    poisoned: Vec<Slot>,
    /// Whether the expression `expr` last walked has no type for good: an unresolved one, or
    /// an operator over one. Read right after the walk.
    invalid: bool,
    /// While an operator is walked: whether one of its operands was `invalid`, which makes
    /// the operator invalid too.
    operand_invalid: bool,
    /// Where each slot got its type: a mismatch points there too, as SystemTap's "type was
    /// first inferred here" does.
    origin: FxHashMap<Slot, Span>,
    memo: Memo,
}

/// What each top-level statement's last walk depended on, so that a round of the fixed point
/// can step over a statement whose walk would repeat the last one exactly.
///
/// A walk follows from what it reads: slots' types and whether slots are poisoned. A type once
/// known never changes, and a slot the walk itself typed reads, next time, as the type it was
/// given, which `unify` returned then too. So only the slots it read while they had no type
/// (without typing them) can make the next walk differ. When each of those is still untyped,
/// and nothing is poisoned, the walk would type nothing, write the same `e.ty`s and meet the
/// same reportable things: it is skipped, and the fixed point takes exactly the rounds it took
/// before. The round that only confirms the fixed point then walks little (a generated
/// 3,200-line script: one statement in nine).
#[derive(Default)]
struct Memo {
    /// Per statement, in walk order: where its slots end in `untyped`, and whether its walk
    /// was `reportable`.
    units: Vec<(u32, bool)>,
    /// The slots each statement's walk read untyped, one statement after the other.
    untyped: Vec<Slot>,
    /// The same two for the round under way, which become the memo when it ends.
    next_units: Vec<(u32, bool)>,
    next_untyped: Vec<Slot>,
}

pub fn infer(m: &mut Module, diags: &mut Diags) {
    let mut inf = Infer {
        report: false,
        changed: false,
        reportable: false,
        diags,
        global_used: vec![false; m.globals.len()],
        global_indexed: vec![false; m.globals.len()],
        poisoned: vec![],
        invalid: false,
        operand_invalid: false,
        origin: FxHashMap::default(),
        memo: Memo::default(),
    };
    inf.fixed_point(m);
    if inf.never_indexed(m) {
        inf.fixed_point(m);
    }
    if inf.reportable || inf.changed {
        inf.report = true;
        inf.module(m);
    }
    inf.unresolved(m);
}

/// The slot whose type an lvalue has: for an array element, the array's value type.
fn slot_of(o: Owner, lv: &LValue) -> Slot {
    match lv {
        LValue::Local(l) => Slot::Local(o, *l),
        LValue::Global(g) | LValue::Index { array: g, .. } | LValue::Array(g) => Slot::Global(*g),
    }
}

fn locals_of(m: &mut Module, o: Owner) -> &mut crate::ir::Arena<Local> {
    match o {
        Owner::Probe(p) => &mut m.probes[p].locals,
        Owner::Function(f) => &mut m.functions[f].locals,
    }
}

/// The type a slot has now. Inlined: it is read at every variable, key, argument and
/// return, and its callers mostly go on only when the slot is still unknown.
#[inline(always)]
fn peek(m: &Module, s: Slot) -> Ty {
    match s {
        Slot::Local(Owner::Probe(p), l) => m.probes[p].locals[l].ty,
        Slot::Local(Owner::Function(f), l) => m.functions[f].locals[l].ty,
        Slot::Global(g) => m.globals[g].ty,
        Slot::Key(g, i) => m.globals[g]
            .array
            .as_ref()
            .and_then(|a| a.keys.get(i).copied())
            .unwrap_or(Ty::Unknown),
        Slot::Ret(f) => m.functions[f].ret,
    }
}

impl Infer<'_> {
    fn fixed_point(&mut self, m: &mut Module) {
        for _ in 0..200 {
            self.changed = false;
            self.reportable = false;
            self.module(m);
            if !self.changed {
                break;
            }
        }
    }

    /// Arrays that are used but never indexed have nothing that could type them. One error
    /// says so; their unknown types then default to `long` so that the foreach variables
    /// reading them are not reported as well. Returns whether anything was defaulted.
    fn never_indexed(&mut self, m: &mut Module) -> bool {
        let mut any = false;
        for gid in m.globals.ids() {
            let g = &mut m.globals[gid];
            let Some(a) = &mut g.array else { continue };
            let i = gid.index();
            let keys_unknown = a.keys.contains(&Ty::Unknown);
            if !self.global_used[i]
                || self.global_indexed[i]
                || a.keys.is_empty()
                || !(keys_unknown || g.ty == Ty::Unknown)
            {
                continue;
            }
            let what = if keys_unknown {
                "its keys are unknown"
            } else {
                "the type of its values is unknown"
            };
            self.diags.push(
                Diag::error(
                    codes::TYPE_UNRESOLVED,
                    g.span,
                    format!("array `{}` is never indexed, so {what}", g.name),
                )
                .label("never stored into or read with keys")
                .note("`foreach`, `in` and `delete` only look at what an array holds")
                .help("use it with keys somewhere (`arr[k] = v`), or remove it"),
            );
            a.keys
                .iter_mut()
                .filter(|k| **k == Ty::Unknown)
                .for_each(|k| *k = Ty::Long);
            if g.ty == Ty::Unknown {
                g.ty = Ty::Long;
            }
            any = true;
        }
        any
    }

    /// `e` has no value (a call to a function that returns nothing) but is used as one where
    /// the type is not known yet: report it, and keep `into`, the slot it was meant to give a
    /// type, out of later reports.
    fn void_value(&mut self, m: &Module, e: &Expr, into: Slot, what: String) {
        self.poison(into);
        self.no_value(m, e, what);
    }

    /// Keeps `s` out of the reports of what is left unknown.
    fn poison(&mut self, s: Slot) {
        if !self.poisoned.contains(&s) {
            self.poisoned.push(s);
        }
    }

    /// `e`, of unknown type, flows into `into`: if `e` is `invalid` (as `expr` left it), or
    /// reads a slot that was given no value (a variable, or a call to a function that returns
    /// one), `into` is left unreported too (`a = exit(); b = a` reports only the first).
    fn pass_poison(&mut self, o: Owner, e: &Expr, invalid: bool, into: Slot) {
        let from = match &e.kind {
            ExprKind::Var(lv) => Some(slot_of(o, lv)),
            ExprKind::Call { func, .. } => Some(Slot::Ret(*func)),
            _ => None,
        };
        if invalid || from.is_some_and(|s| self.poisoned.contains(&s)) {
            self.poison(into);
        }
    }

    /// `e` would have taken its type from the other side of a comparison or `?:`, which is
    /// invalid: if it is a variable, what is left unknown of it is not reported.
    fn poison_var(&mut self, o: Owner, e: &Expr) {
        if let ExprKind::Var(lv) = &e.kind {
            self.poison(slot_of(o, lv));
        }
    }

    /// Reports a use of `e`, which has no value, as a value.
    fn no_value(&mut self, m: &Module, e: &Expr, what: String) {
        self.reportable = true;
        if !self.report {
            return;
        }
        let name = match &e.kind {
            ExprKind::Call { func, .. } => Some(m.functions[*func].name.as_str()),
            ExprKind::Builtin { which, .. } => Some(which.name()),
            _ => None,
        };
        let (msg, label) = match name {
            Some(n) => (
                format!("`{n}()` returns no value"),
                "this call returns no value",
            ),
            None => ("this expression has no value".to_string(), "no value here"),
        };
        self.diags.push(
            Diag::error(codes::TYPE_MISMATCH, e.span, msg)
                .label(label)
                .note(what),
        );
    }

    /// One walk over every body. The fixed point's rounds walk functions first, as SystemTap
    /// does: a function's typed parameters and the arrays it fills then type the probes that
    /// call it or read them in the same round (a generated 3,200-line script needed three
    /// rounds with probes first, two this way). The report walk keeps the script's order
    /// (probes, then functions), so that diagnostics come in it.
    fn module(&mut self, m: &mut Module) {
        if !self.report {
            self.functions(m);
        }
        for p in m.probes.ids() {
            let o = Owner::Probe(p);
            let mut cond = m.probes[p].cond.take();
            if let Some(c) = &mut cond {
                self.unit(m, |inf, m| {
                    inf.check(m, o, c, Ty::Long);
                });
            }
            m.probes[p].cond = cond;
            let mut body = std::mem::take(&mut m.probes[p].body.stmts);
            for s in &mut body {
                self.unit(m, |inf, m| inf.stmt(m, o, s));
            }
            m.probes[p].body.stmts = body;
        }
        if self.report {
            self.functions(m);
        } else {
            let memo = &mut self.memo;
            std::mem::swap(&mut memo.units, &mut memo.next_units);
            std::mem::swap(&mut memo.untyped, &mut memo.next_untyped);
            memo.next_units.clear();
            memo.next_untyped.clear();
        }
    }

    /// Walks one top-level statement (or a probe's condition), unless the memo shows that
    /// the walk would repeat its last one; the round's units come in the same order each time.
    fn unit(&mut self, m: &mut Module, walk: impl FnOnce(&mut Self, &mut Module)) {
        if self.report {
            return walk(self, m);
        }
        let memo = &mut self.memo;
        let i = memo.next_units.len();
        if let Some(&(end, reportable)) = memo.units.get(i) {
            let start = i.checked_sub(1).map_or(0, |p| memo.units[p].0);
            let read = &memo.untyped[start as usize..end as usize];
            if self.poisoned.is_empty() && read.iter().all(|&s| peek(m, s) == Ty::Unknown) {
                memo.next_untyped.extend_from_slice(read);
                let end = memo.next_untyped.len() as u32;
                memo.next_units.push((end, reportable));
                self.reportable |= reportable;
                return;
            }
        }
        let outer = std::mem::replace(&mut self.reportable, false);
        walk(self, m);
        let end = self.memo.next_untyped.len() as u32;
        self.memo.next_units.push((end, self.reportable));
        self.reportable |= outer;
    }

    fn functions(&mut self, m: &mut Module) {
        for f in m.functions.ids() {
            let o = Owner::Function(f);
            if let Body::Script(b) = &mut m.functions[f].body {
                let mut body = std::mem::take(&mut b.stmts);
                for s in &mut body {
                    self.unit(m, |inf, m| inf.stmt(m, o, s));
                }
                if let Body::Script(b) = &mut m.functions[f].body {
                    b.stmts = body;
                }
            }
        }
    }

    /// A slot's type, as the walk reads it: one still unknown goes into the memo.
    #[inline]
    fn get(&mut self, m: &Module, s: Slot) -> Ty {
        let t = peek(m, s);
        if t == Ty::Unknown {
            self.read_untyped(s);
        }
        t
    }

    fn read_untyped(&mut self, s: Slot) {
        if !self.report {
            self.memo.next_untyped.push(s);
        }
    }

    /// Learns `t` for a slot that has no type yet, from the code at `at`; returns the slot's
    /// type. Inlined for the common case, a slot already typed; `learn` does the rest.
    #[inline]
    fn unify(&mut self, m: &mut Module, s: Slot, t: Ty, at: Span) -> Ty {
        match peek(m, s) {
            Ty::Unknown => self.learn(m, s, t, at),
            cur => cur,
        }
    }

    /// `unify` for a slot that has no type yet.
    #[inline(never)]
    fn learn(&mut self, m: &mut Module, s: Slot, t: Ty, at: Span) -> Ty {
        let cur = Ty::Unknown;
        if t == Ty::Unknown || t == Ty::Void {
            self.read_untyped(s);
            return cur;
        }
        self.changed = true;
        self.origin.insert(s, at);
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

    /// Reports a `got` where a `want` is needed. `typed` is the slot whose type is the one in
    /// question, with its name: where it got that type is shown as well, unless it is here.
    fn mismatch(
        &mut self,
        span: Span,
        want: Ty,
        got: Ty,
        what: Option<String>,
        typed: Option<(Slot, Ty, String)>,
    ) {
        self.reportable = true;
        if !self.report {
            return;
        }
        let mut d = Diag::error(
            codes::TYPE_MISMATCH,
            span,
            format!("type mismatch: expected {want}, found {got}"),
        )
        .label(format!("this is a {got}"));
        if let Some((slot, ty, name)) = typed {
            if let Some(&at) = self.origin.get(&slot) {
                let overlaps = at.file == span.file && at.start < span.end && span.start < at.end;
                if !overlaps {
                    d = d.secondary(at, format!("{name} became a {ty} here"));
                }
            }
        }
        if let Some(w) = what {
            d = d.note(w);
        }
        self.diags.push(d);
    }

    /// How a mismatch names a slot it points at.
    fn slot_name(&self, m: &mut Module, s: Slot) -> String {
        match s {
            Slot::Local(o, l) => format!("`{}`", locals_of(m, o)[l].name),
            Slot::Global(g) => format!("`{}`", m.globals[g].name),
            Slot::Key(g, i) => format!("key {} of `{}`", i + 1, m.globals[g].name),
            Slot::Ret(f) => format!("the value of `{}`", m.functions[f].name),
        }
    }

    /// `mismatch`'s `typed` for a slot, when reports are on (the name costs a format).
    fn typed(&self, m: &mut Module, s: Slot) -> Option<(Slot, Ty, String)> {
        if !self.report {
            return None;
        }
        Some((s, peek(m, s), self.slot_name(m, s)))
    }

    fn check(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        self.check_from(m, o, e, want, None)
    }

    /// `check`, where `want` is the type of slot `from` (an assignment's target, a parameter,
    /// an array's key, a function's value): a mismatch also points at where `from` got it.
    fn check_from(
        &mut self,
        m: &mut Module,
        o: Owner,
        e: &mut Expr,
        want: Ty,
        from: Option<Slot>,
    ) -> Ty {
        let t = self.expr(m, o, e, want);
        e.ty = t;
        let known = !matches!(want, Ty::Unknown | Ty::Void);
        if known && t == Ty::Void {
            self.no_value(m, e, format!("a {want} is needed here"));
        } else if known && t != Ty::Unknown && t != want {
            let (what, var) = match &e.kind {
                ExprKind::Var(lv) => (Some(self.describe(m, o, lv)), Some(slot_of(o, lv))),
                _ => (None, None),
            };
            let typed = match from.or(var) {
                Some(s) => self.typed(m, s),
                None => None,
            };
            self.mismatch(e.span, want, t, what, typed);
        }
        t
    }

    fn name_of(&self, m: &mut Module, o: Owner, lv: &LValue) -> String {
        match lv {
            LValue::Local(l) => locals_of(m, o)[*l].name.to_string(),
            LValue::Global(g) | LValue::Array(g) => m.globals[*g].name.to_string(),
            LValue::Index { array, .. } => format!("{}[...]", m.globals[*array].name),
        }
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

    fn lvalue(&mut self, m: &mut Module, o: Owner, lv: &mut LValue, want: Ty, at: Span) -> Ty {
        match lv {
            LValue::Local(l) => self.unify(m, Slot::Local(o, *l), want, at),
            LValue::Global(g) => {
                self.global_used[g.index()] = true;
                self.unify(m, Slot::Global(*g), want, at)
            }
            LValue::Index { array, keys } => {
                let g = *array;
                self.global_used[g.index()] = true;
                self.global_indexed[g.index()] = true;
                self.keys(m, o, g, keys);
                self.unify(m, Slot::Global(g), want, at)
            }
            LValue::Array(g) => {
                self.global_used[g.index()] = true;
                self.get(m, Slot::Global(*g))
            }
        }
    }

    fn keys(&mut self, m: &mut Module, o: Owner, g: Id<Global>, keys: &mut [Expr]) {
        for (i, k) in keys.iter_mut().enumerate() {
            if matches!(k.kind, ExprKind::Wildcard) {
                continue;
            }
            let kt = self.get(m, Slot::Key(g, i));
            let t = self.check_from(m, o, k, kt, Some(Slot::Key(g, i)));
            if t == Ty::Unknown {
                self.pass_poison(o, k, self.invalid, Slot::Key(g, i));
            }
            self.unify(m, Slot::Key(g, i), t, k.span);
        }
    }

    /// The type of `e`, learning what its parts' uses teach on the way; `want` is what its
    /// place needs, when known. Leaves `invalid` set when `e` has no type for good, and
    /// returns `Unknown` then, whatever its operator would give.
    fn expr(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        // The operator this expression is an operand of keeps its own flag meanwhile.
        let outer = std::mem::replace(&mut self.operand_invalid, false);
        let t = self.expr_kind(m, o, e, want);
        let operand_invalid = std::mem::replace(&mut self.operand_invalid, outer);
        self.invalid = operand_invalid || matches!(e.kind, ExprKind::Invalid);
        if self.invalid { Ty::Unknown } else { t }
    }

    /// `check` for an operand of an operator (`expr_kind`'s arms of `Unary`, `Binary`,
    /// `Ternary` and `Assign`): when the operand is `invalid`, so is the operator, as what it
    /// gives is not known when an operand is not (`no_such() + 1` may have been meant as a
    /// concatenation). A call's value, an array's element or a builtin's have their types
    /// whatever their arguments and keys are: those are not operands.
    fn operand(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        let t = self.check(m, o, e, want);
        self.operand_invalid |= self.invalid;
        t
    }

    fn expr_kind(&mut self, m: &mut Module, o: Owner, e: &mut Expr, want: Ty) -> Ty {
        match &mut e.kind {
            ExprKind::Invalid => Ty::Unknown,
            // Only a key of `in` or `delete`, which `keys` steps over.
            ExprKind::Wildcard => Ty::Unknown,
            ExprKind::Long(_) => Ty::Long,
            ExprKind::Str(_) => Ty::Str,
            ExprKind::Var(lv) => self.lvalue(m, o, lv, want, e.span),
            ExprKind::Call { func, args } => {
                let f = *func;
                for (i, a) in args.iter_mut().enumerate() {
                    let Some(&p) = m.functions[f].params.get(i) else {
                        self.check(m, o, a, Ty::Unknown);
                        continue;
                    };
                    let slot = Slot::Local(Owner::Function(f), p);
                    let pt = self.get(m, slot);
                    let t = self.check_from(m, o, a, pt, Some(slot));
                    if t == Ty::Void && pt == Ty::Unknown {
                        let what = format!(
                            "so it cannot be passed as `{}` to `{}`",
                            m.functions[f].locals[p].name, m.functions[f].name
                        );
                        self.void_value(m, a, slot, what);
                    } else if t == Ty::Unknown {
                        self.pass_poison(o, a, self.invalid, slot);
                    }
                    self.unify(m, slot, t, a.span);
                }
                self.unify(m, Slot::Ret(f), want, e.span)
            }
            ExprKind::Builtin {
                which,
                format,
                args,
            } => {
                let mut types = format::arg_types(format);
                let formatted = matches!(which, Builtin::Printf | Builtin::Sprintf);
                for a in args.iter_mut() {
                    let want = match formatted {
                        true => types.next().unwrap_or(Ty::Unknown),
                        false => Ty::Unknown,
                    };
                    let t = self.check(m, o, a, want);
                    if t == Ty::Void && want == Ty::Unknown {
                        self.no_value(m, a, format!("{} prints values", which.name()));
                    }
                }
                if which.returns_string() {
                    Ty::Str
                } else {
                    Ty::Void
                }
            }
            ExprKind::Unary { e, .. } => {
                self.operand(m, o, e, Ty::Long);
                Ty::Long
            }
            ExprKind::Binary { op, l, r } => {
                if *op == BinOp::Concat {
                    self.operand(m, o, l, Ty::Str);
                    self.operand(m, o, r, Ty::Str);
                    Ty::Str
                } else if op.is_comparison() {
                    let mut lt = self.expr(m, o, l, Ty::Unknown);
                    let l_invalid = self.invalid;
                    self.operand_invalid |= l_invalid;
                    l.ty = lt;
                    let rt = self.operand(m, o, r, lt);
                    let r_invalid = self.invalid;
                    if lt == Ty::Unknown && rt != Ty::Unknown {
                        lt = self.check(m, o, l, rt);
                    }
                    // A side left unknown would have had the other's type.
                    if l_invalid && rt == Ty::Unknown {
                        self.poison_var(o, r);
                    }
                    if r_invalid && lt == Ty::Unknown {
                        self.poison_var(o, l);
                    }
                    if lt == Ty::Void {
                        self.no_value(m, l, "a comparison needs a value on each side".into());
                    }
                    Ty::Long
                } else {
                    self.operand(m, o, l, Ty::Long);
                    self.operand(m, o, r, Ty::Long);
                    Ty::Long
                }
            }
            ExprKind::Ternary { cond, then, els } => {
                self.operand(m, o, cond, Ty::Long);
                // The branches are checked against each other, not against what the context
                // wants: branches that agree on a type the context does not take are one
                // mismatch, which the caller reports on the whole expression (once, not once
                // per branch and again for the whole).
                let tt = self.operand(m, o, then, Ty::Unknown);
                let then_invalid = self.invalid;
                let et = self.operand(m, o, els, tt);
                let els_invalid = self.invalid;
                // Neither branch has a type of its own yet (`c ? x : y`, both untyped): they
                // get the context's.
                if tt == Ty::Unknown && et == Ty::Unknown && !(then_invalid || els_invalid) {
                    if want != Ty::Unknown && want != Ty::Void {
                        self.check(m, o, then, want);
                        return self.check(m, o, els, want);
                    }
                }
                // A branch left unknown would have had the other's type.
                if then_invalid && et == Ty::Unknown {
                    self.poison_var(o, els);
                }
                if els_invalid && tt == Ty::Unknown {
                    self.poison_var(o, then);
                }
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
                let tt = self.lvalue(m, o, target, fixed.unwrap_or(want), e.span);
                let from = if fixed.is_none() {
                    Some(slot_of(o, target))
                } else {
                    None
                };
                let vt = self.check_from(m, o, value, fixed.unwrap_or(tt), from);
                // The value is the operand: the target's keys are not (`a[no_such()] = 1` is
                // 1).
                let value_invalid = self.invalid;
                self.operand_invalid |= value_invalid;
                if vt == Ty::Void {
                    if tt != Ty::Unknown || fixed.is_some() {
                        // `check` has reported it against the known type.
                        return tt;
                    }
                    let slot = slot_of(o, target);
                    let what = format!(
                        "so it cannot be assigned to `{}`",
                        self.name_of(m, o, target)
                    );
                    self.void_value(m, value, slot, what);
                    return tt;
                }
                if tt == Ty::Unknown && vt != Ty::Unknown {
                    return self.lvalue(m, o, target, vt, e.span);
                }
                if tt == Ty::Unknown {
                    self.pass_poison(o, value, value_invalid, slot_of(o, target));
                }
                if let (Some(f), true) = (fixed, tt != Ty::Unknown) {
                    if tt != f {
                        let what = Some(self.describe(m, o, target));
                        let typed = self.typed(m, slot_of(o, target));
                        self.mismatch(e.span, f, tt, what, typed);
                    }
                }
                tt
            }
            ExprKind::IncDec { target, .. } => {
                let t = self.lvalue(m, o, target, Ty::Long, e.span);
                if t == Ty::Str {
                    let what = Some(self.describe(m, o, target));
                    let typed = self.typed(m, slot_of(o, target));
                    self.mismatch(e.span, Ty::Long, Ty::Str, what, typed);
                }
                Ty::Long
            }
            ExprKind::In { array, keys } => {
                let g = *array;
                self.global_used[g.index()] = true;
                self.keys(m, o, g, keys);
                Ty::Long
            }
            ExprKind::StatGet {
                stat, bucket, keys, ..
            } => {
                self.global_used[stat.index()] = true;
                self.keys(m, o, *stat, keys);
                if let Some(b) = bucket {
                    self.check(m, o, b, Ty::Long);
                }
                Ty::Long
            }
            ExprKind::Regex { s, .. } => {
                self.check(m, o, s, Ty::Str);
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
            StmtKind::Foreach(fe) => {
                let crate::ir::Foreach {
                    value,
                    keys,
                    array,
                    slice,
                    limit,
                    body,
                    ..
                } = &mut **fe;
                let g = *array;
                self.global_used[g.index()] = true;
                if let Some(s) = slice {
                    self.keys(m, o, g, s);
                }
                for (i, k) in keys.iter().enumerate() {
                    let kt = self.get(m, Slot::Key(g, i));
                    let sp = locals_of(m, o)[*k].span;
                    let lt = self.unify(m, Slot::Local(o, *k), kt, sp);
                    self.unify(m, Slot::Key(g, i), lt, sp);
                    if self.poisoned.contains(&Slot::Key(g, i)) {
                        self.poison(Slot::Local(o, *k));
                    }
                    if kt != Ty::Unknown && lt != kt {
                        let what = Some(format!("the keys of `{}` are {kt}", m.globals[g].name));
                        let typed = self.typed(m, Slot::Key(g, i));
                        self.mismatch(sp, kt, lt, what, typed);
                    }
                }
                if let Some(v) = value {
                    let vt = self.get(m, Slot::Global(g));
                    let sp = locals_of(m, o)[*v].span;
                    let lt = self.unify(m, Slot::Local(o, *v), vt, sp);
                    self.unify(m, Slot::Global(g), lt, sp);
                    if self.poisoned.contains(&Slot::Global(g)) {
                        self.poison(Slot::Local(o, *v));
                    }
                }
                if let Some(l) = limit {
                    self.check(m, o, l, Ty::Long);
                }
                self.stmt(m, o, body);
            }
            StmtKind::Return(Some(e)) => {
                let Owner::Function(f) = o else { return };
                let rt = self.get(m, Slot::Ret(f));
                let t = self.check_from(m, o, e, rt, Some(Slot::Ret(f)));
                if t == Ty::Void && rt == Ty::Unknown {
                    let what = format!("so `{}` cannot return it", m.functions[f].name);
                    self.void_value(m, e, Slot::Ret(f), what);
                } else if t == Ty::Unknown {
                    self.pass_poison(o, e, self.invalid, Slot::Ret(f));
                }
                self.unify(m, Slot::Ret(f), t, e.span);
            }
            StmtKind::Delete(lv) => {
                self.lvalue(m, o, lv, Ty::Unknown, s.span);
            }
            StmtKind::StatAdd { stat, keys, value } => {
                self.global_used[stat.index()] = true;
                self.keys(m, o, *stat, keys);
                self.check(m, o, value, Ty::Long);
            }
            StmtKind::PrintHist { stat, keys, .. } => {
                self.global_used[stat.index()] = true;
                self.keys(m, o, *stat, keys);
            }
            StmtKind::Enable { arg, .. } | StmtKind::Disable { arg, .. } => {
                if let Some(e) = arg {
                    self.check(m, o, e, Ty::Long);
                }
            }
            StmtKind::Try(t) => {
                let crate::ir::Try { body, var, catch } = &mut **t;
                body.stmts.iter_mut().for_each(|s| self.stmt(m, o, s));
                if let Some((v, at)) = var {
                    let t = self.lvalue(m, o, v, Ty::Str, *at);
                    if t != Ty::Str && t != Ty::Unknown {
                        let what = Some("`catch` stores the error message, a string".to_string());
                        let typed = self.typed(m, slot_of(o, v));
                        self.mismatch(*at, Ty::Str, t, what, typed);
                    }
                }
                catch.stmts.iter_mut().for_each(|s| self.stmt(m, o, s));
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
            if g.ty == Ty::Unknown && used && !self.poisoned.contains(&Slot::Global(gid)) {
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
                let unreported = |(i, k): (usize, &Ty)| {
                    *k == Ty::Unknown && !self.poisoned.contains(&Slot::Key(gid, i))
                };
                if used && a.keys.iter().enumerate().any(unreported) {
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
        for (fid, f) in m.functions.iter() {
            if f.ret == Ty::Unknown && !self.poisoned.contains(&Slot::Ret(fid)) {
                errs.push(
                    Diag::error(
                        codes::TYPE_UNRESOLVED,
                        f.span,
                        format!("cannot infer the return type of function `{}`", f.name),
                    )
                    .help("declare it, as in `function name:long (...)`"),
                );
            }
            for (lid, l) in f.locals.iter() {
                if l.ty == Ty::Unknown
                    && !self
                        .poisoned
                        .contains(&Slot::Local(Owner::Function(fid), lid))
                {
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
        // A probe whose points were all refused (reported) may have been meant as a SystemTap
        // tapset alias (`syscall.open`), which would have set the locals it reads.
        for (pid, p) in m.probes.iter().filter(|(_, p)| !p.points.is_empty()) {
            for (lid, l) in p.locals.iter() {
                if l.ty == Ty::Unknown
                    && !self.poisoned.contains(&Slot::Local(Owner::Probe(pid), lid))
                {
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
