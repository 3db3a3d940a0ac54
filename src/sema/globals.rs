//! Globals in pass 2: their declarations, and the shape each takes (a scalar, or an array
//! with so many keys), decided by its first use in source order; a later use that does not
//! fit is reported there, pointing back at the first.

use super::{Elab, NameKey, NameTable, Shape};
use crate::diag::{Diag, Span, codes};
use crate::ir::{self, Const, Global, Id, Ty};
use crate::syntax::ast::{self, FunctionBody, Item, LitValue};
use crate::syntax::name::Name;

/// A use of a global, for `scan_shapes` (other names decide nothing there): the global, its
/// keys (`Some(n)` for an array use with n keys, `None` for a scalar use), where, and the
/// order it was found in, so that an unstable sort (no scratch buffer) keeps uses at the same
/// place in that order.
type ShapeUse = (Id<Global>, Option<u32>, Span, u32);

impl Elab<'_> {
    pub(super) fn declare_global(&mut self, g: &ast::GlobalDecl) {
        if let Some(&id) = self.globals.get(&NameKey(g.name.name)) {
            self.diags.push(
                Diag::error(
                    codes::DUPLICATE,
                    g.name.span,
                    format!("global `{}` is declared twice", g.name.name),
                )
                .secondary(self.m.globals[id].span, "first declared here"),
            );
            return;
        }
        let (ty, init) = match g.init.as_deref() {
            Some(ast::Expr {
                kind: ast::ExprKind::Lit(l),
                ..
            }) => match &l.value {
                LitValue::Int(v) => (Ty::Long, Some(Const::Long(*v))),
                LitValue::Str(s) => (Ty::Str, Some(Const::Str(*s))),
            },
            _ => (Ty::Unknown, None),
        };
        let declared_array = g.array_size.map(|(_, sp)| sp).or(g.wrap);
        let array = declared_array.map(|_| ir::ArrayShape {
            keys: vec![],
            max: g.array_size.map(|(n, _)| n),
            wrap: g.wrap.is_some(),
        });
        let shape = match declared_array {
            Some(sp) => Shape::Array(0, sp),
            None if init.is_some() => Shape::Scalar(g.name.span),
            None => Shape::Unknown,
        };
        let id = self.m.globals.alloc(Global {
            name: g.name.name,
            ty,
            array,
            init,
            stat: None,
            span: g.name.span,
        });
        self.globals.insert(NameKey(g.name.name), id);
        self.shapes.push(shape);
    }

    /// Decides which globals are arrays, and with how many keys, and which are scalars, from
    /// every use in the script. The first use in source order decides; a later use that does not
    /// fit is reported there, pointing back at the first.
    ///
    /// `apart`: each item's uses come after the previous item's in source order, so they are
    /// decided after each item rather than all held (a large script has hundreds of
    /// thousands) and sorted at the end.
    ///
    /// The same walk gathers, for `scan_stats`, the globals a `<<<` in a body adds to (by
    /// name, where), which it returns: one walk of the script rather than two.
    pub(super) fn scan_shapes(&mut self, items: &[&Item], apart: bool) -> Vec<(Name, Span)> {
        let mut adds: Vec<(Name, Span)> = vec![];
        let mut uses: Vec<ShapeUse> = vec![];
        // `delete a` fits either shape; those names decide nothing.
        let mut deleted: Vec<Span> = vec![];
        // Where the uses decided so far end (checked in debug builds: `apart` is promised).
        let mut last = None;
        let mut foreach_uses = vec![];
        for &it in items {
            let mut scan = Scan {
                globals: &self.globals,
                params: &[],
                uses: &mut uses,
                adds: None,
                deleted: &mut deleted,
                foreach_uses: &mut foreach_uses,
            };
            scan.item(it, &mut adds);
            if apart {
                last = self.decide_shapes(&mut uses, &mut deleted, last);
            }
        }
        self.decide_shapes(&mut uses, &mut deleted, last);
        adds
    }

    /// Takes `uses` in source order: the first decides a global's shape, a later one that
    /// does not fit is reported there, pointing back at the first.
    /// Returns where the last one is, to check that the next batch comes after it.
    fn decide_shapes(
        &mut self,
        uses: &mut Vec<ShapeUse>,
        deleted: &mut Vec<Span>,
        after: Option<(crate::diag::FileId, u32)>,
    ) -> Option<(crate::diag::FileId, u32)> {
        uses.retain(|u| !deleted.contains(&u.2));
        deleted.clear();
        uses.sort_unstable_by_key(|u| (u.2.file, u.2.start, u.3));
        let key = |u: &ShapeUse| (u.2.file, u.2.start);
        debug_assert!(
            uses.first().is_none_or(|u| after <= Some(key(u))),
            "shape uses decided out of source order"
        );
        let last = uses.last().map(key).or(after);
        for (id, arity, span, _) in uses.drain(..) {
            let arity = arity.map(|a| a as usize);
            let name = self.m.globals[id].name;
            let decl = self.m.globals[id].span;
            match (self.shapes[id.index()], arity) {
                (Shape::Unknown, None) => self.shapes[id.index()] = Shape::Scalar(span),
                (Shape::Unknown | Shape::Array(0, _), Some(arity)) => {
                    self.shapes[id.index()] = Shape::Array(arity, span);
                    let g = &mut self.m.globals[id];
                    let max = g.array.as_ref().and_then(|a| a.max);
                    let wrap = g.array.as_ref().is_some_and(|a| a.wrap);
                    g.array = Some(ir::ArrayShape {
                        keys: vec![Ty::Unknown; arity],
                        max,
                        wrap,
                    });
                }
                (Shape::Array(n, first), Some(arity)) if n != arity => self.diags.push(
                    Diag::error(
                        codes::ARRAY_ARITY,
                        span,
                        format!(
                            "array `{name}` is used with {arity} key(s) here but {n} elsewhere"
                        ),
                    )
                    .secondary(first, format!("used with {n} key(s) here")),
                ),
                (Shape::Scalar(first), Some(_)) => self.diags.push(
                    Diag::error(
                        codes::NOT_ARRAY,
                        span,
                        format!("`{name}` is a scalar global but is used as an array"),
                    )
                    .label("used with keys here")
                    .secondary(
                        first,
                        if first == decl {
                            "it gets a scalar value here"
                        } else {
                            "first used as a scalar here"
                        },
                    ),
                ),
                (Shape::Array(n, first), None) => self.diags.push(
                    Diag::error(
                        codes::NOT_ARRAY,
                        span,
                        format!("`{name}` is an array and needs keys here"),
                    )
                    .label("used without keys here")
                    .secondary(
                        first,
                        if n == 0 {
                            "declared as an array here"
                        } else {
                            "first used as an array here"
                        },
                    ),
                ),
                (Shape::Scalar(_), None) | (Shape::Array(..), Some(_)) => {}
            }
        }
        last
    }

    pub(super) fn finish_globals(&mut self) {
        for (i, s) in self.shapes.iter().enumerate() {
            if let Shape::Array(0, sp) = s {
                let name = self.m.globals.at(i).name;
                self.diags.push(
                    Diag::error(
                        codes::TYPE_UNRESOLVED,
                        *sp,
                        format!("array `{name}` is never indexed, so its keys are unknown"),
                    )
                    .help("use it with keys somewhere (`arr[k] = v`), or remove it"),
                );
            }
        }
    }
}

/// One item's walk for `scan_shapes`: the uses of globals it meets, in the order
/// `ast::walk_stmt` would meet them (each node before what it holds). A walk of its own
/// rather than `walk_stmt` with callbacks: a callback ran at every expression, most of which
/// name no global, and cost more than the walk itself.
struct Scan<'s> {
    globals: &'s NameTable<Id<Global>>,
    /// A function's parameters, which hide the globals of their names.
    params: &'s [ast::Param],
    uses: &'s mut Vec<ShapeUse>,
    /// Where `<<<` adds, when walking a body's statements (not a probe's condition).
    adds: Option<&'s mut Vec<(Name, Span)>>,
    deleted: &'s mut Vec<Span>,
    /// The arrays `foreach` loops iterate, with their numbers of keys, in order.
    foreach_uses: &'s mut Vec<(Name, usize, Span)>,
}

impl<'s> Scan<'s> {
    /// Scans one probe or script function (anything else has no uses): its condition, then
    /// its body (whose `<<<` targets go to `adds`), then its loops' arrays, which count as
    /// used after the body's other uses.
    fn item(&mut self, it: &'s Item, adds: &'s mut Vec<(Name, Span)>) {
        let stmts: &[ast::Stmt] = match it {
            Item::Probe(p) => &p.body.stmts,
            Item::Function(ast::FunctionDecl {
                params,
                body: FunctionBody::Script(b),
                ..
            }) => {
                self.params = params;
                &b.stmts
            }
            _ => return,
        };
        // `adds` is given for the body's statements, not for a probe's condition.
        if let Item::Probe(ast::ProbeDecl { cond: Some(c), .. }) = it {
            self.expr(c);
        }
        self.adds = Some(adds);
        for s in stmts {
            self.stmt(s);
        }
        let mut ends = std::mem::take(self.foreach_uses);
        for (name, arity, span) in ends.drain(..) {
            self.add(name, Some(arity), span);
        }
        *self.foreach_uses = ends;
    }

    fn global(&self, v: &ast::Ident) -> bool {
        !self.params.iter().any(|p| p.name.name == v.name)
    }

    fn add(&mut self, name: Name, arity: Option<usize>, span: Span) {
        if let Some(&g) = self.globals.get(&NameKey(name)) {
            let n = self.uses.len() as u32;
            self.uses.push((g, arity.map(|a| a as u32), span, n));
        }
    }

    fn expr(&mut self, e: &ast::Expr) {
        use ast::ExprKind as A;
        match &e.kind {
            A::Lit(_) | A::TargetVar(_) | A::Wildcard => {}
            A::Var(v) => {
                if self.global(v) {
                    self.add(v.name, None, v.span);
                }
            }
            A::Index {
                array,
                array_span,
                keys,
            }
            | A::In {
                array,
                array_span,
                keys,
            } => {
                self.add(*array, Some(keys.len()), *array_span);
                keys.iter().for_each(|k| self.expr(k));
            }
            A::Call { args, .. } => args.iter().for_each(|a| self.expr(a)),
            A::Unary { e, .. } | A::Regex { s: e, .. } => self.expr(e),
            A::Binary { l, r, .. } => {
                self.expr(l);
                self.expr(r);
            }
            A::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            A::Assign { target, value, .. } => {
                self.expr(target);
                self.expr(value);
            }
            A::IncDec { target, .. } => self.expr(target),
            A::StatAdd { target, value } => {
                let added = match &target.kind {
                    A::Var(v) if self.global(v) => Some((v.name, v.span)),
                    A::Index {
                        array, array_span, ..
                    } => Some((*array, *array_span)),
                    _ => None,
                };
                if let (Some(adds), Some(a)) = (&mut self.adds, added) {
                    adds.push(a);
                }
                self.expr(target);
                self.expr(value);
            }
            A::StatOp {
                arg,
                params,
                bucket,
                ..
            } => {
                self.expr(arg);
                params.iter().for_each(|p| self.expr(p));
                if let Some(b) = bucket {
                    self.expr(b);
                }
            }
        }
    }

    fn stmt(&mut self, s: &ast::Stmt) {
        use ast::StmtKind as S;
        match &s.kind {
            S::Expr(e) | S::Return(Some(e)) => self.expr(e),
            S::Delete(e) => {
                // `delete a` fits either shape.
                if let ast::ExprKind::Var(v) = &e.kind {
                    self.deleted.push(v.span);
                }
                self.expr(e);
            }
            S::Block(b) => b.stmts.iter().for_each(|s| self.stmt(s)),
            S::If { cond, then, els } => {
                self.expr(cond);
                self.stmt(then);
                if let Some(e) = els {
                    self.stmt(e);
                }
            }
            S::While { cond, body } => {
                self.expr(cond);
                self.stmt(body);
            }
            S::For {
                init,
                cond,
                step,
                body,
            } => {
                for e in [init, cond, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.stmt(body);
            }
            S::Foreach(f) => {
                let ast::Foreach {
                    keys,
                    array,
                    limit,
                    slice,
                    body,
                    ..
                } = &**f;
                self.foreach_uses.push((array.name, keys.len(), array.span));
                if let Some(l) = limit {
                    self.expr(l);
                }
                slice.iter().flatten().for_each(|k| self.expr(k));
                self.stmt(body);
            }
            S::ForeachHist { hist, body, .. } => {
                self.expr(hist);
                self.stmt(body);
            }
            S::Enable { arg, .. } | S::Disable { arg, .. } => {
                if let Some(e) = arg {
                    self.expr(e);
                }
            }
            S::Try { body, catch, .. } => {
                body.stmts.iter().for_each(|s| self.stmt(s));
                catch.stmts.iter().for_each(|s| self.stmt(s));
            }
            S::Break | S::Continue | S::Next | S::Return(None) | S::Empty => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Arena;
    use crate::syntax::ast::{walk_expr, walk_stmt};

    /// What one item's scan finds: uses (global, keys, where), `<<<` targets, deleted names.
    type Found = (
        Vec<(usize, Option<u32>, Span)>,
        Vec<(Name, Span)>,
        Vec<Span>,
    );

    /// The scan as it was written on `ast::walk_stmt` with callbacks, before `Scan` replaced
    /// it for speed: the order `Scan` promises to keep.
    fn by_callbacks(it: &Item, globals: &NameTable<Id<Global>>) -> Found {
        let (params, stmts): (&[ast::Param], &[ast::Stmt]) = match it {
            Item::Probe(p) => (&[], &p.body.stmts),
            Item::Function(ast::FunctionDecl {
                params,
                body: FunctionBody::Script(b),
                ..
            }) => (params, &b.stmts),
            _ => return Default::default(),
        };
        let (mut uses, mut adds, mut deleted) = (vec![], vec![], vec![]);
        let add = |uses: &mut Vec<_>, name: Name, keys: Option<usize>, span: Span| {
            if let Some(&g) = globals.get(&NameKey(name)) {
                uses.push((Id::index(g), keys.map(|k| k as u32), span));
            }
        };
        let global = |v: &ast::Ident| !params.iter().any(|p| p.name.name == v.name);
        let mut fe = |e: &ast::Expr, adds: Option<&mut Vec<(Name, Span)>>| match &e.kind {
            ast::ExprKind::Index {
                array,
                array_span,
                keys,
            }
            | ast::ExprKind::In {
                array,
                array_span,
                keys,
            } => add(&mut uses, *array, Some(keys.len()), *array_span),
            ast::ExprKind::Var(v) if global(v) => add(&mut uses, v.name, None, v.span),
            ast::ExprKind::StatAdd { target, .. } => match (&target.kind, adds) {
                (ast::ExprKind::Var(v), Some(adds)) if global(v) => adds.push((v.name, v.span)),
                (
                    ast::ExprKind::Index {
                        array, array_span, ..
                    },
                    Some(adds),
                ) => adds.push((*array, *array_span)),
                _ => {}
            },
            _ => {}
        };
        let mut loops = vec![];
        let mut fs = |s: &ast::Stmt| match &s.kind {
            ast::StmtKind::Foreach(f) => loops.push((f.array.name, f.keys.len(), f.array.span)),
            ast::StmtKind::Delete(ast::Expr {
                kind: ast::ExprKind::Var(v),
                ..
            }) => deleted.push(v.span),
            _ => {}
        };
        if let Item::Probe(ast::ProbeDecl { cond: Some(c), .. }) = it {
            walk_expr(c, &mut |e| fe(e, None));
        }
        for s in stmts {
            walk_stmt(s, &mut |e| fe(e, Some(&mut adds)), &mut fs);
        }
        for (name, keys, span) in loops {
            add(&mut uses, name, Some(keys), span);
        }
        (uses, adds, deleted)
    }

    /// `Scan`, a walk of its own, finds the same uses in the same order as the walk on
    /// callbacks it replaced, in every kind of statement and expression: the first use
    /// decides a global's shape, and which later use is reported depends on that order.
    #[test]
    fn the_shape_scan_meets_uses_in_the_walks_order() {
        let text = r#"
global a, b, c, s, t, h
function f(a, x) { a = b[a, x] + c; if (x in b) delete b; return a ? t : c }
function g(y) { foreach ([k, v] in b- limit c) { s <<< b[k, v]; t[k] = y } return f(1, 2) }
probe begin if (c > 0 && [1, 2] in b) {
    a = c = b[1, 2]++ + -a;
    try { delete c; t["x"] .= sprint(@count(s), @hist_linear(h, 0, a, 1)) }
    catch (e) { a-- }
    for (i = a; i < c; i++) while (b[i, i] != a) { next }
    foreach (v = [x, y] in b[*, a] limit 5) { h <<< x; break }
    foreach ([x] in @hist_log(h)) { continue }
    if (a) { {} } else a = "s" =~ "r" ? c : b[a, c] ? t : 2
}
probe end { println(a, b[0, 0], c, @max(s)); delete b[1, a]; delete a }
"#;
        let (script, diags, _) = crate::syntax::parse_text(text, &[]);
        assert_eq!(diags.error_count(), 0, "the script parses");
        let mut arena: Arena<Global> = Arena::default();
        let mut globals = NameTable::default();
        for it in &script.items {
            if let Item::Global(g) = it {
                let id = arena.alloc(Global {
                    name: g.name.name,
                    ty: Ty::Unknown,
                    array: None,
                    init: None,
                    stat: None,
                    span: g.name.span,
                });
                globals.insert(NameKey(g.name.name), id);
            }
        }
        let mut compared = 0;
        for it in &script.items {
            let (mut uses, mut adds, mut deleted, mut loops) = (vec![], vec![], vec![], vec![]);
            let mut scan = Scan {
                globals: &globals,
                params: &[],
                uses: &mut uses,
                adds: None,
                deleted: &mut deleted,
                foreach_uses: &mut loops,
            };
            scan.item(it, &mut adds);
            let uses = uses.iter().map(|u| (Id::index(u.0), u.1, u.2)).collect();
            let expected = by_callbacks(it, &globals);
            compared += expected.0.len();
            assert_eq!((uses, adds, deleted), expected);
        }
        assert!(
            compared >= 40,
            "the script uses globals in many places: {compared}"
        );
    }
}
