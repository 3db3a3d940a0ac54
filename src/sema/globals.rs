//! Globals in pass 2: their declarations, and the shape each takes (a scalar, or an array
//! with so many keys), decided by its first use in source order; a later use that does not
//! fit is reported there, pointing back at the first.

use super::{Elab, NameKey, Shape};
use crate::diag::{Diag, Span, codes};
use crate::ir::{self, Const, Global, Id, Ty};
use crate::syntax::ast::{self, FunctionBody, Item, LitValue, walk_expr, walk_stmt};
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
        for &it in items {
            let globals = &self.globals;
            let add = |uses: &mut Vec<_>, name: &Name, arity: Option<usize>, span: Span| {
                if let Some(&g) = globals.get(&NameKey(*name)) {
                    let n = uses.len() as u32;
                    uses.push((g, arity.map(|a| a as u32), span, n));
                }
            };
            let (params, stmts): (&[ast::Param], &[ast::Stmt]) = match it {
                Item::Probe(p) => (&[], &p.body.stmts),
                Item::Function(ast::FunctionDecl {
                    params,
                    body: FunctionBody::Script(b),
                    ..
                }) => (params, &b.stmts),
                _ => continue,
            };
            let global = |v: &ast::Ident| !params.iter().any(|p| p.name.name == v.name);
            // `adds` is given for the body's statements, not for a probe's condition.
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
                } => add(&mut uses, array, Some(keys.len()), *array_span),
                ast::ExprKind::Var(v) if global(v) => add(&mut uses, &v.name, None, v.span),
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
            let mut foreach_uses: Vec<(Name, Option<usize>, Span)> = vec![];
            let mut fs = |s: &ast::Stmt| match &s.kind {
                ast::StmtKind::Foreach(f) => {
                    let array = &f.array;
                    foreach_uses.push((array.name, Some(f.keys.len()), array.span))
                }
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
            for (name, arity, span) in foreach_uses {
                add(&mut uses, &name, arity, span);
            }
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
