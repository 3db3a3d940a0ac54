//! Statements and bodies: what a probe or function body may contain where it is, with the
//! locals it has declared so far.

use super::*;
use std::collections::BTreeSet;

/// The body being written.
pub(crate) struct Body {
    /// The function it belongs to (`None`: a probe), and that function's result type.
    pub function: Option<usize>,
    pub ret: Option<Ty>,
    /// Context functions the probe's points offer (for a function: those it may reach).
    pub allowed: Needs,
    /// A parametric watchpoint's parameter, bound as a long local.
    pub param: Option<String>,
    pub locals: Vec<(String, Ty)>,
    pub loops: usize,
    /// Arrays enclosing `foreach` loops iterate, with their order.
    pub iterating: Vec<(usize, Option<(SortBy, bool)>)>,
    /// What the body reached: context functions and changed arrays, itself or through calls.
    pub needs: Needs,
    pub writes: BTreeSet<usize>,
    /// A probe that runs only as the session ends (every point `end`): an `enable` there
    /// does nothing (warning W011), so none is written.
    pub ending: bool,
}

impl Body {
    pub fn probe(allowed: Needs, param: Option<String>) -> Body {
        let locals = param.iter().map(|p| (p.clone(), Ty::Long)).collect();
        Body {
            function: None,
            ret: None,
            allowed,
            param,
            locals,
            loops: 0,
            iterating: vec![],
            needs: 0,
            writes: BTreeSet::new(),
            ending: false,
        }
    }
}

/// Deepest statement nesting, and expression depth.
const MAX_NESTING: usize = 3;
const EXPR_DEPTH: usize = 3;

impl Gen<'_> {
    /// A statement list, at nesting `depth`.
    pub fn stmts(&mut self, b: &mut Body, depth: usize, lo: usize, hi: usize) -> Vec<Stmt> {
        let mut v = vec![];
        if self.chance(3) {
            v.push(Stmt::Empty);
        }
        for _ in 0..self.range(lo, hi) {
            v.push(self.stmt(b, depth));
        }
        v
    }

    fn block(&mut self, b: &mut Body, depth: usize) -> Stmt {
        Stmt::Block(self.stmts(b, depth + 1, 0, 3))
    }

    /// A body of a compound statement: usually a block, sometimes one statement.
    fn sub(&mut self, b: &mut Body, depth: usize) -> Stmt {
        match self.below(10) {
            0 => Stmt::Empty,
            1..=3 => self.simple(b),
            _ => self.block(b, depth),
        }
    }

    pub fn stmt(&mut self, b: &mut Body, depth: usize) -> Stmt {
        if depth >= MAX_NESTING {
            return self.simple(b);
        }
        match self.below(24) {
            0..=2 => {
                let c = self.expr(b, Ty::Long, EXPR_DEPTH);
                // An `if` with an `else` takes a block or a simple statement as its `then`,
                // so no inner `if` can take the `else` instead.
                let els = self.chance(40);
                let then = if els && self.chance(50) {
                    self.simple(b)
                } else if els {
                    self.block(b, depth)
                } else {
                    self.sub(b, depth)
                };
                let f = els.then(|| Box::new(self.sub(b, depth)));
                Stmt::If(c, Box::new(then), f)
            }
            3 => {
                // `while (i++ < N)`, or any condition with a `break` inside.
                b.loops += 1;
                let s = if self.chance(60) {
                    let i = self.new_local(b, Ty::Long);
                    let c = Expr::Binary(
                        "<",
                        Box::new(Expr::IncDec {
                            op: "++",
                            pre: false,
                            target: Box::new(Expr::Var(i)),
                        }),
                        Box::new(Expr::Lit(self.range(1, 5).to_string())),
                    );
                    Stmt::While(c, Box::new(self.sub(b, depth)))
                } else {
                    let c = self.expr(b, Ty::Long, 2);
                    let mut body = self.stmts(b, depth + 1, 0, 3);
                    body.push(Stmt::Break);
                    Stmt::While(c, Box::new(Stmt::Block(body)))
                };
                b.loops -= 1;
                s
            }
            4 => self.for_loop(b, depth),
            5 | 6 => self.foreach(b, depth),
            7 => self.block(b, depth),
            8 => {
                let cond = self.pp_cond();
                let then = self.tentatively(|g| g.scoped(b, |g, b| g.stmts(b, depth + 1, 0, 2)));
                let els = self.tentatively(|g| g.scoped(b, |g, b| g.stmts(b, depth + 1, 0, 2)));
                Stmt::Pp(cond, then, els)
            }
            _ => self.simple(b),
        }
    }

    /// Runs `f` on the body, then forgets the locals it declared (a dead branch's are gone).
    fn scoped<T>(&mut self, b: &mut Body, f: impl FnOnce(&mut Self, &mut Body) -> T) -> T {
        let n = b.locals.len();
        let r = f(self, b);
        b.locals.truncate(n);
        r
    }

    /// A `%( COND` condition the kernel-less front end can evaluate either way.
    fn pp_cond(&mut self) -> String {
        let n = self.args.len();
        match self.below(7) {
            0 => format!("$# == {n}"),
            1 => format!("@# >= {}", self.below(3)),
            2 => "arch == \"x86_64\"".into(),
            3 => "runtime == \"kernel\" && guru_mode == 0".into(),
            4 => "systemtap_v >= \"4.0\" || $# > 7".into(),
            5 if n > 0 => "@1 == \"*\"".into(),
            _ => "arch != \"arm*\"".into(),
        }
    }

    fn for_loop(&mut self, b: &mut Body, depth: usize) -> Stmt {
        b.loops += 1;
        let s = if self.chance(70) {
            let i = self.new_local(b, Ty::Long);
            let v = |i: &String| Box::new(Expr::Var(i.clone()));
            let init = Expr::Assign("=", v(&i), Box::new(Expr::Lit("0".into())));
            let n = self.range(1, 4).to_string();
            let cond = Expr::Binary("<", v(&i), Box::new(Expr::Lit(n)));
            let step = if self.chance(50) {
                Expr::IncDec {
                    op: "++",
                    pre: self.chance(50),
                    target: v(&i),
                }
            } else {
                Expr::Assign("+=", v(&i), Box::new(Expr::Lit("1".into())))
            };
            let body = self.sub(b, depth);
            Stmt::For(Some(init), Some(cond), Some(step), Box::new(body))
        } else {
            // `for (;;)` and friends, left by a `break`.
            let init = self.chance(50).then(|| self.assign(b, Ty::Long, 1));
            let cond = self.chance(50).then(|| self.expr(b, Ty::Long, 1));
            let step = self.chance(50).then(|| self.expr(b, Ty::Long, 1));
            let mut body = self.stmts(b, depth + 1, 0, 2);
            body.push(Stmt::Break);
            Stmt::For(init, cond, step, Box::new(Stmt::Block(body)))
        };
        b.loops -= 1;
        s
    }

    fn foreach(&mut self, b: &mut Body, depth: usize) -> Stmt {
        let Some(a) = self.some_array() else {
            return self.simple(b);
        };
        let Shape::Array { keys, val } = self.globals[a].shape.clone() else {
            return self.simple(b);
        };
        // A nested loop over the same array keeps the enclosing loop's order.
        let sort = match b.iterating.iter().find(|(x, _)| *x == a) {
            Some((_, s)) => *s,
            None => match self.below(4) {
                0 => Some((SortBy::Value, self.chance(50))),
                1 => Some((SortBy::Key(self.below(keys.len())), self.chance(50))),
                _ => None,
            },
        };
        let limit = self.chance(30).then(|| self.expr(b, Ty::Long, 1));
        let names: Vec<String> = keys.iter().map(|&t| self.new_local(b, t)).collect();
        let value = self.chance(40).then(|| self.new_local(b, val));
        self.facts.used.insert(a);
        let head = Foreach {
            value,
            bracket: keys.len() > 1 || self.chance(50),
            keys: names,
            array: self.globals[a].name.clone(),
            sort,
            limit,
        };
        b.loops += 1;
        b.iterating.push((a, sort));
        let body = self.sub(b, depth);
        b.iterating.pop();
        b.loops -= 1;
        Stmt::Foreach(head, Box::new(body))
    }

    /// A statement that holds no other.
    pub fn simple(&mut self, b: &mut Body) -> Stmt {
        match self.below(30) {
            0..=7 => {
                let t = self.ty();
                Stmt::Expr(self.assign(b, t, EXPR_DEPTH))
            }
            8 => match self.lvalue(b, Ty::Long, 1) {
                Some((t, target)) => {
                    self.fixed(target);
                    Stmt::Expr(Expr::IncDec {
                        op: self.pick(&["++", "--"]),
                        pre: self.chance(50),
                        target: Box::new(t),
                    })
                }
                None => self.print(b),
            },
            9..=13 => self.print(b),
            14 | 15 => match self.call(b, None, 2) {
                Some(c) => Stmt::Expr(c),
                None => self.print(b),
            },
            16 | 17 if b.loops > 0 => {
                if self.chance(50) {
                    Stmt::Break
                } else {
                    Stmt::Continue
                }
            }
            18 if b.function.is_none() => Stmt::Next,
            18 | 19 if b.function.is_some() => {
                let e = b.ret.map(|t| self.expr(b, t, 2));
                Stmt::Return(e)
            }
            20 | 21 => self.delete(b),
            22 | 23 => self.watch_stmt(b).unwrap_or_else(|| self.print(b)),
            24 => {
                let f = match self.below(4) {
                    0 => Expr::Call("exit".into(), vec![]),
                    1 => Expr::Call("print_backtrace".into(), vec![]),
                    _ => Expr::Call("error".into(), vec![self.expr(b, Ty::Str, 1)]),
                };
                Stmt::Expr(f)
            }
            _ => {
                let t = self.ty();
                Stmt::Expr(self.expr(b, t, EXPR_DEPTH))
            }
        }
    }

    fn print(&mut self, b: &mut Body) -> Stmt {
        match self.below(4) {
            0 | 1 => {
                let (fmt, tys) = self.format();
                let mut args = vec![Expr::Lit(fmt)];
                for t in tys {
                    args.push(self.expr(b, t, 2));
                }
                Stmt::Expr(Expr::Call("printf".into(), args))
            }
            k => {
                let n = self.range(usize::from(k == 2), 3);
                let args = (0..n)
                    .map(|_| {
                        let t = self.ty();
                        self.expr(b, t, 2)
                    })
                    .collect();
                let f = if k == 2 { "print" } else { "println" };
                Stmt::Expr(Expr::Call(f.into(), args))
            }
        }
    }

    fn delete(&mut self, b: &mut Body) -> Stmt {
        let free: Vec<usize> = (0..self.globals.len())
            .filter(|&g| !b.iterating.iter().any(|(a, _)| *a == g))
            .collect();
        if free.is_empty() || self.chance(20) {
            if b.locals.is_empty() {
                return self.print(b);
            }
            let l = self.below(b.locals.len());
            return Stmt::Delete(Expr::Var(b.locals[l].0.clone()));
        }
        let g = self.pick(&free);
        let name = self.globals[g].name.clone();
        self.facts.used.insert(g);
        b.writes.insert(g);
        let array = matches!(self.globals[g].shape, Shape::Array { .. });
        match array {
            true if self.chance(50) => {
                let keys = self.keys(b, g, 1);
                Stmt::Delete(Expr::Index(name, keys))
            }
            _ => Stmt::Delete(Expr::Var(name)),
        }
    }

    /// `enable`/`disable` of a named watchpoint, if the script has any.
    fn watch_stmt(&mut self, b: &mut Body) -> Option<Stmt> {
        if self.named.is_empty() {
            return None;
        }
        let w = self.below(self.named.len());
        let name = self.named[w].name.clone();
        let parametric = self.named[w].param.is_some();
        let arg = |g: &mut Self, b: &mut Body| {
            Some(match g.below(3) {
                0 => Expr::Call(
                    "symbol_address".into(),
                    vec![Expr::Lit(format!(
                        "\"{}\"",
                        g.pick(&["jiffies_64", "pid_max"])
                    ))],
                ),
                1 => Expr::Lit(format!(
                    "{:#x}",
                    0xffff_ffff_8200_0000u64 + 8 * g.below(8) as u64
                )),
                _ => g.expr(b, Ty::Long, 1),
            })
        };
        Some(if !b.ending && self.chance(60) {
            self.facts.enabled.insert(w);
            let arg = if parametric { arg(self, b) } else { None };
            Stmt::Enable {
                name,
                arg,
                later: self.chance(50),
            }
        } else {
            let arg = if parametric && self.chance(70) {
                arg(self, b)
            } else {
                None
            };
            Stmt::Disable { name, arg }
        })
    }
}
