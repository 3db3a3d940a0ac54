//! Pass 1c: tokens to AST, by recursive descent with precedence climbing.
//!
//! Why not a generated LR parser: SystemTap's statements need no `;` (`a = 1 b = 2` is one line
//! of two statements), and SystemTap resolves the resulting ambiguities (`x = y -z`) greedily in
//! its own hand-written parser. An LR(1) table cannot express "prefer to continue the
//! expression" without rejecting scripts SystemTap accepts, so this parser follows SystemTap's
//! approach. Nesting is bounded (`MAX_DEPTH`) so no input can exhaust the stack; syntax errors
//! are collected and parsing resumes at the next top-level item.

use super::ast::*;
use super::lexer::{Op, T, Tok, op};
use super::name::kw;
use super::tokens::TokenSource;
use crate::diag::{Diag, Diags, Origin, Span, codes};
use std::collections::VecDeque;

/// Deepest nesting of statements and expressions accepted.
pub const MAX_DEPTH: usize = 1000;

/// `guru`: whether embedded C is allowed (guru mode, `-g`); tapset text always allows it.
///
/// Generic over the token source rather than taking a `dyn` one: the parser pulls every token
/// through it, and a direct call was 0.5% fewer instructions in pass 1.
pub fn parse<S: TokenSource>(
    toks: &mut S,
    origin: Origin,
    guru: bool,
    diags: &mut Diags,
) -> Script {
    let next = toks.next_tok();
    let mut p = Parser {
        toks,
        next,
        ahead: VecDeque::new(),
        prev: next.span,
        pos: 0,
        depth: 0,
        diags,
        allow_c: guru || origin == Origin::Tapset,
        exprs: Vec::new(),
        stmts: Vec::new(),
    };
    let mut items = Vec::new();
    while !p.at_eof() {
        let start = p.pos;
        let kept = items.len();
        let r = p.item(&mut items);
        if r.is_err() {
            // What the failed item had made so far, in `items` and in the lists it was
            // building, goes.
            items.truncate(kept);
            p.exprs.clear();
            p.stmts.clear();
        }
        match r {
            Ok(()) => {}
            Err(Fatal::Syntax) => p.recover(start),
            Err(Fatal::TooDeep) => break,
        }
    }
    Script { items }
}

enum Fatal {
    /// A syntax error, already reported; resume at the next item.
    Syntax,
    /// Nesting beyond MAX_DEPTH, already reported; stop parsing.
    TooDeep,
}

type PResult<T> = Result<T, Fatal>;

struct Parser<'a, S> {
    toks: &'a mut S,
    /// The next token.
    next: Tok,
    /// The tokens after `next` that `peek_at` pulled from `toks` (a probe point's name,
    /// `(p) =`), not consumed yet.
    ahead: VecDeque<Tok>,
    /// The span of the last token consumed; before the first, the first token's.
    prev: Span,
    /// How many tokens have been consumed (`Eof` never is).
    pos: usize,
    depth: usize,
    diags: &'a mut Diags,
    allow_c: bool,
    /// The expressions of the lists being parsed (`expr_list`), each list above the one it
    /// is nested in, and the statements of the blocks being parsed (`block`): a finished list
    /// is moved out in one allocation of its exact size, where a vector of its own grew by
    /// doubling and then shrank (a `realloc` per list, a quarter of the parser's allocator
    /// calls).
    exprs: Vec<Expr>,
    stmts: Vec<Stmt>,
}

fn describe(t: &T) -> String {
    match t {
        T::Ident(s) => format!("`{s}`"),
        T::Int(v) => format!("number {v}"),
        T::Str(_) => "a string".into(),
        T::Embedded(_) => "embedded C `%{ ... %}`".into(),
        T::Op(o) => format!("`{o}`"),
        T::Eof => "end of file".into(),
        T::PpOpen | T::PpThen | T::PpElse | T::PpClose => "a preprocessor token".into(),
        T::ArgNum(_) | T::ArgStr(_) | T::ArgCount => "an argument reference".into(),
        T::Reported => "an unsupported operator".into(),
        T::TargetVar(v) => format!("target variable `{v}`"),
        T::AtOp(o) => format!("`@{}`", o.name()),
        T::At(n) => format!("`@{n}`"),
    }
}

/// `++` or `--` (the token `op`) on `target`, before it or after it.
fn inc_dec(target: Expr, op: Tok, pre: bool, span: Span) -> Expr {
    Expr {
        kind: ExprKind::IncDec {
            target: Box::new(target),
            inc: matches!(op.t, T::Op(op!("++"))),
            pre,
            // A postfix one that starts a line (see `ExprKind::IncDec`).
            op_on_next_line: !pre && op.line_start,
        },
        span,
    }
}

impl<S: TokenSource> Parser<'_, S> {
    fn peek(&self) -> Tok {
        self.next
    }
    /// The token `n` places ahead (`Eof` past the end), pulled from the source if need be.
    fn peek_at(&mut self, n: usize) -> T {
        if n == 0 {
            return self.next.t;
        }
        while self.ahead.len() < n {
            let t = self.toks.next_tok();
            self.ahead.push_back(t);
        }
        self.ahead[n - 1].t
    }
    fn at_eof(&self) -> bool {
        matches!(self.next.t, T::Eof)
    }
    /// Consumes the next token, and returns it; at `Eof` it stays.
    fn bump(&mut self) -> Tok {
        let t = self.next;
        if !matches!(t.t, T::Eof) {
            self.prev = t.span;
            self.pos += 1;
            // The look-ahead is empty but after a probe point's name: tested first, so that
            // the usual path only pulls the next token.
            self.next = if self.ahead.is_empty() {
                self.toks.next_tok()
            } else {
                self.ahead.pop_front().unwrap_or(t)
            };
        }
        t
    }
    /// The string literal at the next token and those right after it, consumed: SystemTap
    /// joins adjacent literals (`"a=%d " "b=%d"` is one format). The text, the span over all
    /// of them, and the `@N` it came from when it is one token.
    fn string_lit(&mut self) -> (Name, Span, Option<Name>) {
        let first = self.bump();
        let T::Str(text) = first.t else {
            unreachable!("string_lit at a token that is not a string")
        };
        if !matches!(self.peek().t, T::Str(_)) {
            return (text, first.span, first.from_arg);
        }
        let mut joined = text.to_string();
        let mut span = first.span;
        while let T::Str(more) = self.peek().t {
            joined.push_str(&more);
            span = span.to(self.bump().span);
        }
        (Name::from_string(joined), span, None)
    }

    fn prev_span(&self) -> Span {
        self.prev
    }
    fn is_op(&self, o: Op) -> bool {
        matches!(self.next.t, T::Op(x) if x == o)
    }
    fn is_kw(&self, k: Name) -> bool {
        matches!(self.next.t, T::Ident(x) if x.is(k))
    }
    fn eat_op(&mut self, o: Op) -> bool {
        if self.is_op(o) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn eat_kw(&mut self, k: Name) -> bool {
        if self.is_kw(k) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error<R>(&mut self, expected: &str) -> PResult<R> {
        let t = self.peek();
        let found = describe(&t.t);
        let mut d = Diag::error(
            codes::PARSE,
            t.span,
            format!("expected {expected}, found {found}"),
        )
        .label(format!("expected {expected} here"));
        if let T::Ident(k) = &t.t {
            if k.is_reserved() && expected.contains("name") {
                d = d.help(format!(
                    "`{k}` is a reserved word and cannot be used as a name"
                ));
            }
        }
        self.diags.push(d);
        Err(Fatal::Syntax)
    }

    // Inlined, as `ident` is; the error out of line.
    #[inline(always)]
    fn expect_op(&mut self, o: Op) -> PResult<Span> {
        if self.is_op(o) {
            Ok(self.bump().span)
        } else {
            self.expected_op(o)
        }
    }

    #[cold]
    fn expected_op(&mut self, o: Op) -> PResult<Span> {
        self.error(&format!("`{o}`"))
    }

    // Inlined: a name is a quarter of the tokens, and the call cost more than the test.
    #[inline(always)]
    fn ident(&mut self, what: &str) -> PResult<Ident> {
        match &self.peek().t {
            T::Ident(s) if !s.is_reserved() => {
                let t = self.bump();
                Ok(Ident {
                    name: *s,
                    span: t.span,
                })
            }
            _ => self.error(what),
        }
    }

    // Inlined: it runs once per level of every expression, and the call cost more than its
    // test.
    #[inline(always)]
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    #[cold]
    fn too_deep(&mut self) -> Fatal {
        let sp = self.peek().span;
        self.diags.push(
            Diag::error(
                codes::PARSE_TOO_DEEP,
                sp,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            )
            .label("the script nests too deeply here")
            .note("each parenthesis, block, statement inside another, `else if` of a chain, and operator of a chain such as `a . b . c` counts as one level")
            .help("split the expression or statement into smaller pieces"),
        );
        Fatal::TooDeep
    }
    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Skips to the next token that can start an item, past the one that failed.
    fn recover(&mut self, start: usize) {
        if self.pos == start {
            self.bump();
        }
        self.depth = 0;
        while !self.at_eof() {
            if self.is_kw(kw::PROBE)
                || self.is_kw(kw::GLOBAL)
                || self.is_kw(kw::FUNCTION)
                || matches!(self.peek().t, T::Embedded(_))
            {
                return;
            }
            self.bump();
        }
    }

    // ---- items ----

    /// One item (or several: `global a, b`), onto `out`; on an error, `out` may hold part of
    /// it.
    fn item(&mut self, out: &mut Vec<Item>) -> PResult<()> {
        let t = self.peek();
        match &t.t {
            T::Ident(k) if k.is(kw::GLOBAL) => {
                self.bump();
                self.globals(out)
            }
            T::Ident(k) if k.is(kw::PRIVATE) => {
                self.bump();
                let first = out.len();
                match &self.peek().t {
                    T::Ident(k) if k.is(kw::GLOBAL) || k.is(kw::FUNCTION) => self.item(out)?,
                    _ => return self.error("`global` or `function` after `private`"),
                };
                for it in &mut out[first..] {
                    match it {
                        Item::Global(g) => g.private = true,
                        Item::Function(f) => f.private = true,
                        _ => {}
                    }
                }
                Ok(())
            }
            T::Ident(k) if k.is(kw::FUNCTION) => {
                self.bump();
                out.push(Item::Function(self.function(t.span)?));
                Ok(())
            }
            T::Ident(k) if k.is(kw::PROBE) => {
                self.bump();
                out.push(Item::Probe(self.probe(t.span)?));
                Ok(())
            }
            T::Embedded(c) => {
                self.bump();
                self.check_guru(t.span)?;
                out.push(Item::Embedded(*c, t.span));
                Ok(())
            }
            T::Op(op!(";")) => {
                self.bump();
                Ok(())
            }
            _ => self.error("`probe`, `global`, `function` or `%{`"),
        }
    }

    fn check_guru(&mut self, span: Span) -> PResult<()> {
        if self.allow_c {
            return Ok(());
        }
        self.diags.push(
            Diag::error(
                codes::PARSE_GURU,
                span,
                "embedded C is only allowed in guru mode",
            )
            .label("embedded C here")
            .help("run with -g if you trust this C code: it runs in the kernel unchecked"),
        );
        Err(Fatal::Syntax)
    }

    fn globals(&mut self, out: &mut Vec<Item>) -> PResult<()> {
        loop {
            let name = self.ident("a global variable name")?;
            let mut array_size = None;
            let mut init = None;
            let wrap = self.eat_op(op!("%")).then(|| self.prev_span());
            if self.eat_op(op!("[")) {
                let t = self.peek();
                match t.t {
                    T::Int(n) if n > 0 && n <= crate::limits::MAX_MAP_ENTRIES => {
                        self.bump();
                        array_size = Some((n, t.span));
                    }
                    // The runtime allocates every entry when the module loads.
                    _ => {
                        let max = crate::limits::MAX_MAP_ENTRIES;
                        return self.error(&format!("an array size from 1 to {max}"));
                    }
                }
                self.expect_op(op!("]"))?;
            } else if wrap.is_none() && self.eat_op(op!("=")) {
                init = Some(Box::new(self.global_init()?));
            }
            out.push(Item::Global(GlobalDecl {
                name,
                private: false,
                array_size,
                wrap,
                init,
            }));
            if !self.eat_op(op!(",")) {
                break;
            }
        }
        self.eat_op(op!(";"));
        Ok(())
    }

    fn global_init(&mut self) -> PResult<Expr> {
        let neg = self.eat_op(op!("-"));
        let start = self.prev_span();
        let t = self.peek();
        let value = match (&t.t, neg) {
            (T::Int(v), _) => LitValue::Int(if neg { v.wrapping_neg() } else { *v }),
            (T::Str(_), false) => {
                let (text, span, from_arg) = self.string_lit();
                return Ok(Expr {
                    kind: ExprKind::Lit(Lit {
                        value: LitValue::Str(text),
                        from_arg,
                    }),
                    span,
                });
            }
            _ => return self.error("a number or string literal as the initial value"),
        };
        self.bump();
        let span = if neg { start.to(t.span) } else { t.span };
        Ok(Expr {
            kind: ExprKind::Lit(Lit {
                value,
                from_arg: t.from_arg,
            }),
            span,
        })
    }

    fn type_name(&mut self) -> PResult<TypeName> {
        let t = self.peek();
        match &t.t {
            T::Ident(s) if s.is(kw::LONG) => {
                self.bump();
                Ok(TypeName::Long)
            }
            T::Ident(s) if s.is(kw::STRING) => {
                self.bump();
                Ok(TypeName::String)
            }
            _ => self.error("a type (`long` or `string`)"),
        }
    }

    fn function(&mut self, kw: Span) -> PResult<FunctionDecl> {
        let name = self.ident("a function name")?;
        let ret = if self.eat_op(op!(":")) {
            Some(self.type_name()?)
        } else {
            None
        };
        self.expect_op(op!("("))?;
        let mut params = vec![];
        if !self.is_op(op!(")")) {
            loop {
                let name = self.ident("a parameter name")?;
                let ty = if self.eat_op(op!(":")) {
                    Some(self.type_name()?)
                } else {
                    None
                };
                if let Some(first) = params.iter().find(|p: &&Param| p.name.name == name.name) {
                    self.diags.push(
                        Diag::error(
                            codes::DUPLICATE,
                            name.span,
                            format!("parameter `{}` is named twice", name.name),
                        )
                        .secondary(first.name.span, "first named here"),
                    );
                }
                params.push(Param { name, ty });
                if !self.eat_op(op!(",")) {
                    break;
                }
            }
        }
        self.expect_op(op!(")"))?;
        // As in `expr_list`: a Vec's first growth makes room for four.
        params.shrink_to_fit();
        let t = self.peek();
        let body = match &t.t {
            T::Embedded(c) => {
                self.bump();
                self.check_guru(t.span)?;
                FunctionBody::Embedded(*c, t.span)
            }
            _ => FunctionBody::Script(self.block()?),
        };
        Ok(FunctionDecl {
            name,
            private: false,
            ret,
            params,
            body,
            span: kw.to(self.prev_span()),
        })
    }

    fn probe(&mut self, kw: Span) -> PResult<ProbeDecl> {
        let watch = self.watch_name()?;
        let mut points = self.probe_point()?;
        while self.eat_op(op!(",")) {
            points.extend(self.probe_point()?);
        }
        if self.is_op(op!("=")) || self.is_op(op!("+=")) {
            let sp = self.peek().span;
            self.diags.push(
                Diag::error(
                    codes::PARSE,
                    sp,
                    "a probe alias name is one or more plain names",
                )
                .label("an alias definition starts here")
                .help("write `probe NAME = POINT { }` or `probe NAME.SUB += POINT { }`"),
            );
            return Err(Fatal::Syntax);
        }
        let cond = if self.eat_kw(kw::IF) {
            self.expect_op(op!("("))?;
            let e = self.expr()?;
            self.expect_op(op!(")"))?;
            Some(e)
        } else {
            None
        };
        let body = self.block()?;
        Ok(ProbeDecl {
            watch: watch.map(Box::new),
            points,
            cond: cond.map(Box::new),
            body,
            span: kw.to(self.prev_span()),
        })
    }

    /// `NAME =`, `NAME(PARAM) =` or `A.B.C =` (or `+=`) before a probe point: a named
    /// watchpoint or a probe alias (pass 2 tells them apart by the point).
    fn watch_name(&mut self) -> PResult<Option<WatchName>> {
        // How many tokens the dotted name takes, if `=` or `+=` follows it.
        let mut n = 0;
        loop {
            if !matches!(self.peek_at(n), T::Ident(_)) {
                return Ok(None);
            }
            n += 1;
            if matches!(self.peek_at(n), T::Op(op!("."))) {
                n += 1;
            } else {
                break;
            }
        }
        let param = match (
            self.peek_at(n),
            self.peek_at(n + 1),
            self.peek_at(n + 2),
            self.peek_at(n + 3),
        ) {
            (T::Op(op!("=") | op!("+=")), ..) => None,
            (T::Op(op!("(")), T::Ident(p), T::Op(op!(")")), T::Op(op!("="))) if n == 1 => Some(p),
            (T::Op(op!("(")), T::Ident(_), T::Op(op!(",")), _)
                if n == 1 && self.param_list_then_eq(n) =>
            {
                // `NAME(a, b) =`: a watchpoint has one address, so one parameter.
                for _ in 0..4 {
                    self.bump();
                }
                let sp = self.peek().span;
                self.diags.push(
                    Diag::error(codes::PARSE, sp, "a watchpoint takes one parameter")
                        .label("a second parameter")
                        .help("declare one parameter, the address: probe NAME(addr) = kernel.data(addr)..."),
                );
                return Err(Fatal::Syntax);
            }
            _ => return Ok(None),
        };
        let mut names = vec![];
        loop {
            let t = self.bump();
            if let T::Ident(s) = &t.t {
                names.push(Ident {
                    name: *s,
                    span: t.span,
                });
            }
            if !self.eat_op(op!(".")) {
                break;
            }
        }
        let param = match param {
            Some(p) => {
                self.bump();
                let sp = self.bump().span;
                self.bump();
                Some(Ident { name: p, span: sp })
            }
            None => None,
        };
        let append = self.eat_op(op!("+="));
        if !append {
            self.expect_op(op!("="))?;
        }
        let mut names = names.into_iter();
        let Some(name) = names.next() else {
            return self.error("a probe alias name");
        };
        Ok(Some(WatchName {
            name,
            param,
            rest: names.collect(),
            append,
        }))
    }

    /// Whether the tokens from `n` on are `( NAME , NAME ... ) =`.
    fn param_list_then_eq(&mut self, n: usize) -> bool {
        let mut i = n + 1;
        loop {
            if !matches!(self.peek_at(i), T::Ident(_)) {
                return false;
            }
            match self.peek_at(i + 1) {
                T::Op(op!(",")) => i += 2,
                T::Op(op!(")")) => return matches!(self.peek_at(i + 2), T::Op(op!("="))),
                _ => return false,
            }
        }
    }

    /// A probe point, or several written as one with brace alternatives, as SystemTap
    /// expands them: `timer.{ms(100),s(1)}` is `timer.ms(100)` and `timer.s(1)`, and
    /// `kernel.function("f").{call,return}` two points; braces nest, and each alternative may
    /// have several components. A trailing `?` or `!` applies to every point made.
    fn probe_point(&mut self) -> PResult<Vec<ProbePoint>> {
        let start = self.peek().span;
        let alternatives = self.point_alternatives()?;
        let sufficient = self.eat_op(op!("!"));
        let optional = sufficient || self.eat_op(op!("?"));
        let span = start.to(self.prev_span());
        Ok(alternatives
            .into_iter()
            .map(|mut components| {
                // As in `expr_list`: a Vec's first growth makes room for four, and a
                // component is 88 bytes.
                components.shrink_to_fit();
                ProbePoint {
                    components,
                    optional,
                    sufficient,
                    span,
                }
            })
            .collect())
    }

    /// Dotted components, where a `{A,B,...}` stands for each of its alternatives: every
    /// sequence of components the text spells, in order.
    fn point_alternatives(&mut self) -> PResult<Vec<Vec<Component>>> {
        /// More points than this from one written point is an error, not an explosion.
        const MOST: usize = 1024;
        let mut alts: Vec<Vec<Component>> = vec![vec![]];
        loop {
            if self.is_op(op!("{")) {
                let open = self.bump().span;
                let mut inner = self.point_alternatives()?;
                while self.eat_op(op!(",")) {
                    inner.extend(self.point_alternatives()?);
                }
                self.expect_op(op!("}"))?;
                if alts.len().saturating_mul(inner.len()) > MOST {
                    self.diags.push(
                        Diag::error(
                            codes::PARSE,
                            open.to(self.prev_span()),
                            format!("brace alternatives make more than {MOST} probe points"),
                        )
                        .label("alternatives multiply here")
                        .help("write fewer alternatives, or a wildcard (`*`)"),
                    );
                    return Err(Fatal::Syntax);
                }
                alts = alts
                    .iter()
                    .flat_map(|a| {
                        inner.iter().map(move |b| {
                            let mut v = a.clone();
                            v.extend(b.iter().cloned());
                            v
                        })
                    })
                    .collect();
            } else {
                let c = self.point_component()?;
                match alts.len() {
                    1 => alts[0].push(c),
                    _ => alts.iter_mut().for_each(|a| a.push(c.clone())),
                }
            }
            if !self.eat_op(op!(".")) {
                return Ok(alts);
            }
        }
    }

    /// One component: a name (or `*`) and its optional argument or parameter.
    fn point_component(&mut self) -> PResult<Component> {
        let t = self.peek();
        let name = match &t.t {
            T::Ident(s) => {
                self.bump();
                Ident {
                    name: *s,
                    span: t.span,
                }
            }
            T::Op(op!("*")) => {
                self.bump();
                Ident {
                    name: "*".into(),
                    span: t.span,
                }
            }
            _ => return self.error("a probe point component"),
        };
        let mut param = None;
        let arg = if self.eat_op(op!("(")) {
            if let T::Ident(p) = &self.peek().t {
                if matches!(self.peek_at(1), T::Op(op!(")"))) {
                    param = Some(Ident {
                        name: *p,
                        span: self.bump().span,
                    });
                    self.bump();
                }
            }
            if param.is_some() {
                None
            } else {
                let neg = self.eat_op(op!("-"));
                let t = self.peek();
                let (value, span, from_arg) = match &t.t {
                    T::Str(_) if !neg => {
                        let (text, span, from_arg) = self.string_lit();
                        (LitValue::Str(text), span, from_arg)
                    }
                    T::Int(v) => {
                        self.bump();
                        let v = if neg { v.wrapping_neg() } else { *v };
                        (LitValue::Int(v), t.span, t.from_arg)
                    }
                    T::Reported => {
                        self.skip_reported();
                        (LitValue::Int(0), t.span, t.from_arg)
                    }
                    _ => return self.error("a number or string literal"),
                };
                self.expect_op(op!(")"))?;
                Some(Literal {
                    value,
                    span,
                    from_arg,
                })
            }
        } else {
            None
        };
        Ok(Component { name, arg, param })
    }

    // ---- statements ----

    fn block(&mut self) -> PResult<Block> {
        let open = self.expect_op(op!("{"))?;
        let base = self.stmts.len();
        while !self.is_op(op!("}")) {
            if self.at_eof() {
                let at = self.peek().span;
                self.diags.push(
                    Diag::error(codes::PARSE, at, "expected `}`, found end of file")
                        .secondary(open, "this block is never closed"),
                );
                return Err(Fatal::Syntax);
            }
            let s = self.stmt()?;
            self.stmts.push(s);
        }
        let close = self.bump().span;
        // As in `expr_list`: a block's statements are kept to the room they take, in one
        // allocation. (`split_off` hands back the whole buffer when the block is the
        // outermost: shrunk to fit, then.)
        let mut stmts = self.stmts.split_off(base);
        stmts.shrink_to_fit();
        Ok(Block {
            stmts,
            span: open.to(close),
        })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        self.enter()?;
        let r = self.stmt_inner();
        self.leave();
        r
    }

    fn stmt_inner(&mut self) -> PResult<Stmt> {
        let t = self.peek();
        let start = t.span;
        let kind = match &t.t {
            T::Op(op!("{")) => StmtKind::Block(self.block()?),
            T::Op(op!(";")) => {
                self.bump();
                StmtKind::Empty
            }
            T::Embedded(_) => {
                let d = Diag::error(
                    codes::PARSE,
                    t.span,
                    "embedded C is not allowed inside a block",
                )
                .help("put the C in a function with an embedded-C body (guru mode) and call it");
                self.diags.push(d);
                // The rest of the block is still well formed: carry on after the C.
                self.bump();
                StmtKind::Empty
            }
            T::Ident(k) => match k.as_str() {
                "if" => {
                    self.bump();
                    self.expect_op(op!("("))?;
                    let cond = self.expr()?;
                    self.expect_op(op!(")"))?;
                    let then = Box::new(self.stmt()?);
                    let els = if self.eat_kw(kw::ELSE) {
                        Some(Box::new(self.stmt()?))
                    } else {
                        None
                    };
                    StmtKind::If { cond, then, els }
                }
                "while" => {
                    self.bump();
                    self.expect_op(op!("("))?;
                    let cond = self.expr()?;
                    self.expect_op(op!(")"))?;
                    StmtKind::While {
                        cond,
                        body: Box::new(self.stmt()?),
                    }
                }
                "for" => {
                    self.bump();
                    self.expect_op(op!("("))?;
                    let init = if self.is_op(op!(";")) {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect_op(op!(";"))?;
                    let cond = if self.is_op(op!(";")) {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect_op(op!(";"))?;
                    let step = if self.is_op(op!(")")) {
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    self.expect_op(op!(")"))?;
                    StmtKind::For {
                        init: init.map(Box::new),
                        cond: cond.map(Box::new),
                        step: step.map(Box::new),
                        body: Box::new(self.stmt()?),
                    }
                }
                "foreach" => {
                    self.bump();
                    self.foreach()?
                }
                "break" => {
                    self.bump();
                    StmtKind::Break
                }
                "continue" => {
                    self.bump();
                    StmtKind::Continue
                }
                "next" => {
                    self.bump();
                    StmtKind::Next
                }
                "return" => {
                    self.bump();
                    if self.starts_expr() {
                        StmtKind::Return(Some(self.expr()?))
                    } else {
                        StmtKind::Return(None)
                    }
                }
                "delete" => {
                    self.bump();
                    StmtKind::Delete(self.expr()?)
                }
                // Not reserved words: before a reserved word (`enable in a`) they are names.
                "enable" | "disable" if matches!(self.peek_at(1), T::Ident(n) if !n.is_reserved()) =>
                {
                    let enable = k == "enable";
                    self.bump();
                    let name = self.ident("a watchpoint name")?;
                    let arg = if self.eat_op(op!("(")) {
                        let e = self.expr()?;
                        self.expect_op(op!(")"))?;
                        Some(e)
                    } else {
                        None
                    };
                    let later = self.eat_kw(kw::LATER).then(|| self.prev_span());
                    if enable {
                        StmtKind::Enable {
                            name,
                            arg: arg.map(Box::new),
                            later,
                        }
                    } else {
                        StmtKind::Disable {
                            name,
                            arg: arg.map(Box::new),
                            later,
                        }
                    }
                }
                "else" => return self.error("a statement (this `else` has no `if`)"),
                "try" => {
                    self.bump();
                    self.try_catch()?
                }
                "catch" => return self.error("a statement (this `catch` has no `try`)"),
                _ => StmtKind::Expr(self.expr()?),
            },
            _ => {
                if !self.starts_expr() {
                    return self.error("a statement");
                }
                StmtKind::Expr(self.expr()?)
            }
        };
        // SystemTap statements may end with an optional `;`.
        if !matches!(kind, StmtKind::Empty) {
            self.eat_op(op!(";"));
        }
        Ok(Stmt {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    /// `try BLOCK catch [(NAME)] BLOCK`, after `try`: both blocks are required, as in
    /// SystemTap.
    fn try_catch(&mut self) -> PResult<StmtKind> {
        let body = self.block()?;
        if !self.eat_kw(kw::CATCH) {
            return self.error("`catch` after the `try` block");
        }
        let var = if self.eat_op(op!("(")) {
            let v = self.ident("a variable name for the error message")?;
            self.expect_op(op!(")"))?;
            Some(v)
        } else {
            None
        };
        let catch = self.block()?;
        Ok(StmtKind::Try {
            body,
            var,
            catch: Box::new(catch),
        })
    }

    fn starts_expr(&mut self) -> bool {
        match &self.peek().t {
            T::Int(_) | T::Str(_) | T::Reported | T::AtOp(_) | T::At(_) | T::TargetVar(_) => true,
            T::Ident(k) => !k.is_reserved(),
            T::Op(o) => matches!(
                *o,
                op!("(")
                    | op!("[")
                    | op!("-")
                    | op!("+")
                    | op!("!")
                    | op!("~")
                    | op!("++")
                    | op!("--")
            ),
            _ => false,
        }
    }

    fn sort_mark(&mut self) -> Option<SortDir> {
        if self.eat_op(op!("+")) {
            Some(SortDir::Asc)
        } else if self.eat_op(op!("-")) {
            Some(SortDir::Desc)
        } else {
            None
        }
    }

    fn foreach(&mut self) -> PResult<StmtKind> {
        self.expect_op(op!("("))?;
        let mut sort = None;
        let mut set_sort = |p: &mut Self, by: SortBy, dir: Option<SortDir>, at: Span| {
            if let Some(d) = dir {
                if sort.is_some() {
                    p.diags.push(Diag::error(
                        codes::PARSE,
                        at,
                        "only one sort column is allowed in a foreach",
                    ));
                }
                sort = Some((by, d));
            }
        };
        let mut value = None;
        if matches!(self.peek().t, T::Ident(_)) && matches!(self.peek_at(1), T::Op(op!("="))) {
            value = Some(self.ident("a variable name")?);
            self.bump();
        }
        let mut keys = vec![];
        if self.eat_op(op!("[")) {
            loop {
                let k = self.ident("a key variable name")?;
                let d = self.sort_mark();
                set_sort(self, SortBy::Key(keys.len()), d, k.span);
                keys.push(k);
                if !self.eat_op(op!(",")) {
                    break;
                }
            }
            self.expect_op(op!("]"))?;
        } else {
            let k = self.ident("a key variable name")?;
            let d = self.sort_mark();
            set_sort(self, SortBy::Key(0), d, k.span);
            keys.push(k);
        }
        if !self.eat_kw(kw::IN) {
            return self.error("`in`");
        }
        if let T::AtOp(_) = self.peek().t {
            let hist = self.primary()?;
            if value.is_some() || keys.len() != 1 || sort.is_some() {
                self.diags.push(
                    Diag::error(
                        codes::PARSE,
                        hist.span,
                        "a foreach over a histogram binds one bucket index, unsorted",
                    )
                    .help("write `foreach (b in @hist_log(x))`"),
                );
            }
            self.expect_op(op!(")"))?;
            let body = Box::new(self.stmt()?);
            return Ok(StmtKind::ForeachHist {
                key: keys.swap_remove(0),
                hist: Box::new(hist),
                body,
            });
        }
        // As in `expr_list`: a Vec's first growth makes room for four.
        keys.shrink_to_fit();
        let array = self.ident("an array name")?;
        let slice = if self.eat_op(op!("[")) {
            Some(self.expr_list(op!("]"))?)
        } else {
            None
        };
        let agg = match self.peek().t {
            T::AtOp(f) => {
                let at = self.bump().span;
                Some((f, at))
            }
            _ => None,
        };
        let d = self.sort_mark();
        set_sort(self, SortBy::Value, d, array.span);
        let limit = if self.eat_kw(kw::LIMIT) {
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_op(op!(")"))?;
        let body = self.stmt()?;
        Ok(StmtKind::Foreach(Box::new(Foreach {
            value,
            keys,
            array,
            agg,
            slice,
            sort,
            limit,
            body,
        })))
    }

    // ---- expressions ----

    pub fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.assignment();
        self.leave();
        r
    }

    /// Most expressions are not assignments and have no `?`: the operand is handed back as
    /// the result it came in, untouched (unwrapping it and wrapping it again copied the
    /// expression through the stack frame four times, a fifth of the parser's instructions
    /// here).
    fn assignment(&mut self) -> PResult<Expr> {
        let lhs = self.binary(BinOp::Or.prec());
        let more = match self.next.t {
            T::Op(o) => matches!(
                o,
                op!("?")
                    | op!("=")
                    | op!("+=")
                    | op!("-=")
                    | op!("*=")
                    | op!("/=")
                    | op!("%=")
                    | op!("<<=")
                    | op!(">>=")
                    | op!("&=")
                    | op!("^=")
                    | op!("|=")
                    | op!(".=")
                    | op!("<<<")
            ),
            _ => false,
        };
        if !more || lhs.is_err() {
            return lhs;
        }
        self.assignment_rest(lhs?)
    }

    /// `assignment` after an operand that a `?` or an assignment operator follows.
    fn assignment_rest(&mut self, lhs: Expr) -> PResult<Expr> {
        let lhs = if self.is_op(op!("?")) {
            self.ternary_rest(lhs)?
        } else {
            lhs
        };
        let op = match self.peek().t {
            T::Op(op!("=")) => None,
            T::Op(op!("+=")) => Some(BinOp::Add),
            T::Op(op!("-=")) => Some(BinOp::Sub),
            T::Op(op!("*=")) => Some(BinOp::Mul),
            T::Op(op!("/=")) => Some(BinOp::Div),
            T::Op(op!("%=")) => Some(BinOp::Mod),
            T::Op(op!("<<=")) => Some(BinOp::Shl),
            T::Op(op!(">>=")) => Some(BinOp::Shr),
            T::Op(op!("&=")) => Some(BinOp::BitAnd),
            T::Op(op!("^=")) => Some(BinOp::BitXor),
            T::Op(op!("|=")) => Some(BinOp::BitOr),
            T::Op(op!(".=")) => Some(BinOp::Concat),
            T::Op(op!("<<<")) => {
                self.bump();
                let value = self.expr()?;
                let span = lhs.span.to(value.span);
                return Ok(Expr {
                    kind: ExprKind::StatAdd {
                        target: Box::new(lhs),
                        value: Box::new(value),
                    },
                    span,
                });
            }
            _ => return Ok(lhs),
        };
        self.bump();
        let value = self.expr()?;
        let span = lhs.span.to(value.span);
        Ok(Expr {
            kind: ExprKind::Assign {
                op,
                target: Box::new(lhs),
                value: Box::new(value),
            },
            span,
        })
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.binary(BinOp::Or.prec());
        if cond.is_err() || !self.is_op(op!("?")) {
            return cond;
        }
        self.ternary_rest(cond?)
    }

    /// `? then : else` after `cond`.
    fn ternary_rest(&mut self, cond: Expr) -> PResult<Expr> {
        self.bump();
        let then = self.expr()?;
        self.expect_op(op!(":"))?;
        self.enter()?;
        let els = self.ternary();
        self.leave();
        let els = els?;
        let span = cond.span.to(els.span);
        Ok(Expr {
            kind: ExprKind::Ternary {
                cond: Box::new(cond),
                then: Box::new(then),
                els: Box::new(els),
            },
            span,
        })
    }

    /// The binary operator an operator token is, if it is one.
    fn binop(o: Op) -> Option<BinOp> {
        use BinOp::*;
        Some(match o {
            op!("*") => Mul,
            op!("/") => Div,
            op!("%") => Mod,
            op!("+") => Add,
            op!("-") => Sub,
            op!("<<") => Shl,
            op!(">>") => Shr,
            op!("&") => BitAnd,
            op!("^") => BitXor,
            op!("|") => BitOr,
            op!("<") => Lt,
            op!(">") => Gt,
            op!("<=") => Le,
            op!(">=") => Ge,
            op!("==") => Eq,
            op!("!=") => Ne,
            op!("&&") => And,
            op!("||") => Or,
            op!(".") => Concat,
            _ => return None,
        })
    }

    /// Precedence climbing over the left-associative binary operators and `in`. Operands are
    /// parsed one level up, so the tree is built in a loop and its depth is what the script
    /// nests, checked against MAX_DEPTH as it grows.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let lhs = self.unary();
        // Most operands end their expression: that one test, then, and the operand handed
        // back as it came (as in `assignment`).
        let more = match self.next.t {
            T::Op(o) => Self::binop(o).is_some() || matches!(o, op!("=~") | op!("!~")),
            T::Ident(k) => k.is(kw::IN),
            _ => false,
        };
        if !more || lhs.is_err() {
            return lhs;
        }
        let base = self.depth;
        let r = self.binary_rest(lhs?, min);
        self.depth = base;
        r
    }

    /// Each operator in a left-associative chain deepens the tree by one: count it as nesting.
    fn binary_rest(&mut self, mut lhs: Expr, min: u8) -> PResult<Expr> {
        loop {
            let t = self.next.t;
            if matches!(t, T::Ident(k) if k.is(kw::IN)) && PREC_IN >= min {
                self.bump();
                let array = self.ident("an array name after `in`")?;
                let span = lhs.span.to(array.span);
                lhs = Expr {
                    kind: ExprKind::In {
                        keys: Box::new([lhs]),
                        array: array.name,
                        array_span: array.span,
                    },
                    span,
                };
            } else if matches!(t, T::Op(op!("=~") | op!("!~"))) && PREC_REGEX >= min {
                let negate = matches!(self.bump().t, T::Op(op!("!~")));
                if !matches!(self.peek().t, T::Str(_)) {
                    return self.error("a string literal (the regular expression)");
                }
                let (p, p_span, from_arg) = self.string_lit();
                let pattern = Box::new(Literal {
                    value: LitValue::Str(p),
                    span: p_span,
                    from_arg,
                });
                let span = lhs.span.to(p_span);
                lhs = Expr {
                    kind: ExprKind::Regex {
                        s: Box::new(lhs),
                        negate,
                        pattern,
                    },
                    span,
                };
            } else {
                let T::Op(o) = t else { break };
                let Some(op) = Self::binop(o) else { break };
                if op.prec() < min {
                    break;
                }
                self.bump();
                self.enter()?;
                let rhs = self.binary(op.prec() + 1);
                self.leave();
                let rhs = rhs?;
                let span = lhs.span.to(rhs.span);
                lhs = Expr {
                    kind: ExprKind::Binary {
                        op,
                        l: Box::new(lhs),
                        r: Box::new(rhs),
                    },
                    span,
                };
            }
            self.enter()?;
        }
        Ok(lhs)
    }

    // Inlined into `binary`, which calls it for every operand: most have no prefix operator.
    #[inline(always)]
    fn unary(&mut self) -> PResult<Expr> {
        if let T::Op(op!("-") | op!("+") | op!("!") | op!("~") | op!("++") | op!("--")) =
            self.next.t
        {
            return self.prefixed();
        }
        let e = self.primary();
        if e.is_err() || !(self.is_op(op!("++")) || self.is_op(op!("--"))) {
            return e;
        }
        let e = e?;
        let t = self.bump();
        let span = e.span.to(t.span);
        Ok(inc_dec(e, t, false, span))
    }

    /// A unary expression that starts with a prefix operator.
    fn prefixed(&mut self) -> PResult<Expr> {
        let t = self.peek();
        let op = match t.t {
            T::Op(op!("-")) => UnOp::Neg,
            T::Op(op!("+")) => UnOp::Plus,
            T::Op(op!("!")) => UnOp::Not,
            T::Op(op!("~")) => UnOp::BitNot,
            _ => {
                self.bump();
                self.enter()?;
                let e = self.unary();
                self.leave();
                let e = e?;
                let span = t.span.to(e.span);
                return Ok(inc_dec(e, t, true, span));
            }
        };
        self.bump();
        self.enter()?;
        let e = self.unary();
        self.leave();
        let e = e?;
        // Fold `-N` so that the most negative number can be written.
        if let (
            UnOp::Neg,
            ExprKind::Lit(Lit {
                value: LitValue::Int(v),
                from_arg,
                ..
            }),
        ) = (op, &e.kind)
        {
            let span = t.span.to(e.span);
            return Ok(Expr {
                kind: ExprKind::Lit(Lit {
                    value: LitValue::Int(v.wrapping_neg()),
                    from_arg: *from_arg,
                }),
                span,
            });
        }
        let span = t.span.to(e.span);
        Ok(Expr {
            kind: ExprKind::Unary { op, e: Box::new(e) },
            span,
        })
    }

    // Inlined into `unary` (so into `binary`), which calls it for every operand.
    #[inline(always)]
    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek();
        match &t.t {
            T::AtOp(op) => {
                let op = *op;
                self.bump();
                self.expect_op(op!("("))?;
                let mut args = self.expr_list(op!(")"))?.into_iter();
                let Some(arg) = args.next() else {
                    let sp = self.prev_span();
                    self.diags.push(Diag::error(
                        codes::PARSE,
                        sp,
                        format!("`@{}` needs a statistic to read", op.name()),
                    ));
                    return Err(Fatal::Syntax);
                };
                let params: Box<[Expr]> = args.collect();
                let bucket = if op.is_hist() && self.eat_op(op!("[")) {
                    let b = self.expr()?;
                    self.expect_op(op!("]"))?;
                    Some(Box::new(b))
                } else {
                    None
                };
                let span = t.span.to(self.prev_span());
                Ok(Expr {
                    kind: ExprKind::StatOp {
                        op,
                        arg: Box::new(arg),
                        params,
                        bucket,
                    },
                    span,
                })
            }
            T::Int(v) => {
                self.bump();
                Ok(Expr {
                    kind: ExprKind::Lit(Lit {
                        value: LitValue::Int(*v),
                        from_arg: t.from_arg,
                    }),
                    span: t.span,
                })
            }
            T::Str(_) => {
                let (text, span, from_arg) = self.string_lit();
                Ok(Expr {
                    kind: ExprKind::Lit(Lit {
                        value: LitValue::Str(text),
                        from_arg,
                    }),
                    span,
                })
            }
            T::Op(op!("(")) => {
                self.bump();
                let e = self.expr()?;
                self.expect_op(op!(")"))?;
                Ok(e)
            }
            T::Op(op!("[")) => {
                self.bump();
                let keys = self.expr_list(op!("]"))?;
                if !self.eat_kw(kw::IN) {
                    return self.error("`in` after a key list");
                }
                let array = self.ident("an array name")?;
                let span = t.span.to(array.span);
                Ok(Expr {
                    kind: ExprKind::In {
                        keys,
                        array: array.name,
                        array_span: array.span,
                    },
                    span,
                })
            }
            T::Ident(_) => {
                let name = self.ident("an expression")?;
                if self.eat_op(op!("(")) {
                    let args = self.expr_list(op!(")"))?;
                    let span = name.span.to(self.prev_span());
                    Ok(Expr {
                        kind: ExprKind::Call {
                            name: name.name,
                            name_span: name.span,
                            args,
                        },
                        span,
                    })
                } else if self.eat_op(op!("[")) {
                    let keys = self.expr_list(op!("]"))?;
                    if keys.is_empty() {
                        let sp = self.prev_span();
                        self.diags.push(Diag::error(
                            codes::PARSE,
                            sp,
                            "an array index needs at least one key",
                        ));
                        return Err(Fatal::Syntax);
                    }
                    let span = name.span.to(self.prev_span());
                    Ok(Expr {
                        kind: ExprKind::Index {
                            array: name.name,
                            array_span: name.span,
                            keys,
                        },
                        span,
                    })
                } else {
                    let span = name.span;
                    Ok(Expr {
                        kind: ExprKind::Var(name),
                        span,
                    })
                }
            }
            T::TargetVar(name) => {
                let name = Ident {
                    name: *name,
                    span: t.span,
                };
                self.bump();
                // Its members (`$task->pid->tgid`) go with it: reported once, as a whole.
                while self.is_op(op!("-"))
                    && matches!(self.peek_at(1), T::Op(op!(">")))
                    && matches!(self.peek_at(2), T::Ident(_))
                {
                    self.bump();
                    self.bump();
                    self.bump();
                }
                Ok(Expr {
                    span: name.span.to(self.prev_span()),
                    kind: ExprKind::TargetVar(name),
                })
            }
            T::At(name) if name == "defined" => self.at_defined(),
            T::At(_) | T::Reported => {
                if let T::At(name) = &t.t {
                    self.at_operator(name, t.span);
                }
                self.skip_reported();
                Ok(Expr {
                    kind: ExprKind::Lit(Lit {
                        value: LitValue::Int(0),
                        from_arg: None,
                    }),
                    span: t.span.to(self.prev_span()),
                })
            }
            _ => self.error("an expression"),
        }
    }

    /// `@defined(EXPR)`: 0 when EXPR names a target variable (this translator resolves none),
    /// else 1, as SystemTap decides it; folded here, so that `if (@defined($x)) { ... $x ... }`
    /// leaves dead code that pass 2 does not report.
    fn at_defined(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        self.expect_op(op!("("))?;
        let e = self.expr()?;
        self.expect_op(op!(")"))?;
        let mut target = false;
        crate::syntax::ast::walk_expr(&e, &mut |x| {
            target |= matches!(x.kind, ExprKind::TargetVar(_))
        });
        let span = start.to(self.prev_span());
        Ok(Expr {
            kind: ExprKind::Lit(Lit {
                value: LitValue::Int(i64::from(!target)),
                from_arg: None,
            }),
            span,
        })
    }

    /// Reports an `@NAME` that the macro pass did not expand: one of SystemTap's `@` operators
    /// this translator lacks, or a macro that is not defined where it is used.
    fn at_operator(&mut self, name: &str, span: Span) {
        const STAP_OPS: &[&str] = &[
            "cast",
            "var",
            "entry",
            "const",
            "probewrite",
            "kregister",
            "uregister",
            "module",
            "perf",
            "choose_defined",
            "user_cast",
            "kernel_cast",
        ];
        let d = if STAP_OPS.contains(&name) {
            Diag::error(
                codes::LEX_UNSUPPORTED,
                span,
                format!("`@{name}` is not supported"),
            )
            .label("unknown @-operator")
        } else if name == "define" {
            Diag::error(
                codes::MACRO,
                span,
                "`@define` inside a probe, function or macro use",
            )
            .label("macros are defined at the top level")
        } else {
            Diag::error(codes::MACRO, span, format!("unknown macro `@{name}`"))
                .label("no `@define` of this name in this file or a macro library")
                .help("define it first: @define NAME %( TOKENS %); a script's macros are its own")
        };
        self.diags.push(d);
    }

    /// Steps over a token the lexer already reported (`@cast`, `$var`) together with what
    /// belongs to it: a parenthesised argument list and `->member` chains.
    fn skip_reported(&mut self) {
        if !matches!(self.peek().t, T::Reported | T::At(_)) {
            return;
        }
        self.bump();
        loop {
            if self.is_op(op!("(")) {
                let mut depth = 0usize;
                while !self.at_eof() {
                    match self.bump().t {
                        T::Op(op!("(")) => depth += 1,
                        T::Op(op!(")")) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            } else if self.is_op(op!("-"))
                && matches!(self.peek_at(1), T::Op(op!(">")))
                && matches!(self.peek_at(2), T::Ident(_))
            {
                self.bump();
                self.bump();
                self.bump();
            } else {
                return;
            }
        }
    }

    fn expr_list(&mut self, close: Op) -> PResult<Box<[Expr]>> {
        if self.eat_op(close) {
            return Ok(Box::default());
        }
        let base = self.exprs.len();
        loop {
            // `*` as a whole key (`[k, *] in arr`, `delete arr[k, *]`); pass 2 says where it
            // may stand.
            if close == op!("]")
                && self.is_op(op!("*"))
                && matches!(self.peek_at(1), T::Op(op!(",") | op!("]")))
            {
                let sp = self.bump().span;
                self.exprs.push(Expr {
                    kind: ExprKind::Wildcard,
                    span: sp,
                });
            } else {
                let e = self.expr()?;
                self.exprs.push(e);
            }
            if self.eat_op(close) {
                // Most lists hold one or two expressions: a list is allocated at its exact
                // size (spare room in lists and blocks was 23 MB of the peak on a
                // 100,000-line script). A boxed slice is also 8 bytes smaller than a Vec in
                // the expression that holds it. `split_off` moves the list in one copy, where
                // collecting a `drain` moved the expressions one by one.
                return Ok(self.exprs.split_off(base).into_boxed_slice());
            }
            if !self.eat_op(op!(",")) {
                return self.error(&format!("`,` or `{close}`"));
            }
        }
    }
}
