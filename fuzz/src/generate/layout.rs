//! Writing a generated script as text, two ways:
//! - canonical: every compound expression in parentheses, one statement a line, every `;`
//!   written; what a failure report shows;
//! - wild: parentheses only where the README's precedence needs them, and random layout
//!   between tokens (no space where that is safe, newlines, tabs, all three comment styles),
//!   `;` left out wherever the grammar lets it go.
//!
//! Both must parse to the same tree. The printer first writes tokens with hints (which sides
//! may touch their neighbour, where a statement ends, where a `;` may be dropped), then a
//! renderer lays them out; a dropped `;` is decided knowing the token that follows, since
//! that is what decides whether the parser would read on.

use super::model::*;
use crate::rng::Source;

/// Words the parser reserves (they cannot start an expression).
const KEYWORDS: &[&str] = &[
    "probe", "global", "function", "if", "else", "while", "for", "foreach", "in", "break",
    "continue", "next", "return", "delete", "private", "try", "catch",
];

/// What a statement that may end without `;` must not be followed by.
#[derive(Clone, Copy, PartialEq)]
enum Semi {
    /// An expression statement, `delete`, `break`...: nothing that continues an expression.
    Plain,
    /// `return` without a value: nothing that starts one.
    VoidReturn,
    /// `enable NAME` / `disable NAME`: not `later` nor `(`.
    Watch,
    /// A `;` that must be written: an empty statement.
    Always,
}

enum Piece {
    Tok {
        text: String,
        /// May touch the token before / after without a space (when lexing allows it).
        glue_l: bool,
        glue_r: bool,
    },
    Semi(Semi),
    /// The end of a statement or item.
    Break,
    /// Between items.
    Blank,
    Indent,
    Dedent,
}

struct Printer {
    out: Vec<Piece>,
    /// Parenthesise every compound expression.
    full: bool,
}

impl Printer {
    fn tok(&mut self, t: &str) {
        self.glued(t, false, false);
    }
    fn glued(&mut self, t: &str, glue_l: bool, glue_r: bool) {
        self.out.push(Piece::Tok {
            text: t.to_string(),
            glue_l,
            glue_r,
        });
    }
    fn open(&mut self, t: &str) {
        self.glued(t, false, true);
    }
    fn close(&mut self, t: &str) {
        self.glued(t, true, false);
    }
    /// `f(`, `a[`, `.` in a probe point: touches both sides.
    fn joint(&mut self, t: &str) {
        self.glued(t, true, true);
    }

    fn expr(&mut self, e: &Expr, min: u8) {
        let compound = !matches!(e, Expr::Lit(s) if !s.starts_with('-'))
            && !matches!(e, Expr::Var(_) | Expr::Index(..) | Expr::Call(..));
        let paren = e.prec() < min || (self.full && compound);
        if paren {
            self.open("(");
        }
        match e {
            Expr::Lit(s) | Expr::Var(s) => self.tok(s),
            Expr::Index(a, keys) => {
                self.tok(a);
                self.joint("[");
                self.list(keys);
                self.close("]");
            }
            Expr::Call(f, args) => {
                self.tok(f);
                self.joint("(");
                self.list(args);
                self.close(")");
            }
            Expr::Unary(op, x) => {
                self.glued(op, false, true);
                self.expr(x, UNARY);
            }
            Expr::Binary(op, l, r) => {
                let p = binary_prec(op);
                self.expr(l, p);
                self.tok(op);
                self.expr(r, p + 1);
            }
            Expr::Ternary(c, t, f) => {
                self.expr(c, TERNARY + 1);
                self.tok("?");
                self.expr(t, 0);
                self.tok(":");
                self.expr(f, TERNARY);
            }
            Expr::Assign(op, t, v) => {
                self.expr(t, PRIMARY);
                self.tok(op);
                self.expr(v, ASSIGN);
            }
            Expr::IncDec {
                op,
                pre: true,
                target,
            } => {
                self.glued(op, false, true);
                self.expr(target, PRIMARY);
            }
            Expr::IncDec {
                op,
                pre: false,
                target,
            } => {
                self.expr(target, PRIMARY);
                self.glued(op, true, false);
            }
            Expr::In(keys, a) => {
                if keys.len() == 1 {
                    self.expr(&keys[0], IN);
                } else {
                    self.open("[");
                    self.list(keys);
                    self.close("]");
                }
                self.tok("in");
                self.tok(a);
            }
        }
        if paren {
            self.close(")");
        }
    }

    fn list(&mut self, es: &[Expr]) {
        for (i, e) in es.iter().enumerate() {
            if i > 0 {
                self.close(",");
            }
            self.expr(e, 0);
        }
    }

    fn stmts(&mut self, ss: &[Stmt]) {
        for s in ss {
            self.out.push(Piece::Break);
            self.stmt(s);
        }
    }

    /// Statements one level in, then a line break for what closes them.
    fn indented(&mut self, ss: &[Stmt]) {
        self.out.push(Piece::Indent);
        self.stmts(ss);
        self.out.push(Piece::Dedent);
        self.out.push(Piece::Break);
    }

    fn block(&mut self, ss: &[Stmt]) {
        self.tok("{");
        self.indented(ss);
        self.tok("}");
    }

    /// The body of `if`, `while`, `for`, `foreach`, `else`.
    fn body(&mut self, s: &Stmt) {
        match s {
            Stmt::Block(ss) => self.block(ss),
            _ => {
                self.out.push(Piece::Indent);
                self.out.push(Piece::Break);
                self.stmt(s);
                self.out.push(Piece::Dedent);
            }
        }
    }

    fn paren_expr(&mut self, e: &Expr) {
        self.open("(");
        self.expr(e, 0);
        self.close(")");
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Expr(e) => {
                self.expr(e, 0);
                // A bare `enable` read as a statement, followed by a name, would be one.
                let bare = matches!(e, Expr::Var(v) if v == "enable" || v == "disable");
                self.out
                    .push(Piece::Semi(if bare { Semi::Always } else { Semi::Plain }));
            }
            Stmt::Block(ss) => self.block(ss),
            Stmt::If(c, t, f) => {
                self.tok("if");
                self.paren_expr(c);
                self.body(t);
                if let Some(f) = f {
                    self.out.push(Piece::Break);
                    self.tok("else");
                    self.body(f);
                }
            }
            Stmt::While(c, b) => {
                self.tok("while");
                self.paren_expr(c);
                self.body(b);
            }
            Stmt::For(i, c, st, b) => {
                self.tok("for");
                self.open("(");
                for (k, e) in [i, c, st].into_iter().enumerate() {
                    if let Some(e) = e {
                        self.expr(e, 0);
                    }
                    if k < 2 {
                        self.close(";");
                    }
                }
                self.close(")");
                self.body(b);
            }
            Stmt::Foreach(f, b) => {
                self.foreach(f);
                self.body(b);
            }
            Stmt::Break | Stmt::Continue | Stmt::Next => {
                self.tok(match s {
                    Stmt::Break => "break",
                    Stmt::Continue => "continue",
                    _ => "next",
                });
                self.out.push(Piece::Semi(Semi::Plain));
            }
            Stmt::Return(None) => {
                self.tok("return");
                self.out.push(Piece::Semi(Semi::VoidReturn));
            }
            Stmt::Return(Some(e)) => {
                self.tok("return");
                self.expr(e, 0);
                self.out.push(Piece::Semi(Semi::Plain));
            }
            Stmt::Delete(e) => {
                self.tok("delete");
                self.expr(e, 0);
                self.out.push(Piece::Semi(Semi::Plain));
            }
            Stmt::Enable { name, arg, later } => {
                self.tok("enable");
                self.watch_ref(name, arg);
                if *later {
                    self.tok("later");
                    self.out.push(Piece::Semi(Semi::Plain));
                } else {
                    self.out.push(Piece::Semi(Semi::Watch));
                }
            }
            Stmt::Disable { name, arg } => {
                self.tok("disable");
                self.watch_ref(name, arg);
                self.out.push(Piece::Semi(Semi::Watch));
            }
            Stmt::Empty => self.out.push(Piece::Semi(Semi::Always)),
            Stmt::Pp(cond, then, els) => {
                self.tok("%(");
                self.tok(cond);
                self.tok("%?");
                self.indented(then);
                self.tok("%:");
                self.indented(els);
                self.tok("%)");
            }
        }
    }

    fn watch_ref(&mut self, name: &str, arg: &Option<Expr>) {
        self.tok(name);
        if let Some(a) = arg {
            self.joint("(");
            self.expr(a, 0);
            self.close(")");
        }
    }

    fn foreach(&mut self, f: &Foreach) {
        let mark = |p: &mut Printer, by: SortBy| match f.sort {
            Some((b, asc)) if b == by => p.glued(if asc { "+" } else { "-" }, true, false),
            _ => {}
        };
        self.tok("foreach");
        self.open("(");
        if let Some(v) = &f.value {
            self.tok(v);
            self.tok("=");
        }
        if f.bracket {
            self.open("[");
        }
        for (i, k) in f.keys.iter().enumerate() {
            if i > 0 {
                self.close(",");
            }
            self.tok(k);
            mark(self, SortBy::Key(i));
        }
        if f.bracket {
            self.close("]");
        }
        self.tok("in");
        self.tok(&f.array);
        mark(self, SortBy::Value);
        if let Some(l) = &f.limit {
            self.tok("limit");
            self.expr(l, 0);
        }
        self.close(")");
    }

    fn point(&mut self, p: &Point) {
        for (i, (name, arg)) in p.0.iter().enumerate() {
            if i > 0 {
                self.joint(".");
            }
            self.tok(name);
            if let Some(a) = arg {
                self.joint("(");
                self.tok(a);
                self.close(")");
            }
        }
    }

    fn ty(&mut self, t: Option<Ty>) {
        if let Some(t) = t {
            self.joint(":");
            self.tok(match t {
                Ty::Long => "long",
                Ty::Str => "string",
            });
        }
    }

    fn item(&mut self, it: &Item) {
        match it {
            Item::Globals(gs) => {
                self.tok("global");
                for (i, g) in gs.iter().enumerate() {
                    if i > 0 {
                        self.close(",");
                    }
                    self.tok(&g.name);
                    if let Some(n) = &g.size {
                        self.joint("[");
                        self.tok(n);
                        self.close("]");
                    }
                    if let Some(v) = &g.init {
                        self.tok("=");
                        self.tok(v);
                    }
                }
                // `global` takes one optional `;` of its own.
                self.out.push(Piece::Semi(Semi::Plain));
            }
            Item::Function(f) => {
                self.tok("function");
                self.tok(&f.name);
                self.ty(f.ret);
                self.open("(");
                for (i, (p, t)) in f.params.iter().enumerate() {
                    if i > 0 {
                        self.close(",");
                    }
                    self.tok(p);
                    self.ty(*t);
                }
                self.close(")");
                match &f.embedded {
                    Some(c) => self.tok(&format!("%{{{c}%}}")),
                    None => self.block(&f.body),
                }
            }
            Item::Embedded(c) => self.tok(&format!("%{{{c}%}}")),
            Item::Probe(p) => {
                self.tok("probe");
                if let Some((name, param)) = &p.watch {
                    self.tok(name);
                    if let Some(q) = param {
                        self.joint("(");
                        self.tok(q);
                        self.close(")");
                    }
                    self.tok("=");
                }
                for (i, pt) in p.points.iter().enumerate() {
                    if i > 0 {
                        self.close(",");
                    }
                    self.point(pt);
                }
                if let Some(c) = &p.cond {
                    self.tok("if");
                    self.paren_expr(c);
                }
                self.block(&p.body);
            }
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether two tokens may touch: written without a space they still lex as these two.
fn may_touch(a: &str, b: &str) -> bool {
    const OP: &str = "+-*/%<>=!&|^.~?:";
    let (Some(x), Some(y)) = (a.chars().last(), b.chars().next()) else {
        return true;
    };
    let pp_token = x == '%' && "({)?:".contains(y);
    !(is_word(x) && is_word(y) || OP.contains(x) && OP.contains(y) || pp_token)
}

fn is_pp(t: &str) -> bool {
    matches!(t, "%(" | "%?" | "%:" | "%)")
}

/// Whether `;` must end a statement of kind `k` whose last token is `prev` and that is
/// followed by `next`.
fn semi_needed(k: Semi, prev: Option<&str>, next: Option<&str>) -> bool {
    let Some(n) = next else { return false };
    if is_pp(n) || k == Semi::Always {
        return true;
    }
    // Adjacent string literals are one (`@N` is one once substituted).
    let string = |t: &str| {
        t.ends_with('"')
            || t.starts_with('"')
            || t.starts_with('@') && t[1..].starts_with(|c: char| c.is_ascii_digit())
    };
    if string(n) && prev.is_some_and(string) {
        return true;
    }
    // The rest of an expression: a binary or postfix operator, a call, an index.
    let continues = n.starts_with(['(', '[', '-', '+']);
    match k {
        Semi::Plain => continues,
        Semi::Watch => continues || n == "later",
        Semi::VoidReturn => {
            continues
                || n.starts_with(['"', '$', '@', '!', '~'])
                || n.starts_with(|c: char| is_word(c)) && !KEYWORDS.contains(&n)
        }
        Semi::Always => true,
    }
}

const COMMENTS: &[&str] = &["c", "x = 1;", "probe begin { }", "\"s\"", "%( %)", "}", "*"];

/// One separator of the wild layout: never empty (the caller decides that), sometimes a
/// comment; those that end a line end it.
fn separator(src: &mut dyn Source) -> String {
    let c = COMMENTS[src.below(COMMENTS.len())];
    match src.below(20) {
        0..=9 => " ".into(),
        10 | 11 => "\n".into(),
        12 => "\t".into(),
        13 => "\n    ".into(),
        14 => format!(" /* {c} */ "),
        15 => format!(" # {c}\n"),
        16 => format!(" // {c}\n"),
        17 => "\r\n".into(),
        18 => "\x0c".into(),
        _ => "  ".into(),
    }
}

fn render(pieces: &[Piece], mut wild: Option<&mut dyn Source>) -> String {
    let mut out = String::new();
    let mut indent = 0usize;
    // The last token written and whether it may touch the next; a pending statement break.
    let mut last: Option<(&str, bool)> = None;
    let mut brk = false;
    let mut blank = false;
    let next_tok = |i: usize| {
        pieces[i..].iter().find_map(|p| match p {
            Piece::Tok { text, .. } => Some(text.as_str()),
            Piece::Semi(Semi::Always) => Some(";"),
            _ => None,
        })
    };
    for (i, p) in pieces.iter().enumerate() {
        let (text, glue_l, glue_r) = match p {
            Piece::Tok {
                text,
                glue_l,
                glue_r,
            } => (text.as_str(), *glue_l, *glue_r),
            Piece::Semi(k) => {
                let keep = match wild.as_deref_mut() {
                    None => true,
                    Some(src) => {
                        semi_needed(*k, last.map(|(t, _)| t), next_tok(i + 1)) || src.chance(40)
                    }
                };
                if !keep {
                    continue;
                }
                (";", true, false)
            }
            Piece::Break => {
                brk = true;
                continue;
            }
            Piece::Blank => {
                blank = true;
                continue;
            }
            Piece::Indent => {
                indent += 1;
                continue;
            }
            Piece::Dedent => {
                indent -= 1;
                continue;
            }
        };
        if let Some((prev, prev_glue)) = last {
            let touch = may_touch(prev, text);
            match wild.as_deref_mut() {
                None => {
                    if blank {
                        out.push_str("\n\n");
                    } else if brk {
                        out.push('\n');
                        out.push_str(&"  ".repeat(indent));
                    } else if !(touch && (prev_glue || glue_l)) {
                        out.push(' ');
                    }
                }
                Some(src) => {
                    if blank && src.chance(10) {
                        out.push_str(" ; ");
                    }
                    if !touch || brk || blank || src.chance(60) {
                        out.push_str(&separator(src));
                    }
                }
            }
        }
        out.push_str(text);
        last = Some((text, glue_r));
        brk = false;
        blank = false;
    }
    out.push('\n');
    out
}

fn pieces(s: &Script, full: bool) -> Vec<Piece> {
    let mut p = Printer { out: vec![], full };
    for (i, it) in s.items.iter().enumerate() {
        if i > 0 {
            p.out.push(Piece::Blank);
        }
        p.item(it);
    }
    p.out
}

/// The canonical text: fully parenthesised, one statement a line.
pub fn canonical(s: &Script) -> String {
    render(&pieces(s, true), None)
}

/// The same script with minimal parentheses and a layout drawn from `src`.
pub fn wild(s: &Script, src: &mut dyn Source) -> String {
    render(&pieces(s, false), Some(src))
}
