//! Statistics aggregates in pass 2: which globals are statistics (a `<<<` adds to them),
//! lowering `<<<`, the extractors (`@count` ... `@variance`), histograms (printed whole or
//! read a bucket at a time), and what each statistic keeps (`ir::Stat`), decided by the
//! extractors the program uses, as SystemTap decides it.

use super::{Elab, NameKey, Scope};
use crate::diag::{Diag, Span, codes};
use crate::ir::{self, ExprKind, Hist, Id, Stat, Ty};
use crate::syntax::ast::{self, LitValue, StatFn};

/// Per global, while elaborating: the first `<<<` (a statistic), and where its histogram
/// kind and variance shift were first given, for conflicts.
#[derive(Default, Clone)]
pub(super) struct StatDecl {
    pub first_add: Option<Span>,
    pub stat: Stat,
    pub hist_at: Option<Span>,
    pub shift_at: Option<Span>,
}

impl<'a> Elab<'a> {
    /// Marks every global some `<<<` in the script adds to as a statistic, before any body
    /// is lowered, so that a use as a number reads as an error wherever it comes.
    /// `adds`: the globals each `<<<` in a body names, as `scan_shapes` found them.
    pub(super) fn scan_stats(&mut self, mut adds: Vec<(crate::syntax::name::Name, Span)>) {
        self.stats = vec![StatDecl::default(); self.m.globals.len()];
        adds.sort_by_key(|a| (a.1.file, a.1.start));
        for (name, span) in adds {
            let Some(&g) = self.globals.get(&NameKey(name)) else {
                continue; // a local: reported when lowered
            };
            let d = &mut self.stats[g.index()];
            if d.first_add.is_some() {
                continue;
            }
            d.first_add = Some(span);
            let gl = &mut self.m.globals[g];
            if gl.init.is_some() {
                self.diags.push(
                    Diag::error(
                        codes::STAT_MISUSE,
                        span,
                        format!(
                            "`{name}` is a scalar with an initial value, so `<<<` cannot add to it"
                        ),
                    )
                    .secondary(gl.span, "declared here")
                    .help("a statistic is a global declared without a value"),
                );
                continue;
            }
            gl.ty = Ty::Long;
            gl.stat = Some(Stat::default());
        }
    }

    /// Whether global `g` is an array of statistics (for `foreach`, `delete`, `[...] =`).
    pub(super) fn is_stat(&self, g: Id<ir::Global>) -> bool {
        self.m.globals[g].stat.is_some()
    }

    /// The statistic `e` names (a global, or an element of an array of statistics, with its
    /// keys lowered), or an error saying why it is none.
    fn stat_global(
        &mut self,
        e: &ast::Expr,
        what: &str,
        sc: &mut Scope,
    ) -> Option<(Id<ir::Global>, Vec<ir::Expr>)> {
        let (v, keys) = match &e.kind {
            ast::ExprKind::Var(v) => (v.clone(), None),
            ast::ExprKind::Index {
                array,
                array_span,
                keys,
            } => (
                ast::Ident {
                    name: *array,
                    span: *array_span,
                },
                Some(keys),
            ),
            _ => {
                self.diags.push(
                    Diag::error(
                        codes::STAT_MISUSE,
                        e.span,
                        format!("{what} needs a statistic (a global that `<<<` adds to)"),
                    )
                    .help("name the global, as in `@count(x)` or `@count(a[k])`"),
                );
                return None;
            }
        };
        let lowered: Vec<ir::Expr> = keys
            .map(|ks| ks.iter().map(|k| self.expr(k, sc)).collect())
            .unwrap_or_default();
        let global = if keys.is_some() || !sc.names.contains_key(&NameKey(v.name)) {
            self.globals.get(&NameKey(v.name)).copied()
        } else {
            None
        };
        let Some(g) = global else {
            self.diags.push(
                Diag::error(
                    codes::STAT_MISUSE,
                    e.span,
                    format!("{what} needs a statistic, but `{}` is a local", v.name),
                )
                .help(format!(
                    "statistics are global: declare `global {}` at the top level",
                    v.name
                )),
            );
            return None;
        };
        let is_array = matches!(self.shapes[g.index()], super::Shape::Array(..));
        if is_array != keys.is_some() {
            return None; // the shape mismatch is reported by scan_shapes
        }
        if self.is_stat(g) {
            return Some((g, lowered));
        }
        if self.stats[g.index()].first_add.is_some() {
            return None; // refused as a statistic, reported then
        }
        self.diags.push(
            Diag::error(
                codes::STAT_MISUSE,
                e.span,
                format!("{what} needs a statistic, but `{}` is not one", v.name),
            )
            .label("no `<<<` adds to this global")
            .help(format!(
                "add values with `{} <<< value`",
                crate::syntax::print::expr(e, 0)
            )),
        );
        None
    }

    /// `target <<< value` as a statement.
    pub(super) fn lower_stat_add(
        &mut self,
        target: &ast::Expr,
        value: &ast::Expr,
        sc: &mut Scope,
    ) -> ir::StmtKind {
        let value = self.expr(value, sc);
        match self.stat_global(target, "`<<<`", sc) {
            Some((stat, keys)) => ir::StmtKind::StatAdd {
                stat,
                keys,
                value: Box::new(value),
            },
            None => ir::StmtKind::Empty,
        }
    }

    /// `print(@hist_*(x))` / `println(...)`, when `e` is one: the statement that prints it.
    pub(super) fn lower_print_hist(
        &mut self,
        e: &ast::Expr,
        sc: &mut Scope,
    ) -> Option<ir::StmtKind> {
        let ast::ExprKind::Call { name, args, .. } = &e.kind else {
            return None;
        };
        let newline = match name.as_str() {
            "print" => false,
            "println" => true,
            _ => return None,
        };
        let [
            ast::Expr {
                kind:
                    ast::ExprKind::StatOp {
                        op,
                        arg,
                        params,
                        bucket: None,
                    },
                span,
            },
        ] = &args[..]
        else {
            return None;
        };
        if !op.is_hist() {
            return None;
        }
        Some(match self.stat_op(*op, arg, params, *span, sc) {
            Some((stat, keys)) => ir::StmtKind::PrintHist {
                stat,
                keys,
                newline,
            },
            None => ir::StmtKind::Empty,
        })
    }

    /// `foreach (b in @hist_*(x))`: every bucket index of the histogram, in order, as
    /// SystemTap iterates them (empty buckets included), that is a counting loop.
    pub(super) fn lower_foreach_hist(
        &mut self,
        key: &ast::Ident,
        hist: &ast::Expr,
        body: &ast::Stmt,
        sc: &mut Scope,
    ) -> ir::StmtKind {
        let ast::ExprKind::StatOp {
            op,
            arg,
            params,
            bucket: None,
        } = &hist.kind
        else {
            self.diags.push(
                Diag::error(
                    codes::STAT_MISUSE,
                    hist.span,
                    "a foreach over `@` needs a histogram",
                )
                .help("write `foreach (b in @hist_log(x))`"),
            );
            return ir::StmtKind::Empty;
        };
        if !op.is_hist() {
            self.diags.push(
                Diag::error(
                    codes::STAT_MISUSE,
                    hist.span,
                    format!(
                        "`@{}` is a number: a foreach iterates a histogram's buckets",
                        op.name()
                    ),
                )
                .help("write `foreach (b in @hist_log(x))`"),
            );
            return ir::StmtKind::Empty;
        }
        let l = self.local_for(key, sc);
        let Some((g, _)) = self.stat_op(*op, arg, params, hist.span, sc) else {
            return ir::StmtKind::Empty;
        };
        let n = self.stats[g.index()]
            .stat
            .hist
            .map(|h| h.buckets())
            .unwrap_or(0);
        let span = hist.span;
        let e = |kind| ir::Expr {
            kind,
            ty: Ty::Unknown,
            span,
        };
        let var = || ExprKind::Var(ir::LValue::Local(l));
        ir::StmtKind::For {
            init: Some(Box::new(e(ExprKind::Assign {
                op: None,
                target: ir::LValue::Local(l),
                value: Box::new(e(ExprKind::Long(0))),
            }))),
            cond: Some(Box::new(e(ExprKind::Binary {
                op: ast::BinOp::Lt,
                l: Box::new(e(var())),
                r: Box::new(e(ExprKind::Long(n))),
            }))),
            step: Some(Box::new(e(ExprKind::IncDec {
                target: ir::LValue::Local(l),
                inc: true,
                pre: false,
            }))),
            body: Box::new(self.loop_body(body, sc)),
        }
    }

    /// `@op(arg, params)[bucket]` as an expression.
    pub(super) fn lower_stat_op(
        &mut self,
        op: StatFn,
        arg: &ast::Expr,
        params: &[ast::Expr],
        bucket: Option<&ast::Expr>,
        span: Span,
        sc: &mut Scope,
    ) -> ir::Expr {
        let bucket = bucket.map(|b| Box::new(self.expr(b, sc)));
        let stat = self.stat_op(op, arg, params, span, sc);
        if op.is_hist() && bucket.is_none() {
            self.diags.push(
                Diag::error(
                    codes::STAT_MISUSE,
                    span,
                    format!("`@{}` is a histogram, not a number", op.name()),
                )
                .help("print it alone with print() or println(), or read one bucket with `[i]`"),
            );
        }
        ir::Expr {
            kind: match stat {
                Some((stat, keys)) => ExprKind::StatGet {
                    stat,
                    keys,
                    op,
                    bucket,
                },
                None => ExprKind::Long(0),
            },
            ty: Ty::Long,
            span,
        }
    }

    /// Checks `@op(arg, params)` and records what the statistic must keep for it.
    fn stat_op(
        &mut self,
        op: StatFn,
        arg: &ast::Expr,
        params: &[ast::Expr],
        span: Span,
        sc: &mut Scope,
    ) -> Option<(Id<ir::Global>, Vec<ir::Expr>)> {
        let what = format!("`@{}`", op.name());
        let g = self.stat_global(arg, &what, sc);
        let want = match op {
            StatFn::HistLinear => 3,
            StatFn::Variance => params.len().min(1),
            _ => 0,
        };
        if params.len() != want {
            let usage = match op {
                StatFn::HistLinear => "@hist_linear(x, low, high, step)".to_string(),
                StatFn::Variance => "@variance(x) or @variance(x, bit_shift)".to_string(),
                _ => format!("@{}(x)", op.name()),
            };
            self.diags.push(
                Diag::error(
                    codes::STAT_PARAM,
                    span,
                    format!("{what} takes {} argument(s) after the statistic", want),
                )
                .help(format!("write {usage}")),
            );
            return None;
        }
        let mut nums = vec![];
        for p in params {
            match &p.kind {
                ast::ExprKind::Lit(ast::Lit {
                    value: LitValue::Int(v),
                    ..
                }) => nums.push(*v),
                _ => {
                    self.diags.push(
                        Diag::error(
                            codes::STAT_PARAM,
                            p.span,
                            format!("the parameters of {what} must be integer literals"),
                        )
                        .label("not a number written in the script"),
                    );
                    return None;
                }
            }
        }
        let (g, keys) = g?;
        match op {
            StatFn::Count | StatFn::Sum | StatFn::Avg | StatFn::Min | StatFn::Max => {
                self.note_op(g, op)
            }
            StatFn::Variance => {
                let shift = nums.first().copied().unwrap_or(0);
                if !(0..=62).contains(&shift) {
                    self.diags.push(Diag::error(
                        codes::STAT_PARAM,
                        params[0].span,
                        format!("the bit shift of @variance must be 0 to 62, not {shift}"),
                    ));
                    return None;
                }
                let d = &mut self.stats[g.index()];
                d.stat.variance = true;
                d.stat.sum = true;
                match d.shift_at {
                    Some(at) if d.stat.shift != shift => {
                        let prev = d.stat.shift;
                        self.diags.push(
                            Diag::error(
                                codes::STAT_PARAM,
                                span,
                                format!(
                                    "conflicting bit shifts for `@variance` of the same statistic ({shift} here, {prev} before)"
                                ),
                            )
                            .secondary(at, "first given here")
                            .help("a statistic keeps one running variance: use one bit shift for it"),
                        );
                        return None;
                    }
                    Some(_) => {}
                    None => {
                        d.stat.shift = shift;
                        d.shift_at = Some(span);
                    }
                }
            }
            StatFn::HistLinear | StatFn::HistLog => {
                let h = if op == StatFn::HistLog {
                    Hist::Log
                } else {
                    let (lo, hi, step) = (nums[0], nums[1], nums[2]);
                    let buckets = if step > 0 && hi > lo {
                        (hi as i128 - lo as i128) / step as i128 + 3
                    } else {
                        0
                    };
                    if step <= 0 || hi <= lo || buckets > 128 {
                        self.diags.push(
                            Diag::error(
                                codes::STAT_PARAM,
                                span,
                                format!(
                                    "@hist_linear({}, {lo}, {hi}, {step}) makes no histogram",
                                    arg_text(arg)
                                ),
                            )
                            .label(if step <= 0 {
                                "the step must be positive".to_string()
                            } else if hi <= lo {
                                "the high bound must be above the low one".to_string()
                            } else {
                                format!("{buckets} buckets, with under- and overflow")
                            })
                            .help("(high - low) / step must be 1 to 125 buckets"),
                        );
                        return None;
                    }
                    Hist::Linear { lo, hi, step }
                };
                let d = &mut self.stats[g.index()];
                match (d.stat.hist, d.hist_at) {
                    (Some(prev), Some(at)) if prev != h => {
                        self.diags.push(
                            Diag::error(
                                codes::STAT_PARAM,
                                span,
                                format!(
                                    "`{}` already has another histogram",
                                    arg_text(arg)
                                ),
                            )
                            .secondary(at, "its histogram is given here")
                            .help("a statistic keeps one histogram: use the same kind and parameters everywhere"),
                        );
                        return None;
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        d.stat.hist = Some(h);
                        d.hist_at = Some(span);
                    }
                }
            }
        }
        Some((g, keys))
    }

    /// Records that an extractor reads statistic `g` (what its records must keep).
    pub(super) fn note_op(&mut self, g: Id<ir::Global>, op: StatFn) {
        let st = &mut self.stats[g.index()].stat;
        match op {
            StatFn::Sum | StatFn::Avg => st.sum = true,
            StatFn::Min => st.min = true,
            StatFn::Max => st.max = true,
            _ => {}
        }
    }

    /// The extractor a `foreach` over `g` sorts by, checked: only arrays of statistics have
    /// one (`@count` when none is written, as in SystemTap), and only scalar extractors.
    pub(super) fn foreach_agg(
        &mut self,
        g: Id<ir::Global>,
        agg: Option<(StatFn, Span)>,
        value: Option<&ast::Ident>,
    ) -> Option<StatFn> {
        let name = self.m.globals[g].name;
        if !self.is_stat(g) {
            if let Some((f, at)) = agg {
                self.diags.push(
                    Diag::error(
                        codes::STAT_MISUSE,
                        at,
                        format!(
                            "`@{}` sorts an array of statistics, but `{name}` is not one",
                            f.name()
                        ),
                    )
                    .help("sort a plain array by value with `arr+` or `arr-`"),
                );
            }
            return None;
        }
        if let Some(v) = value {
            self.diags.push(
                Diag::error(
                    codes::STAT_MISUSE,
                    v.span,
                    format!("`{name}` holds statistics: a foreach over it binds only keys"),
                )
                .help(format!(
                    "read the values with extractors, as in @count({name}[k])"
                )),
            );
        }
        let f = match agg {
            Some((f, at)) if f.is_hist() || f == StatFn::Variance => {
                self.diags.push(
                    Diag::error(
                        codes::STAT_MISUSE,
                        at,
                        format!("a foreach cannot sort by `@{}`", f.name()),
                    )
                    .help("sort by @count, @sum, @min, @max or @avg"),
                );
                StatFn::Count
            }
            Some((f, _)) => f,
            None => StatFn::Count,
        };
        self.note_op(g, f);
        Some(f)
    }

    /// A statistic used where a value is wanted.
    pub(super) fn stat_as_value(&mut self, g: Id<ir::Global>, span: Span) {
        let name = self.m.globals[g].name;
        let mut d = Diag::error(
            codes::STAT_MISUSE,
            span,
            format!("`{name}` is a statistic, not a number or a string"),
        )
        .label("used as a value here");
        if let Some(at) = self.stats[g.index()].first_add {
            d = d.secondary(at, "`<<<` makes it a statistic here");
        }
        self.diags.push(d.help(format!(
            "read it with an extractor: @count({name}), @sum({name}), @min({name}), @max({name}), @avg({name})"
        )));
    }

    /// Copies what each statistic keeps into the module.
    pub(super) fn finish_stats(&mut self) {
        for (i, d) in self.stats.iter().enumerate() {
            if let Some(g) = self.m.globals.ids().nth(i) {
                if self.m.globals[g].stat.is_some() {
                    self.m.globals[g].stat = Some(d.stat.clone());
                }
            }
        }
    }
}

fn arg_text(e: &ast::Expr) -> String {
    crate::syntax::print::expr(e, 0)
}

/// `<<<` in a place other than a statement of its own.
pub(super) fn misplaced_add(span: Span) -> Diag {
    Diag::error(
        codes::MISPLACED,
        span,
        "`<<<` adds to a statistic as a statement of its own",
    )
    .help("write `x <<< value` on its own, not inside another expression")
}
