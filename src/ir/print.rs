//! `-p2`: the elaborated program. Globals, probes with their resolved points and watches,
//! functions with their inferred types, the tapset functions pulled in, and every body with
//! names resolved.

use super::*;
use crate::syntax::ast::{PREC_ASSIGN, PREC_IN, PREC_REGEX, PREC_TERNARY, PREC_UNARY};
use crate::syntax::print::quote;
use std::fmt::Write;

pub fn module(m: &Module) -> String {
    let mut o = String::new();
    if !m.embedded.is_empty() {
        o.push_str("# embedded C\n");
        for (c, _) in &m.embedded {
            let n = c.trim().lines().count();
            let _ = writeln!(
                o,
                "%{{ embedded C ({n} line{}) %}}",
                if n == 1 { "" } else { "s" }
            );
        }
    }
    if !m.globals.is_empty() {
        o.push_str("# globals\n");
        for (_, g) in m.globals.iter() {
            match &g.stat {
                Some(st) => {
                    let _ = write!(o, "{}:stats {}", g.name, stat_fields(st));
                }
                None => {
                    let _ = write!(o, "{}:{}", g.name, g.ty);
                }
            }
            if let Some(a) = &g.array {
                let keys: Vec<String> = a.keys.iter().map(|k| k.to_string()).collect();
                let _ = write!(o, "[{}]", keys.join(", "));
                if let Some(n) = a.max {
                    let _ = write!(o, " max {n}");
                }
                if a.wrap {
                    o.push_str(" wrap");
                }
            }
            match &g.init {
                Some(Const::Long(v)) => {
                    let _ = write!(o, " = {v}");
                }
                Some(Const::Str(s)) => {
                    let _ = write!(o, " = {}", quote(s));
                }
                None => {}
            }
            o.push('\n');
        }
    }
    if !m.watches.is_empty() {
        o.push_str("# watches\n");
        for (id, w) in m.watches.iter() {
            let users: Vec<String> = w
                .users
                .iter()
                .map(|(p, _)| format!("probe {}", p.index()))
                .collect();
            let mut users = users.join(", ");
            for (p, _, k) in &w.subs {
                let _ = write!(users, ", probe {} (.{})", p.index(), k.name());
            }
            let name = match &w.name {
                Some(n) => format!("{n} = "),
                None => String::new(),
            };
            let mut extra = String::new();
            if w.change {
                extra.push_str(" change");
            }
            if w.priority != 0 {
                let _ = write!(extra, " priority {}", w.priority);
            }
            if w.optional {
                extra.push_str(" optional");
            }
            let _ = writeln!(
                o,
                "watch {}: {name}{} length {} {}{extra}{}  <- {}",
                id.index(),
                watch_addr(&w.addr),
                w.len,
                access(w.access),
                if w.name.is_some() {
                    " (armed by enable)"
                } else {
                    ""
                },
                users
            );
        }
    }
    o.push_str("# probes\n");
    for (id, p) in m.probes.iter() {
        let pts: Vec<String> = p.points.iter().map(point).collect();
        let _ = writeln!(o, "probe {}: {}", id.index(), pts.join(", "));
        let pr = Printer {
            m,
            locals: &p.locals,
        };
        pr.locals(&mut o, &p.locals);
        // A condition guards the whole body: print the body under it, one level deeper.
        let ind = match &p.cond {
            Some(c) => {
                let _ = writeln!(o, "  if ({})", pr.expr(c, 0));
                2
            }
            None => 1,
        };
        pr.block(&mut o, &p.body, ind);
    }
    for origin in [FnOrigin::Script, FnOrigin::Tapset] {
        let fs: Vec<_> = m
            .functions
            .iter()
            .filter(|(_, f)| f.origin == origin)
            .collect();
        if fs.is_empty() {
            continue;
        }
        o.push_str(if origin == FnOrigin::Script {
            "# functions\n"
        } else {
            "# tapset functions\n"
        });
        for (_, f) in fs {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|&p| format!("{}:{}", f.locals[p].name, f.locals[p].ty))
                .collect();
            let ctx = match f.needs {
                Some(n) => format!("  [{} only]", n.probes()),
                None => String::new(),
            };
            match &f.body {
                Body::Embedded(..) => {
                    let _ = writeln!(
                        o,
                        "function {}:{} ({}) %{{ embedded C %}}{ctx}",
                        f.name,
                        f.ret,
                        params.join(", ")
                    );
                }
                Body::Script(b) => {
                    let _ = writeln!(
                        o,
                        "function {}:{} ({}){ctx}",
                        f.name,
                        f.ret,
                        params.join(", ")
                    );
                    let pr = Printer {
                        m,
                        locals: &f.locals,
                    };
                    let mut ls = Arena::default();
                    for (id, l) in f.locals.iter() {
                        if !f.params.contains(&id) {
                            ls.alloc(Local {
                                name: l.name,
                                ty: l.ty,
                                span: l.span,
                            });
                        }
                    }
                    pr.locals(&mut o, &ls);
                    pr.block(&mut o, b, 1);
                }
            }
        }
    }
    o
}

pub fn watch_addr(a: &WatchAddr) -> String {
    match a {
        WatchAddr::Literal(v) => format!("{v:#x}"),
        WatchAddr::Symbol { name, offset: 0 } => format!("symbol {name}"),
        WatchAddr::Symbol { name, offset } => format!("symbol {name}+{offset:#x}"),
        WatchAddr::Param(p) => format!("parameter {p}"),
    }
}

pub fn access(a: Access) -> &'static str {
    match a {
        Access::Write => "write",
        Access::ReadWrite => "rw",
        Access::Read => "read",
    }
}

fn point(p: &Point) -> String {
    match &p.kind {
        PointKind::Data(w) => format!("{} [watch {}]", p.text, w.index()),
        PointKind::Change(w) => format!("{} [watch {}, changes only]", p.text, w.index()),
        PointKind::WatchSub(w, k) => format!("{} [watch {} .{}]", p.text, w.index(), k.name()),
        PointKind::Timer(ns) => format!("{} [every {ns} ns]", p.text),
        PointKind::Jiffies(n) => format!("{} [every {n} jiffies]", p.text),
        PointKind::Begin(s) | PointKind::End(s) | PointKind::Error(s) if *s != 0 => {
            format!("{} [sequence {s}]", p.text)
        }
        _ => p.text.clone(),
    }
}

struct Printer<'a> {
    m: &'a Module,
    locals: &'a Arena<Local>,
}

impl Printer<'_> {
    fn locals(&self, o: &mut String, ls: &Arena<Local>) {
        if ls.is_empty() {
            return;
        }
        let v: Vec<String> = ls
            .iter()
            .map(|(_, l)| format!("{}:{}", l.name, l.ty))
            .collect();
        let _ = writeln!(o, "  locals {}", v.join(", "));
    }

    fn block(&self, o: &mut String, b: &Block, ind: usize) {
        for s in &b.stmts {
            self.stmt(o, s, ind);
        }
    }

    fn line(o: &mut String, ind: usize, s: &str) {
        for _ in 0..ind {
            o.push_str("  ");
        }
        o.push_str(s);
        o.push('\n');
    }

    fn body(&self, o: &mut String, head: String, s: &Stmt, ind: usize) {
        Self::line(o, ind, &format!("{head} {{"));
        match &s.kind {
            StmtKind::Block(b) => self.block(o, b, ind + 1),
            _ => self.stmt(o, s, ind + 1),
        }
        Self::line(o, ind, "}");
    }

    fn stmt(&self, o: &mut String, s: &Stmt, ind: usize) {
        match &s.kind {
            StmtKind::Expr(e) => Self::line(o, ind, &self.expr(e, 0)),
            StmtKind::Block(b) => {
                Self::line(o, ind, "{");
                self.block(o, b, ind + 1);
                Self::line(o, ind, "}");
            }
            StmtKind::If { cond, then, els } => {
                self.body(o, format!("if ({})", self.expr(cond, 0)), then, ind);
                if let Some(e) = els {
                    self.body(o, "else".into(), e, ind);
                }
            }
            StmtKind::While { cond, body } => {
                self.body(o, format!("while ({})", self.expr(cond, 0)), body, ind)
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                let f =
                    |e: &Option<Box<Expr>>| e.as_ref().map(|e| self.expr(e, 0)).unwrap_or_default();
                self.body(
                    o,
                    format!("for ({}; {}; {})", f(init), f(cond), f(step)),
                    body,
                    ind,
                )
            }
            StmtKind::Foreach(fe) => {
                let crate::ir::Foreach {
                    value,
                    keys,
                    array,
                    agg,
                    slice,
                    sort,
                    limit,
                    body,
                } = &**fe;
                let ks: Vec<&str> = keys.iter().map(|k| self.locals[*k].name.as_str()).collect();
                let name = &self.m.globals[*array].name;
                let arr = match slice {
                    Some(s) => format!("{name}[{}]", self.list(s)),
                    None => name.to_string(),
                };
                let h = crate::syntax::print::foreach_head(
                    value.map(|v| self.locals[v].name.as_str()),
                    &ks,
                    &arr,
                    *agg,
                    *sort,
                    limit.as_ref().map(|l| self.expr(l, 0)),
                );
                self.body(o, h, body, ind)
            }
            StmtKind::Break => Self::line(o, ind, "break"),
            StmtKind::Continue => Self::line(o, ind, "continue"),
            StmtKind::Next => Self::line(o, ind, "next"),
            StmtKind::Return(None) => Self::line(o, ind, "return"),
            StmtKind::Return(Some(e)) => Self::line(o, ind, &format!("return {}", self.expr(e, 0))),
            StmtKind::Delete(lv) => Self::line(o, ind, &format!("delete {}", self.lvalue(lv))),
            StmtKind::StatAdd { stat, keys, value } => {
                let text = format!(
                    "{} <<< {}",
                    self.stat_ref(*stat, keys),
                    self.expr(value, PREC_ASSIGN)
                );
                Self::line(o, ind, &text)
            }
            StmtKind::PrintHist {
                stat,
                keys,
                newline,
            } => {
                let f = if *newline { "println" } else { "print" };
                let text = format!("{f}({})", self.hist(*stat, keys));
                Self::line(o, ind, &text)
            }
            StmtKind::Enable { watch, arg, later } => {
                let arg = arg.as_ref().map(|a| format!("({})", self.expr(a, 0)));
                let later = if *later { " later" } else { "" };
                let name = self.m.watches[*watch].label();
                let text = format!("enable {name}{}{later}", arg.unwrap_or_default());
                Self::line(o, ind, &text)
            }
            StmtKind::Disable { watch, arg } => {
                let arg = arg.as_ref().map(|a| format!("({})", self.expr(a, 0)));
                let name = self.m.watches[*watch].label();
                Self::line(
                    o,
                    ind,
                    &format!("disable {name}{}", arg.unwrap_or_default()),
                )
            }
            StmtKind::Try(t) => {
                let crate::ir::Try { body, var, catch } = &**t;
                Self::line(o, ind, "try {");
                self.block(o, body, ind + 1);
                let head = match var {
                    Some((v, _)) => format!("}} catch ({}) {{", self.lvalue(v)),
                    None => "} catch {".into(),
                };
                Self::line(o, ind, &head);
                self.block(o, catch, ind + 1);
                Self::line(o, ind, "}");
            }
            StmtKind::Empty => {}
        }
    }

    fn list(&self, es: &[Expr]) -> String {
        es.iter()
            .map(|e| self.expr(e, 0))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn lvalue(&self, lv: &LValue) -> String {
        match lv {
            LValue::Local(l) => self.locals[*l].name.to_string(),
            LValue::Global(g) | LValue::Array(g) => self.m.globals[*g].name.to_string(),
            LValue::Index { array, keys } => {
                format!("{}[{}]", self.m.globals[*array].name, self.list(keys))
            }
        }
    }

    /// `@hist_linear(x, lo, hi, step)` / `@hist_log(x)` of a statistic with a histogram.
    fn hist(&self, stat: Id<Global>, keys: &[Expr]) -> String {
        let g = &self.m.globals[stat];
        let s = self.stat_ref(stat, keys);
        match g.stat.as_ref().and_then(|s| s.hist) {
            Some(Hist::Linear { lo, hi, step }) => {
                format!("@hist_linear({s}, {lo}, {hi}, {step})")
            }
            _ => format!("@hist_log({s})"),
        }
    }

    /// A statistic, or an element of an array of them.
    fn stat_ref(&self, stat: Id<Global>, keys: &[Expr]) -> String {
        let name = &self.m.globals[stat].name;
        if keys.is_empty() {
            name.to_string()
        } else {
            format!("{name}[{}]", self.list(keys))
        }
    }

    fn expr(&self, e: &Expr, min: u8) -> String {
        let (s, prec) = match &e.kind {
            ExprKind::Long(v) => (v.to_string(), if *v < 0 { PREC_UNARY } else { 100 }),
            ExprKind::Str(s) => (quote(s), 100),
            ExprKind::Var(lv) => (self.lvalue(lv), 100),
            ExprKind::Call { func, args } => (
                format!("{}({})", self.m.functions[*func].name, self.list(args)),
                100,
            ),
            ExprKind::Builtin {
                which,
                format,
                args,
            } => {
                let mut all = vec![];
                if matches!(which, Builtin::Printf | Builtin::Sprintf) {
                    all.push(quote(
                        &format
                            .iter()
                            .map(crate::sema::format::directive_text)
                            .collect::<String>(),
                    ));
                } else if which.delimited() {
                    if let [FmtPiece::Text(d)] = &format[..] {
                        all.push(quote(d));
                    }
                }
                all.extend(args.iter().map(|a| self.expr(a, 0)));
                (format!("{}({})", which.name(), all.join(", ")), 100)
            }
            ExprKind::Unary { op, e } => (
                crate::syntax::print::unary(*op, self.expr(e, PREC_UNARY)),
                PREC_UNARY,
            ),
            ExprKind::Binary { op, l, r } => {
                let o = if op.is_comparison() && l.ty == Ty::Str {
                    format!("{}(string)", op.text())
                } else {
                    op.text().to_string()
                };
                (
                    format!(
                        "{} {o} {}",
                        self.expr(l, op.prec()),
                        self.expr(r, op.prec() + 1)
                    ),
                    op.prec(),
                )
            }
            ExprKind::Ternary { cond, then, els } => (
                format!(
                    "{} ? {} : {}",
                    self.expr(cond, PREC_TERNARY + 1),
                    self.expr(then, 0),
                    self.expr(els, PREC_TERNARY)
                ),
                PREC_TERNARY,
            ),
            ExprKind::Assign { op, target, value } => {
                let o = op
                    .map(|b| format!("{}=", b.text()))
                    .unwrap_or_else(|| "=".into());
                (
                    format!(
                        "{} {o} {}",
                        self.lvalue(target),
                        self.expr(value, PREC_ASSIGN)
                    ),
                    PREC_ASSIGN,
                )
            }
            ExprKind::IncDec { target, inc, pre } => {
                let o = if *inc { "++" } else { "--" };
                if *pre {
                    (format!("{o}{}", self.lvalue(target)), PREC_UNARY)
                } else {
                    (format!("{}{o}", self.lvalue(target)), PREC_UNARY + 1)
                }
            }
            ExprKind::Wildcard => ("*".to_string(), 100),
            // Never in a module that is printed (its error stops the run first), but a dump
            // made while debugging pass 2 shows where one is.
            ExprKind::Invalid => ("<invalid>".to_string(), 100),
            ExprKind::In { array, keys } => (
                format!("[{}] in {}", self.list(keys), self.m.globals[*array].name),
                PREC_IN,
            ),
            ExprKind::StatGet {
                stat,
                keys,
                op,
                bucket,
            } => match bucket {
                Some(b) => (
                    format!("{}[{}]", self.hist(*stat, keys), self.expr(b, 0)),
                    100,
                ),
                None => {
                    let g = &self.m.globals[*stat];
                    let shift = match (op, &g.stat) {
                        (StatFn::Variance, Some(st)) if st.shift != 0 => format!(", {}", st.shift),
                        _ => String::new(),
                    };
                    let s = self.stat_ref(*stat, keys);
                    (format!("@{}({s}{shift})", op.name()), 100)
                }
            },
            ExprKind::Regex { s, re, negate } => (
                format!(
                    "{} {} {}",
                    self.expr(s, PREC_REGEX + 1),
                    if *negate { "!~" } else { "=~" },
                    quote(&self.m.regexes[*re].pattern)
                ),
                PREC_REGEX,
            ),
        };
        if prec < min { format!("({s})") } else { s }
    }
}

/// What a statistic keeps, for `-p2`: `(count, sum, ..., hist_log)`.
fn stat_fields(st: &Stat) -> String {
    let mut f = vec!["count".to_string()];
    for (on, name) in [(st.sum, "sum"), (st.min, "min"), (st.max, "max")] {
        if on {
            f.push(name.into());
        }
    }
    if st.variance {
        f.push(format!("variance shift {}", st.shift));
    }
    match st.hist {
        Some(Hist::Linear { lo, hi, step }) => f.push(format!("hist_linear {lo} {hi} {step}")),
        Some(Hist::Log) => f.push("hist_log".into()),
        None => {}
    }
    format!("({})", f.join(", "))
}
