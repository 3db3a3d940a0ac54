//! Typed expressions: every expression is built for the type its context wants, from pieces
//! whose types are fixed bottom-up (a literal, a typed variable, an operator, a function whose
//! result is known), so the elaborator's inference always resolves them the same way.

use super::stmt::Body;
use super::*;

/// Zero-argument tapset functions, by result type.
const LONG_CALLS: &[&str] = &[
    "cpu",
    "pid",
    "tid",
    "target",
    "jiffies",
    "gettimeofday_ns",
    "gettimeofday_us",
    "gettimeofday_ms",
    "gettimeofday_s",
];
const STR_CALLS: &[&str] = &["execname", "pp"];
/// Tapset readers of kernel memory taking an address.
const READERS: &[&str] = &["kernel_long", "kernel_int", "kernel_short", "kernel_char"];
const SYMBOLS: &[&str] = &["pid_max", "jiffies_64", "init_task", "panic_timeout"];

const ARITH: &[&str] = &[
    "*", "/", "%", "+", "-", "<<", ">>", "&", "^", "|", "&&", "||",
];
const COMPARE: &[&str] = &["<", ">", "<=", ">=", "==", "!="];
const LONG_ASSIGN: &[&str] = &[
    "=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|=",
];

fn lit(s: impl Into<String>) -> Expr {
    Expr::Lit(s.into())
}
fn bin(op: &'static str, l: Expr, r: Expr) -> Expr {
    Expr::Binary(op, Box::new(l), Box::new(r))
}

/// Whether the elaborator learns `e`'s type from `e` alone, not from a variable typed
/// elsewhere: a literal, a call, an operator.
pub fn fixes_type(e: &Expr) -> bool {
    match e {
        Expr::Var(_) | Expr::Index(..) => false,
        Expr::Ternary(_, t, f) => fixes_type(t) || fixes_type(f),
        Expr::Assign(op, _, v) => *op != "=" || fixes_type(v),
        _ => true,
    }
}

/// Where an assignment stores, for what its value's type teaches the elaborator.
#[derive(Clone, Copy, PartialEq)]
pub enum Target {
    /// A scalar global, or an element of an array with keys that fix their types.
    Global(usize),
    NewLocal,
    Other,
}

/// What to read a value of a type from.
enum Readable {
    Local(String),
    Global(usize),
}

impl Gen<'_> {
    /// An integer literal, in any of the ways one can be written.
    pub fn int_lit(&mut self) -> String {
        match self.below(16) {
            0..=4 => self.below(20).to_string(),
            5 => format!("-{}", self.range(1, 1000)),
            6 => format!("{:#x}", self.below(0x10000)),
            7 => format!("0{:o}", self.range(1, 511)),
            8 => "0".into(),
            9 => self
                .pick(&[
                    "9223372036854775807",
                    "-9223372036854775808",
                    "9223372036854775808",
                    "18446744073709551615",
                    "0xffffffffffffffff",
                    "0x8000000000000000",
                    "0X7FFFFFFFFFFFFFFF",
                    "-1",
                    "64",
                    "63",
                ])
                .into(),
            10 => format!(
                "{:#x}",
                0xffff_ffff_8200_0000u64 + 8 * self.below(64) as u64
            ),
            _ => self.range(1, 100000).to_string(),
        }
    }

    /// A string literal: plain text, every escape, non-ASCII text, raw bytes, and text that
    /// would mean something in C or in a format.
    pub fn str_lit(&mut self) -> String {
        let mut s = String::from("\"");
        for _ in 0..self.pick(&[0, 1, 1, 2, 3, 5]) {
            let piece = match self.below(14) {
                0..=3 => self
                    .pick(&["a", "hi", "x y", "abc", "Z", " ", "0", "42"])
                    .to_string(),
                4 => self
                    .pick(&[
                        "\\n", "\\t", "\\r", "\\a", "\\b", "\\f", "\\v", "\\\\", "\\\"", "\\'",
                        "\\?",
                    ])
                    .to_string(),
                // Three digits, so that a digit after it cannot extend it.
                5 => format!("\\{:03o}", self.range(1, 255)),
                6 => format!("\\x{:02x}", self.range(1, 255)),
                7 => self.pick(&["é", "日本", "🙂", "ÿ"]).to_string(),
                8 => self.pick(&["%d", "%s", "%", "%%", "%n", "%*d"]).to_string(),
                9 => self
                    .pick(&["*/", "/*", "??=", "\\\");", "\\n#include", "%{", "%}", "$1"])
                    .to_string(),
                10 => self.pick(&["'", "`", "{", "}", ";", "#"]).to_string(),
                // Longer than a string holds (MAXSTRINGLEN-1 bytes, 127 by default).
                11 if self.chance(10) => "long".repeat(33),
                _ => "word".to_string(),
            };
            s.push_str(&piece);
        }
        s.push('"');
        s
    }

    pub fn expr(&mut self, b: &mut Body, ty: Ty, depth: usize) -> Expr {
        if depth == 0 || self.chance(25) {
            return self.leaf(b, ty);
        }
        match ty {
            Ty::Long => self.long_expr(b, depth - 1),
            Ty::Str => self.str_expr(b, depth - 1),
        }
    }

    /// A variable of type `ty` to read, if there is one: a local, or a scalar global.
    fn readable(&mut self, b: &Body, ty: Ty) -> Option<Readable> {
        let locals: Vec<&String> = b
            .locals
            .iter()
            .filter(|l| l.1 == ty)
            .map(|l| &l.0)
            .collect();
        let globals: Vec<usize> = (0..self.globals.len())
            .filter(|&g| matches!(self.globals[g].shape, Shape::Scalar(t) if t == ty))
            .collect();
        let n = locals.len() + globals.len();
        if n == 0 {
            return None;
        }
        let i = self.below(n);
        Some(if i < locals.len() {
            Readable::Local(locals[i].clone())
        } else {
            Readable::Global(globals[i - locals.len()])
        })
    }

    pub fn global_var(&mut self, g: usize) -> Expr {
        self.facts.used.insert(g);
        Expr::Var(self.globals[g].name.clone())
    }

    fn leaf(&mut self, b: &mut Body, ty: Ty) -> Expr {
        match self.below(10) {
            0..=3 => {
                if let Some(v) = self.readable(b, ty) {
                    return match v {
                        Readable::Local(l) => Expr::Var(l),
                        Readable::Global(g) => self.global_var(g),
                    };
                }
            }
            4 => {
                let args: Vec<usize> = (0..self.args.len())
                    .filter(|&i| ty == Ty::Str || self.args[i].number)
                    .collect();
                if !args.is_empty() {
                    let i = self.pick(&args);
                    return lit(format!(
                        "{}{}",
                        if ty == Ty::Long { '$' } else { '@' },
                        i + 1
                    ));
                }
            }
            5 => {
                let ctx: &[(&str, Needs, Ty)] = &[
                    ("data_addr", DATA_ADDR, Ty::Long),
                    ("data_value", DATA_VALUE, Ty::Long),
                    ("data_old", DATA_OLD, Ty::Long),
                    ("end_reason", END_REASON, Ty::Str),
                    ("unavailable_reason", UNAVAILABLE_REASON, Ty::Str),
                ];
                let ok: Vec<(&str, Needs)> = ctx
                    .iter()
                    .filter(|c| c.2 == ty && b.allowed & c.1 != 0)
                    .map(|c| (c.0, c.1))
                    .collect();
                if !ok.is_empty() {
                    let (f, n) = self.pick(&ok);
                    b.needs |= n;
                    return Expr::Call(f.into(), vec![]);
                }
            }
            6 => {
                if let Some(p) = &b.param {
                    if ty == Ty::Long {
                        return Expr::Var(p.clone());
                    }
                }
                let f = self.pick(if ty == Ty::Long {
                    LONG_CALLS
                } else {
                    STR_CALLS
                });
                return Expr::Call(f.into(), vec![]);
            }
            _ => {}
        }
        lit(match ty {
            Ty::Long => self.int_lit(),
            Ty::Str => self.str_lit(),
        })
    }

    fn long_expr(&mut self, b: &mut Body, d: usize) -> Expr {
        match self.below(13) {
            0 => {
                let op = self.pick(&["-", "+", "!", "~"]);
                Expr::Unary(op, Box::new(self.expr(b, Ty::Long, d)))
            }
            1 | 2 => {
                let op = self.pick(ARITH);
                let l = self.expr(b, Ty::Long, d);
                // Now and then a constant divisor or shift that C would warn about.
                let r = if self.chance(10) {
                    lit(self.pick(&["0", "64", "-1", "65", "0x40"]))
                } else {
                    self.expr(b, Ty::Long, d)
                };
                bin(op, l, r)
            }
            3 => {
                let t = self.ty();
                let op = self.pick(COMPARE);
                bin(op, self.expr(b, t, d), self.expr(b, t, d))
            }
            4 => {
                let c = self.expr(b, Ty::Long, d);
                let t = self.expr(b, Ty::Long, d);
                let f = self.expr(b, Ty::Long, d);
                Expr::Ternary(Box::new(c), Box::new(t), Box::new(f))
            }
            5 => match self.some_array() {
                Some(a) => {
                    let keys = self.keys(b, a, d);
                    self.facts.used.insert(a);
                    Expr::In(keys, self.globals[a].name.clone())
                }
                None => self.leaf(b, Ty::Long),
            },
            6 => self
                .element(b, Ty::Long, d)
                .unwrap_or_else(|| self.leaf(b, Ty::Long)),
            7 => self.assign(b, Ty::Long, d),
            8 => match self.lvalue(b, Ty::Long, d) {
                Some((t, target)) => {
                    self.fixed(target);
                    Expr::IncDec {
                        op: self.pick(&["++", "--"]),
                        pre: self.chance(50),
                        target: Box::new(t),
                    }
                }
                None => self.leaf(b, Ty::Long),
            },
            9 => match self.below(4) {
                0 => Expr::Call("strlen".into(), vec![self.expr(b, Ty::Str, d)]),
                1 => Expr::Call(
                    "isinstr".into(),
                    vec![self.expr(b, Ty::Str, d), self.expr(b, Ty::Str, d)],
                ),
                2 => Expr::Call("symbol_address".into(), vec![self.symbol_str()]),
                _ => {
                    let f = self.pick(READERS);
                    Expr::Call(f.into(), vec![self.address(b, d)])
                }
            },
            10 | 11 => self
                .call(b, Some(Ty::Long), d)
                .unwrap_or_else(|| self.leaf(b, Ty::Long)),
            _ => self.leaf(b, Ty::Long),
        }
    }

    fn str_expr(&mut self, b: &mut Body, d: usize) -> Expr {
        match self.below(10) {
            0 | 1 => bin(".", self.expr(b, Ty::Str, d), self.expr(b, Ty::Str, d)),
            2 => self.sprintf(b, d),
            3 => Expr::Call(
                "substr".into(),
                vec![
                    self.expr(b, Ty::Str, d),
                    self.expr(b, Ty::Long, d),
                    self.expr(b, Ty::Long, d),
                ],
            ),
            4 => {
                let f = self.pick(&["symname", "kernel_string"]);
                Expr::Call(f.into(), vec![self.address(b, d)])
            }
            5 => {
                let c = self.expr(b, Ty::Long, d);
                let t = self.expr(b, Ty::Str, d);
                let f = self.expr(b, Ty::Str, d);
                Expr::Ternary(Box::new(c), Box::new(t), Box::new(f))
            }
            6 => self
                .element(b, Ty::Str, d)
                .unwrap_or_else(|| self.leaf(b, Ty::Str)),
            7 => self.assign(b, Ty::Str, d),
            8 => self
                .call(b, Some(Ty::Str), d)
                .unwrap_or_else(|| self.leaf(b, Ty::Str)),
            _ => self.leaf(b, Ty::Str),
        }
    }

    fn symbol_str(&mut self) -> Expr {
        lit(format!("\"{}\"", self.pick(SYMBOLS)))
    }

    /// Something that reads like an address.
    fn address(&mut self, b: &mut Body, d: usize) -> Expr {
        match self.below(3) {
            0 => Expr::Call("symbol_address".into(), vec![self.symbol_str()]),
            1 => lit(format!(
                "{:#x}",
                0xffff_ffff_8200_0000u64 + 8 * self.below(64) as u64
            )),
            _ => self.expr(b, Ty::Long, d),
        }
    }

    pub fn some_array(&mut self) -> Option<usize> {
        let arrays: Vec<usize> = (0..self.globals.len())
            .filter(|&g| matches!(self.globals[g].shape, Shape::Array { .. }))
            .collect();
        (!arrays.is_empty()).then(|| self.pick(&arrays))
    }

    fn key_types(&self, a: usize) -> Vec<Ty> {
        match &self.globals[a].shape {
            Shape::Array { keys, .. } => keys.clone(),
            Shape::Scalar(_) => vec![],
        }
    }

    pub fn keys(&mut self, b: &mut Body, a: usize, d: usize) -> Vec<Expr> {
        self.key_types(a)
            .into_iter()
            .map(|t| self.expr(b, t, d.min(1)))
            .collect()
    }

    /// `arr[k...]` of an array whose values are `ty`.
    fn element(&mut self, b: &mut Body, ty: Ty, d: usize) -> Option<Expr> {
        let arrays: Vec<usize> = (0..self.globals.len())
            .filter(|&g| matches!(&self.globals[g].shape, Shape::Array { val, .. } if *val == ty))
            .collect();
        if arrays.is_empty() {
            return None;
        }
        let a = self.pick(&arrays);
        let keys = self.keys(b, a, d);
        self.facts.used.insert(a);
        Some(Expr::Index(self.globals[a].name.clone(), keys))
    }

    /// Something of type `ty` that may be assigned: a local (perhaps a new one), a scalar
    /// global, or an element of an array no enclosing `foreach` iterates; and which global's
    /// type (with its key types) a value that fixes types would fix there.
    pub fn lvalue(&mut self, b: &mut Body, ty: Ty, d: usize) -> Option<(Expr, Target)> {
        match self.below(4) {
            0 => {
                let arrays: Vec<usize> = (0..self.globals.len())
                    .filter(|&g| {
                        matches!(&self.globals[g].shape, Shape::Array { val, .. } if *val == ty)
                            && !b.iterating.iter().any(|(a, _)| *a == g)
                    })
                    .collect();
                if arrays.is_empty() {
                    return None;
                }
                let a = self.pick(&arrays);
                let keys = self.keys(b, a, d);
                self.changes(b, a);
                let t = match keys.iter().all(fixes_type) {
                    true => Target::Global(a),
                    false => Target::Other,
                };
                Some((Expr::Index(self.globals[a].name.clone(), keys), t))
            }
            1 => {
                let gs: Vec<usize> = (0..self.globals.len())
                    .filter(|&g| matches!(self.globals[g].shape, Shape::Scalar(t) if t == ty))
                    .collect();
                if gs.is_empty() {
                    return None;
                }
                let g = self.pick(&gs);
                self.changes(b, g);
                Some((Expr::Var(self.globals[g].name.clone()), Target::Global(g)))
            }
            _ => {
                let ls: Vec<String> = b
                    .locals
                    .iter()
                    .filter(|l| l.1 == ty && Some(&l.0) != b.param.as_ref())
                    .map(|l| l.0.clone())
                    .collect();
                if ls.is_empty() || self.chance(30) {
                    return Some((Expr::Var(self.new_local(b, ty)), Target::NewLocal));
                }
                Some((Expr::Var(self.pick_string(&ls)), Target::Other))
            }
        }
    }

    pub fn pick_string(&mut self, xs: &[String]) -> String {
        xs[self.below(xs.len())].clone()
    }

    pub fn new_local(&mut self, b: &mut Body, ty: Ty) -> String {
        let n = self.fresh("l", &[]);
        b.locals.push((n.clone(), ty));
        n
    }

    /// Records that global `g` changes here (for `foreach`), which is a use.
    pub fn changes(&mut self, b: &mut Body, g: usize) {
        self.facts.used.insert(g);
        b.writes.insert(g);
    }

    /// Records that a use fixing `t`'s type happened.
    pub fn fixed(&mut self, t: Target) {
        if let Target::Global(g) = t {
            self.facts.typed.insert(g);
        }
    }

    /// `target = value` or a compound assignment, for a value of type `ty`. A new local
    /// takes a value that fixes its type, or the compound operator that does.
    pub fn assign(&mut self, b: &mut Body, ty: Ty, d: usize) -> Expr {
        let v = self.expr(b, ty, d);
        let Some((t, target)) = self.lvalue(b, ty, d) else {
            return v;
        };
        let mut op = match ty {
            Ty::Long => self.pick(LONG_ASSIGN),
            Ty::Str => self.pick(&["=", ".="]),
        };
        if op != "=" || fixes_type(&v) {
            self.fixed(target);
        } else if target == Target::NewLocal {
            op = if ty == Ty::Long { "+=" } else { ".=" };
        }
        Expr::Assign(op, Box::new(t), Box::new(v))
    }

    /// An expression of type `ty` whose type the elaborator learns from the expression
    /// itself: a bare variable is given an operation that fixes it.
    pub fn typed_expr(&mut self, b: &mut Body, ty: Ty, d: usize) -> Expr {
        let e = self.expr(b, ty, d);
        if fixes_type(&e) {
            return e;
        }
        match ty {
            Ty::Long => bin("+", e, lit("0")),
            Ty::Str => bin(".", e, lit("\"\"")),
        }
    }

    /// A call of a script function whose result is `ret` (`None`: any, for a statement)
    /// that this body may call: its context needs are offered here, and it changes no array
    /// an enclosing `foreach` iterates.
    pub fn call(&mut self, b: &mut Body, ret: Option<Ty>, d: usize) -> Option<Expr> {
        let ok: Vec<usize> = (0..self.functions.len())
            .filter(|&i| {
                let f = &self.functions[i];
                (ret.is_none() || f.ret == ret)
                    && f.needs & !b.allowed == 0
                    && !f
                        .writes
                        .iter()
                        .any(|w| b.iterating.iter().any(|(a, _)| a == w))
                    && (b.function != Some(i) || (f.recursive && b.iterating.is_empty()))
            })
            .collect();
        if ok.is_empty() {
            return None;
        }
        let i = self.pick(&ok);
        Some(self.call_of(b, i, d))
    }

    pub fn call_of(&mut self, b: &mut Body, i: usize, d: usize) -> Expr {
        let params = self.functions[i].params.clone();
        let mut args = vec![];
        for (k, (_, t)) in params.iter().enumerate() {
            args.push(if k == 0 && self.functions[i].recursive {
                if b.function == Some(i) {
                    bin("-", Expr::Var(params[0].0.clone()), lit("1"))
                } else {
                    lit(self.range(0, 4).to_string())
                }
            } else if self.functions[i].annotated[k] {
                self.expr(b, *t, d)
            } else {
                // The call is what types a parameter declared without one.
                self.typed_expr(b, *t, d)
            });
        }
        let f = &self.functions[i];
        b.needs |= f.needs;
        b.writes.extend(f.writes.iter().copied());
        self.facts.merge(&f.gains);
        Expr::Call(f.name.clone(), args)
    }

    /// `sprintf` with a checked format and arguments of the types it asks for.
    pub fn sprintf(&mut self, b: &mut Body, d: usize) -> Expr {
        let (fmt, tys) = self.format();
        let mut args = vec![lit(fmt)];
        for t in tys {
            args.push(self.expr(b, t, d));
        }
        Expr::Call("sprintf".into(), args)
    }

    /// A printf format and the argument types it takes: every directive, flag, width,
    /// precision and (ignored) length modifier the README lists, with text and `%%` around.
    pub fn format(&mut self) -> (String, Vec<Ty>) {
        let mut f = String::from("\"");
        let mut tys = vec![];
        for _ in 0..self.pick(&[0, 1, 1, 2, 3, 4]) {
            match self.below(6) {
                0 => f.push_str(self.pick(&["x=", " ", "\\n", "%%", "é", "\\t|", "?"])),
                _ => {
                    f.push('%');
                    for _ in 0..self.pick(&[0, 0, 1, 2]) {
                        f.push(self.pick(&['-', '0', '+', ' ', '#']));
                    }
                    if self.chance(40) {
                        f.push_str(&self.pick(&[1, 5, 16, 0, 1024, 3]).to_string());
                    }
                    if self.chance(25) {
                        f.push('.');
                        if self.chance(80) {
                            f.push_str(&self.pick(&[0, 2, 10, 1024]).to_string());
                        }
                    }
                    if self.chance(10) {
                        f.push_str(self.pick(&["l", "ll", "h", "hh", "j", "z", "t"]));
                    }
                    let c = self.pick(&['d', 'i', 'u', 'x', 'X', 'o', 'c', 's', 's', 'p']);
                    f.push(c);
                    tys.push(if c == 's' { Ty::Str } else { Ty::Long });
                }
            }
        }
        f.push('"');
        (f, tys)
    }
}
