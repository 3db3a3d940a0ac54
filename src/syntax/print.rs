//! `-p1`: the parsed script written back as source, after preprocessing. The output parses
//! again to the same tree (a property the tests check), with parentheses only where precedence
//! needs them.

use super::ast::*;
use std::fmt::Write;

pub fn script(s: &Script) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
    };
    for (i, item) in s.items.iter().enumerate() {
        if i > 0 && !matches!((item, &s.items[i - 1]), (Item::Global(_), Item::Global(_))) {
            p.out.push('\n');
        }
        p.item(item);
    }
    p.out
}

pub fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if super::lexer::raw_byte(c).is_some() => {
                let _ = write!(o, "\\{:03o}", super::lexer::raw_byte(c).unwrap_or(0));
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(o, "\\{:03o}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub fn literal(l: &LitValue) -> String {
    match l {
        LitValue::Int(v) => v.to_string(),
        LitValue::Str(s) => quote(s),
    }
}

pub fn type_name(t: TypeName) -> &'static str {
    match t {
        TypeName::Long => "long",
        TypeName::String => "string",
    }
}

pub fn probe_point(pp: &ProbePoint) -> String {
    let mut s = String::new();
    for (i, c) in pp.components.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&c.name.name);
        match &c.arg {
            // Addresses read best in hex, as /proc/kallsyms shows them.
            Some(Literal {
                value: LitValue::Int(v),
                ..
            }) if c.name.name == "data" && *v != 0 => {
                let _ = write!(s, "({:#x})", *v as u64);
            }
            Some(a) => {
                let _ = write!(s, "({})", literal(&a.value));
            }
            None => {
                if let Some(p) = &c.param {
                    let _ = write!(s, "({})", p.name);
                }
            }
        }
    }
    if pp.sufficient {
        s.push('!');
    } else if pp.optional {
        s.push('?');
    }
    s
}

/// `-x`, `!x`, ...: a unary operator before its already printed operand (`- -x` keeps its
/// space, so it does not read as `--x`). Shared by the `-p1` and `-p2` printers.
pub fn unary(op: UnOp, inner: String) -> String {
    let o = match op {
        UnOp::Neg => "-",
        UnOp::Plus => "+",
        UnOp::Not => "!",
        UnOp::BitNot => "~",
    };
    // `- -x` is not `--x`, and `! ~x` is not the `!~` operator.
    let sep = if (inner.starts_with(o) && matches!(op, UnOp::Neg | UnOp::Plus))
        || (op == UnOp::Not && inner.starts_with('~'))
    {
        " "
    } else {
        ""
    };
    format!("{o}{sep}{inner}")
}

/// The head of a foreach, from already printed names: `foreach (v = [k1+, k2] in arr limit 5)`.
pub fn foreach_head(
    value: Option<&str>,
    keys: &[&str],
    array: &str,
    agg: Option<StatFn>,
    sort: Option<(SortBy, SortDir)>,
    limit: Option<String>,
) -> String {
    let mark = |by: SortBy| match sort {
        Some((b, SortDir::Asc)) if b == by => "+",
        Some((b, SortDir::Desc)) if b == by => "-",
        _ => "",
    };
    let ks: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k}{}", mark(SortBy::Key(i))))
        .collect();
    let mut h = String::from("foreach (");
    if let Some(v) = value {
        let _ = write!(h, "{v} = ");
    }
    let agg = agg.map(|f| format!(" @{}", f.name())).unwrap_or_default();
    let _ = write!(
        h,
        "[{}] in {array}{agg}{}",
        ks.join(", "),
        mark(SortBy::Value)
    );
    if let Some(l) = limit {
        let _ = write!(h, " limit {l}");
    }
    h.push(')');
    h
}

struct Printer {
    out: String,
    indent: usize,
}

impl Printer {
    fn line(&mut self, s: &str) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Global(g) => {
                let private = if g.private { "private " } else { "" };
                let mut s = format!("{private}global {}", g.name.name);
                if g.wrap.is_some() {
                    s.push('%');
                }
                if let Some((n, _)) = g.array_size {
                    let _ = write!(s, "[{n}]");
                }
                if let Some(e) = &g.init {
                    let _ = write!(s, " = {}", expr(e, 0));
                }
                self.line(&s);
            }
            Item::Function(f) => {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|p| match p.ty {
                        Some(t) => format!("{}:{}", p.name.name, type_name(t)),
                        None => p.name.name.to_string(),
                    })
                    .collect();
                let ret = f
                    .ret
                    .map(|t| format!(":{}", type_name(t)))
                    .unwrap_or_default();
                let private = if f.private { "private " } else { "" };
                let head = format!(
                    "{private}function {}{} ({})",
                    f.name.name,
                    ret,
                    params.join(", ")
                );
                match &f.body {
                    FunctionBody::Script(b) => self.block_after(&head, b),
                    FunctionBody::Embedded(c, _) => self.line(&format!("{head} %{{{c}%}}")),
                }
            }
            Item::Probe(p) => {
                let pts: Vec<String> = p.points.iter().map(probe_point).collect();
                let mut head = String::from("probe ");
                if let Some(w) = &p.watch {
                    head.push_str(&w.name.name);
                    for r in &w.rest {
                        let _ = write!(head, ".{}", r.name);
                    }
                    if let Some(a) = &w.param {
                        let _ = write!(head, "({})", a.name);
                    }
                    head.push_str(if w.append { " += " } else { " = " });
                }
                head.push_str(&pts.join(", "));
                if let Some(c) = &p.cond {
                    let _ = write!(head, " if ({})", expr(c, 0));
                }
                self.block_after(&head, &p.body);
            }
            Item::Embedded(c, _) => self.line(&format!("%{{{c}%}}")),
        }
    }

    fn block_after(&mut self, head: &str, b: &Block) {
        self.line(&format!("{head} {{"));
        self.indent += 1;
        let mut prev: Option<&Stmt> = None;
        for s in &b.stmts {
            let start = self.out.len();
            self.stmt(s);
            if let Some(p) = prev {
                self.separate(start, semicolons_owed(p), ends_with_watch_stmt(p));
            }
            prev = Some(s);
        }
        self.indent -= 1;
        self.line("}");
    }

    /// Statements need no `;`, so when read back a statement that starts like the rest of an
    /// expression (`-1`, `+x`, `++y`, `(y)`, `[k] in a`, `"s"` after a string) would join the one before it, and a `;`
    /// after a statement ends it rather than being an empty statement. In those cases, end
    /// the line before the statement printed from `start` with `;`: as many as the statements
    /// that end there would eat (`owed`, for an empty statement that follows). After
    /// `enable NAME` or `disable NAME` (`watch`), a statement starting with the word `later`
    /// would be read as part of it.
    fn separate(&mut self, start: usize, owed: usize, watch: bool) {
        let next = self.out[start..].trim_start();
        let before = self.out[..start - 1].trim_end();
        let later = next
            .strip_prefix("later")
            .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'));
        let needed = match next.chars().next() {
            Some(';') => owed,
            _ if later && watch => 1,
            // A postfix `++` cannot be followed by another.
            Some('+' | '-') if next.starts_with("++") || next.starts_with("--") => usize::from(
                !before.ends_with(['{', '}', ';'])
                    && !before.ends_with("++")
                    && !before.ends_with("--"),
            ),
            Some('+' | '-' | '(' | '[') => usize::from(!before.ends_with(['{', '}', ';'])),
            // Adjacent string literals are one (`x = "a"` then `"b"` would read `x = "ab"`).
            Some('"') => usize::from(before.ends_with('"')),
            _ => 0,
        };
        self.out.insert_str(start - 1, &";".repeat(needed));
    }

    /// A statement used as the body of `if`/`while`/...: blocks open on the same line.
    fn body(&mut self, head: String, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block_after(&head, b),
            _ => {
                self.line(&head);
                self.indent += 1;
                self.stmt(s);
                self.indent -= 1;
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            // A bare `enable`/`disable` variable needs its `;`: followed by a name on the next
            // line it would read back as an enable/disable statement.
            StmtKind::Expr(Expr {
                kind: ExprKind::Var(v),
                ..
            }) if v.name == "enable" || v.name == "disable" => self.line(&format!("{};", v.name)),
            StmtKind::Expr(e) => self.line(&expr(e, 0)),
            StmtKind::Block(b) => self.block_after("", b),
            StmtKind::If { cond, then, els } => {
                self.body(format!("if ({})", expr(cond, 0)), then);
                if let Some(e) = els {
                    self.body("else".into(), e);
                }
            }
            StmtKind::While { cond, body } => self.body(format!("while ({})", expr(cond, 0)), body),
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                let o = |e: &Option<Box<Expr>>| e.as_ref().map(|e| expr(e, 0)).unwrap_or_default();
                self.body(format!("for ({}; {}; {})", o(init), o(cond), o(step)), body)
            }
            StmtKind::ForeachHist { key, hist, body } => {
                self.body(format!("foreach ({} in {})", key.name, expr(hist, 0)), body)
            }
            StmtKind::Foreach(f) => {
                let Foreach {
                    value,
                    keys,
                    array,
                    agg,
                    slice,
                    sort,
                    limit,
                    body,
                } = &**f;
                let ks: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
                let arr = match slice {
                    Some(s) => format!("{}[{}]", array.name, list(s)),
                    None => array.name.to_string(),
                };
                let h = foreach_head(
                    value.as_ref().map(|v| v.name.as_str()),
                    &ks,
                    &arr,
                    agg.map(|a| a.0),
                    *sort,
                    limit.as_ref().map(|l| expr(l, 0)),
                );
                self.body(h, body)
            }
            StmtKind::Break => self.line("break"),
            StmtKind::Continue => self.line("continue"),
            StmtKind::Next => self.line("next"),
            // `;` so that a following statement is not read as the value returned.
            StmtKind::Return(None) => self.line("return;"),
            StmtKind::Return(Some(e)) => self.line(&format!("return {}", expr(e, 0))),
            StmtKind::Delete(e) => self.line(&format!("delete {}", expr(e, 0))),
            StmtKind::Enable { name, arg, later } | StmtKind::Disable { name, arg, later } => {
                let verb = if matches!(s.kind, StmtKind::Enable { .. }) {
                    "enable"
                } else {
                    "disable"
                };
                let arg = arg
                    .as_ref()
                    .map(|a| format!("({})", expr(a, 0)))
                    .unwrap_or_default();
                let later = if later.is_some() { " later" } else { "" };
                self.line(&format!("{verb} {}{arg}{later}", name.name))
            }
            StmtKind::Try { body, var, catch } => {
                self.block_after("try", body);
                let head = match var {
                    Some(v) => format!("catch ({})", v.name),
                    None => "catch".into(),
                };
                self.block_after(&head, catch);
            }
            StmtKind::Empty => self.line(";"),
        }
    }
}

/// How many `;` the parser takes after a statement as printed before a following `;` reads as
/// an empty statement: each statement ending there takes one as its optional terminator (an
/// `if` whose body is a simple statement ends with it), except `;` itself and `return;`,
/// which are printed with theirs.
fn semicolons_owed(s: &Stmt) -> usize {
    match &s.kind {
        StmtKind::Empty | StmtKind::Return(None) => 0,
        StmtKind::If { then, els, .. } => 1 + semicolons_owed(els.as_deref().unwrap_or(then)),
        StmtKind::While { body, .. }
        | StmtKind::For { body, .. }
        | StmtKind::ForeachHist { body, .. } => 1 + semicolons_owed(body),
        StmtKind::Foreach(f) => 1 + semicolons_owed(&f.body),
        _ => 1,
    }
}

/// Whether the last simple statement printed for `s` is `enable NAME` (without `later`) or
/// `disable NAME`, which a following `later` would continue.
fn ends_with_watch_stmt(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Enable { later: None, .. } | StmtKind::Disable { .. } => true,
        StmtKind::If { then, els, .. } => ends_with_watch_stmt(els.as_deref().unwrap_or(then)),
        StmtKind::While { body, .. }
        | StmtKind::For { body, .. }
        | StmtKind::ForeachHist { body, .. } => ends_with_watch_stmt(body),
        StmtKind::Foreach(f) => ends_with_watch_stmt(&f.body),
        _ => false,
    }
}

fn list(es: &[Expr]) -> String {
    es.iter().map(|e| expr(e, 0)).collect::<Vec<_>>().join(", ")
}

/// An expression, parenthesized if it binds looser than `min`.
pub fn expr(e: &Expr, min: u8) -> String {
    let (s, prec) = match &e.kind {
        ExprKind::Lit(l) => {
            let neg = matches!(l.value, LitValue::Int(v) if v < 0);
            (literal(&l.value), if neg { PREC_UNARY } else { 100 })
        }
        ExprKind::Var(v) | ExprKind::TargetVar(v) => (v.name.to_string(), 100),
        ExprKind::Index { array, keys, .. } => (format!("{array}[{}]", list(keys)), 100),
        ExprKind::Call { name, args, .. } => (format!("{name}({})", list(args)), 100),
        ExprKind::Unary { op, e } => (unary(*op, expr(e, PREC_UNARY)), PREC_UNARY),
        ExprKind::Regex { s, negate, pattern } => (
            format!(
                "{} {} {}",
                expr(s, PREC_REGEX + 1),
                if *negate { "!~" } else { "=~" },
                literal(&pattern.value)
            ),
            PREC_REGEX,
        ),
        ExprKind::Binary { op, l, r } => (
            format!(
                "{} {} {}",
                expr(l, op.prec()),
                op.text(),
                expr(r, op.prec() + 1)
            ),
            op.prec(),
        ),
        ExprKind::Ternary { cond, then, els } => (
            format!(
                "{} ? {} : {}",
                expr(cond, PREC_TERNARY + 1),
                expr(then, 0),
                expr(els, PREC_TERNARY)
            ),
            PREC_TERNARY,
        ),
        ExprKind::Assign { op, target, value } => {
            let o = op
                .map(|b| format!("{}=", b.text()))
                .unwrap_or_else(|| "=".into());
            (
                format!(
                    "{} {} {}",
                    expr(target, PREC_TERNARY),
                    o,
                    expr(value, PREC_ASSIGN)
                ),
                PREC_ASSIGN,
            )
        }
        ExprKind::IncDec {
            target, inc, pre, ..
        } => {
            let o = if *inc { "++" } else { "--" };
            if *pre {
                (format!("{o}{}", expr(target, PREC_UNARY)), PREC_UNARY)
            } else {
                (format!("{}{o}", expr(target, 100)), PREC_UNARY + 1)
            }
        }
        ExprKind::Wildcard => ("*".to_string(), 100),
        ExprKind::In { keys, array, .. } => {
            if keys.len() == 1 && !matches!(keys[0].kind, ExprKind::Wildcard) {
                (
                    format!("{} in {array}", expr(&keys[0], PREC_IN + 1)),
                    PREC_IN,
                )
            } else {
                (format!("[{}] in {array}", list(keys)), PREC_IN)
            }
        }
        ExprKind::StatAdd { target, value } => (
            format!(
                "{} <<< {}",
                expr(target, PREC_TERNARY),
                expr(value, PREC_ASSIGN)
            ),
            PREC_ASSIGN,
        ),
        ExprKind::StatOp {
            op,
            arg,
            params,
            bucket,
        } => {
            let mut s = format!("@{}({}", op.name(), expr(arg, 0));
            for p in params {
                s.push_str(", ");
                s.push_str(&expr(p, 0));
            }
            s.push(')');
            if let Some(b) = bucket {
                s.push_str(&format!("[{}]", expr(b, 0)));
            }
            (s, 100)
        }
    };
    if prec < min { format!("({s})") } else { s }
}

#[cfg(test)]
mod tests {
    /// The printed script, which must read back as itself.
    fn reprint(text: &str) -> String {
        let (s, d, _) = super::super::parse_text(text, &["arg".into()]);
        assert!(!d.has_errors(), "{text}: {d:?}");
        let out = super::script(&s);
        let (again, d, _) = super::super::parse_text(&out, &[]);
        assert!(!d.has_errors(), "{out}: {d:?}");
        assert_eq!(super::script(&again), out, "read back differently");
        out
    }

    #[test]
    fn adjacent_string_literals_are_one() {
        let out = reprint(
            "global a = \"x\" \"y\"\n\
             probe kernel.data(\"pid\" \"_max\").write { printf(\"a=%d \" \"b\\n\", 1) }\n\
             probe begin { s = \"p\" /* c */ \"q\"\n\"r\" . @1 \"z\"; if (s =~ \"^p\" \"q\") next }",
        );
        assert!(out.contains("global a = \"xy\""), "{out}");
        assert!(out.contains("kernel.data(\"pid_max\")"), "{out}");
        assert!(out.contains("printf(\"a=%d b\\n\", 1)"), "{out}");
        assert!(out.contains("s = \"pqr\" . \"argz\""), "{out}");
        assert!(out.contains("s =~ \"^pq\""), "{out}");
    }

    #[test]
    fn a_statement_starting_with_a_string_stays_apart_from_one_ending_with_one() {
        let out = reprint("probe begin { x = \"a\"; \"b\"; \"c\" . x; if (x) y = \"s\"; \"t\" }");
        assert!(out.contains("x = \"a\";\n  \"b\";\n  \"c\" . x\n"), "{out}");
    }
}
