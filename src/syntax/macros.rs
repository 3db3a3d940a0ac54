//! Pass 1a': macros, as SystemTap's preprocessor has them. `@define NAME %( BODY %)` and
//! `@define NAME(P1, P2) %( BODY %)` define; `@NAME` and `@NAME(ARG, ARG)` expand, with `@P1`
//! standing for an argument inside the body. This runs on tokens before the conditional
//! preprocessor, so a body may hold `%( %? %)` conditionals and `$N`/`@N`, which are then
//! resolved where the macro expands.
//!
//! Scoping follows SystemTap: a file's macros are its own (a script's are not seen by the
//! tapsets, a tapset's not by the script); the macros of `.stpm` files are a library visible to
//! every file. Expanded tokens take the span of the outermost use, so a later error inside an
//! expansion points at the `@NAME` the user wrote.

use super::lexer::{T, Tok, op};
use super::name::Name;
use crate::diag::{Diag, Diags, Span, codes};
use indexmap::IndexMap;

/// Expansions nested deeper than this are taken for recursion (`@define f %( @f %)`).
pub const MAX_MACRO_DEPTH: usize = 64;

/// The tokens a file's macro expansions may produce, counted at every level (each use's body
/// with its arguments in place), unless the file itself is larger: at most twice its own
/// tokens then. Nesting can grow an expansion exponentially (a body using the macro before it
/// twice doubles it at every level, as can an argument used twice), and unbounded it ran the
/// translator out of memory; a real script's expansions are a small multiple of its text.
pub const MIN_MACRO_TOKENS: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Macro {
    pub params: Vec<Name>,
    pub body: Vec<Tok>,
    /// The name in its `@define`.
    pub span: Span,
}

/// Macros visible to every file: those of the `.stpm` files.
#[derive(Debug, Default, Clone)]
pub struct Library {
    pub defs: IndexMap<String, Macro>,
}

/// Reads a `.stpm` file: nothing but `@define`s, which join the library.
pub fn define_library(toks: Vec<Tok>, lib: &mut Library, diags: &mut Diags) {
    let mut ex = Expander {
        toks,
        pos: 0,
        lib: &Library::default(),
        local: IndexMap::new(),
        diags,
        budget: 0,
        budget_total: 0,
        over_budget: false,
    };
    loop {
        match ex.peek().t {
            T::Eof => break,
            T::At(d) if d == "define" => {
                ex.bump();
                ex.define();
            }
            _ => {
                let sp = ex.bump().span;
                ex.diags.push(
                    Diag::error(
                        codes::MACRO,
                        sp,
                        "a macro library (.stpm) may hold only `@define`s",
                    )
                    .label("not part of a macro definition"),
                );
                break;
            }
        }
    }
    for (name, m) in ex.local {
        lib.defs.insert(name, m);
    }
}

/// Expands the macros of one file, taking out its `@define`s.
pub fn expand(toks: Vec<Tok>, lib: &Library, diags: &mut Diags) -> Vec<Tok> {
    // A file that names no macro (and defines none) keeps its tokens as they are, without a
    // second vector: most scripts, and every large one measured.
    if !toks.iter().any(|t| matches!(t.t, T::At(_))) {
        return toks;
    }
    let mut out = Vec::with_capacity(toks.len());
    let budget = MIN_MACRO_TOKENS.max(toks.len().saturating_mul(2));
    let mut ex = Expander {
        toks,
        pos: 0,
        lib,
        local: IndexMap::new(),
        diags,
        budget,
        budget_total: budget,
        over_budget: false,
    };
    loop {
        // Only a macro use is copied out of the token: every other token moves on as it is.
        let is_use = match &ex.peek().t {
            T::At(name) if name != "define" => ex.lookup(name).is_some(),
            _ => false,
        };
        match &ex.peek().t {
            T::Eof => {
                out.push(ex.take());
                return out;
            }
            T::At(d) if d == "define" => {
                ex.bump();
                ex.define();
            }
            T::At(_) if is_use => {
                let tok = *ex.bump();
                let T::At(name) = &tok.t else { continue };
                let before = ex.diags.error_count();
                let mark = out.len();
                if let Some(args) = ex.args_at_top(name, tok.span) {
                    // Past the budget, later uses are not expanded (nor reported again).
                    if !ex.over_budget {
                        ex.expand_use(name, &tok, args, None, 0, &mut out);
                        if ex.over_budget {
                            ex.report_over_budget(name, tok.span);
                        }
                    }
                }
                if ex.diags.error_count() > before || ex.over_budget {
                    // Already reported: the parser steps over it without follow-on errors (nor
                    // reads what the expansion gave before it failed).
                    out.truncate(mark);
                    out.push(Tok {
                        t: T::Reported,
                        ..tok
                    });
                }
            }
            _ => out.push(ex.take()),
        }
    }
}

struct Expander<'a> {
    toks: Vec<Tok>,
    pos: usize,
    lib: &'a Library,
    local: IndexMap<String, Macro>,
    diags: &'a mut Diags,
    /// Tokens the file's expansions may still produce (see `MIN_MACRO_TOKENS`).
    budget: usize,
    /// The budget at the start, for the report.
    budget_total: usize,
    /// The budget ran out (reported once, at the use that exhausted it).
    over_budget: bool,
}

impl Expander<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn bump(&mut self) -> &Tok {
        let i = self.pos.min(self.toks.len() - 1);
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        &self.toks[i]
    }

    /// The next token, moved out (the file's own tokens are read forward only: definitions and
    /// argument lists look ahead, never behind).
    fn take(&mut self) -> Tok {
        let hollow = Tok {
            t: T::Reported,
            span: self.peek().span,
            from_arg: None,
            line_start: false,
        };
        let i = self.pos.min(self.toks.len() - 1);
        self.bump();
        std::mem::replace(&mut self.toks[i], hollow)
    }

    fn lookup(&self, name: &str) -> Option<&Macro> {
        self.local.get(name).or_else(|| self.lib.defs.get(name))
    }

    fn err(&mut self, at: Span, msg: impl Into<String>) -> Diag {
        Diag::error(codes::MACRO, at, msg)
    }

    /// The use of `name` at `at`, in the file's own text, ran the expansion budget out.
    fn report_over_budget(&mut self, name: &str, at: Span) {
        let def = self.lookup(name).map(|m| m.span);
        let mut d = Diag::error(
            codes::MACRO_TOO_LARGE,
            at,
            format!(
                "macro `@{name}` expands to more than {} tokens",
                self.budget_total
            ),
        )
        .label("this use's expansion is too large")
        .help(
            "a macro whose body uses another macro (or an argument) twice doubles at every \
             level of nesting; compute the value once, in a function or a variable, instead",
        );
        if let Some(def) = def {
            d = d.secondary(def, "defined here");
        }
        self.diags.push(d);
    }

    /// After an error in a definition's head: skips to the end of its body, if it has one
    /// before the next `@define`, so that the body is not read as script.
    fn skip_body(&mut self) {
        let start = self.pos;
        while !matches!(self.peek().t, T::PpOpen | T::Eof) {
            if matches!(&self.peek().t, T::At(d) if d == "define") {
                self.pos = start;
                return;
            }
            self.bump();
        }
        let mut depth = 0usize;
        loop {
            match self.bump().t {
                T::Eof => return,
                T::PpOpen => depth += 1,
                T::PpClose if depth <= 1 => return,
                T::PpClose => depth -= 1,
                _ => {}
            }
        }
    }

    /// After `@define`: `NAME [(P, ...)] %( BODY %)`. Errors are reported and the definition
    /// dropped; the body is skipped, so it is not read as script.
    fn define(&mut self) {
        let name_tok = *self.peek();
        let T::Ident(name) = &name_tok.t else {
            let d = self
                .err(name_tok.span, "expected a macro name after `@define`")
                .label("a name such as `@define max_len %( 64 %)`");
            self.diags.push(d);
            return;
        };
        self.bump();
        let mut params: Vec<Name> = vec![];
        if matches!(self.peek().t, T::Op(op!("("))) {
            self.bump();
            loop {
                let t = *self.peek();
                match &t.t {
                    T::Ident(p) if !params.contains(p) => {
                        self.bump();
                        params.push(*p);
                    }
                    T::Op(op!(")")) if params.is_empty() => {}
                    _ => {
                        let d = self
                            .err(
                                t.span,
                                format!("expected a parameter name of macro `@{name}`"),
                            )
                            .label("parameters are distinct names: @define f(a, b) %( ... %)");
                        self.diags.push(d);
                        self.skip_body();
                        return;
                    }
                }
                match self.peek().t {
                    T::Op(op!(",")) => {
                        self.bump();
                    }
                    T::Op(op!(")")) => {
                        self.bump();
                        break;
                    }
                    _ => {
                        let sp = self.peek().span;
                        let d = self.err(sp, "expected `,` or `)` in the macro's parameters");
                        self.diags.push(d);
                        self.skip_body();
                        return;
                    }
                }
            }
        }
        let open = *self.peek();
        if open.t != T::PpOpen {
            let d = self
                .err(
                    open.span,
                    format!("expected `%(` to start the body of `@{name}`"),
                )
                .label("a macro body is written %( TOKENS %)");
            self.diags.push(d);
            return;
        }
        self.bump();
        let mut depth = 0usize;
        let mut body = vec![];
        loop {
            let t = *self.bump();
            match t.t {
                T::Eof => {
                    let d = self
                        .err(open.span, format!("the body of `@{name}` is never closed"))
                        .label("this `%(` has no matching `%)`");
                    self.diags.push(d);
                    return;
                }
                T::PpOpen => depth += 1,
                T::PpClose if depth == 0 => break,
                T::PpClose => depth -= 1,
                T::At(ref d) if d == "define" => {
                    let d = self
                        .err(t.span, "a macro cannot be defined inside a macro body")
                        .secondary(name_tok.span, "inside this macro");
                    self.diags.push(d);
                    return;
                }
                _ => {}
            }
            body.push(t);
        }
        if let Some(prev) = self.local.get(name.as_str()) {
            let prev = prev.span;
            let d = self
                .err(
                    name_tok.span,
                    format!("macro `@{name}` is defined twice in this file"),
                )
                .secondary(prev, "first defined here");
            self.diags.push(d);
            return;
        }
        self.local.insert(
            name.to_string(),
            Macro {
                params,
                body,
                span: name_tok.span,
            },
        );
    }

    /// The arguments of a use in the file's own tokens, or `None` if they are wrong (reported).
    fn args_at_top(&mut self, name: &str, use_span: Span) -> Option<Vec<Vec<Tok>>> {
        // Taken out for the call (split_args reads no token through self), not copied.
        let toks = std::mem::take(&mut self.toks);
        let r = self.split_args(name, use_span, &toks[self.pos..]);
        self.toks = toks;
        let (args, used) = r?;
        self.pos += used;
        Some(args)
    }

    /// Reads `(ARG, ...)` from `toks` for macro `name`: the arguments and how many tokens they
    /// took. Parentheses, brackets and braces nest, so `@f((a, b), c)` has two arguments.
    fn split_args(
        &mut self,
        name: &str,
        use_span: Span,
        toks: &[Tok],
    ) -> Option<(Vec<Vec<Tok>>, usize)> {
        let m = self.lookup(name)?;
        let (want, def) = (m.params.len(), m.span);
        if want == 0 {
            return Some((vec![], 0));
        }
        let plural = if want == 1 { "" } else { "s" };
        if toks.first().map(|t| &t.t) != Some(&T::Op(op!("("))) {
            let d = self
                .err(
                    use_span,
                    format!("macro `@{name}` takes {want} argument{plural}, written @{name}(...)"),
                )
                .secondary(def, "defined here");
            self.diags.push(d);
            return None;
        }
        let mut args: Vec<Vec<Tok>> = vec![vec![]];
        let mut depth = 0usize;
        let mut i = 1;
        loop {
            let t = match toks.get(i) {
                Some(t) if t.t != T::Eof => t,
                _ => {
                    let d = self
                        .err(
                            use_span,
                            format!("the arguments of `@{name}` are never closed"),
                        )
                        .label("this use has no matching `)`");
                    self.diags.push(d);
                    return None;
                }
            };
            i += 1;
            match t.t {
                T::Op(op!("(") | op!("[") | op!("{")) => depth += 1,
                T::Op(op!(")")) if depth == 0 => break,
                T::Op(op!(")") | op!("]") | op!("}")) => depth = depth.saturating_sub(1),
                T::Op(op!(",")) if depth == 0 => {
                    args.push(vec![]);
                    continue;
                }
                _ => {}
            }
            if let Some(last) = args.last_mut() {
                last.push(*t);
            }
        }
        if args.len() != want || args.iter().any(|a| a.is_empty()) {
            let got = if args.len() == 1 && args[0].is_empty() {
                0
            } else {
                args.len()
            };
            let msg = if got == want {
                format!("an argument of macro `@{name}` is empty")
            } else {
                format!("macro `@{name}` takes {want} argument{plural} but {got} given")
            };
            let d = self
                .err(use_span, msg)
                .label("in this use")
                .secondary(def, "defined here");
            self.diags.push(d);
            return None;
        }
        Some((args, i))
    }

    /// Expands one use into `out`: the body with its parameters replaced, then the macros the
    /// result uses, each nested expansion one level deeper.
    fn expand_use(
        &mut self,
        name: &str,
        use_tok: &Tok,
        args: Vec<Vec<Tok>>,
        site: Option<Span>,
        depth: usize,
        out: &mut Vec<Tok>,
    ) {
        let Some(m) = self.lookup(name).cloned() else {
            return;
        };
        let site = site.unwrap_or(use_tok.span);
        if depth >= MAX_MACRO_DEPTH {
            let d = self
                .err(
                    site,
                    format!(
                        "macro `@{name}` expands more than {MAX_MACRO_DEPTH} levels deep: is it recursive?"
                    ),
                )
                .label("in the expansion of this use")
                .secondary(m.span, "this macro is still expanding");
            self.diags.push(d);
            return;
        }
        // Counted before the body is copied: one use can be far larger than its body.
        let size = m.body.iter().fold(0usize, |n, t| match &t.t {
            T::At(p) => match m.params.iter().position(|x| x == p) {
                Some(i) => n.saturating_add(args[i].len()),
                None => n.saturating_add(1),
            },
            _ => n.saturating_add(1),
        });
        // Every expansion costs at least one, so that the budget bounds their number too.
        let size = size.max(1);
        if size > self.budget {
            // Reported by `expand`, at the use in the file's own text.
            self.over_budget = true;
            return;
        }
        self.budget -= size;
        let mut subst: Vec<Tok> = Vec::with_capacity(m.body.len());
        for t in &m.body {
            match &t.t {
                T::At(p) => {
                    if let Some(i) = m.params.iter().position(|x| x == p) {
                        subst.extend(args[i].iter().cloned());
                        continue;
                    }
                    subst.push(Tok { span: site, ..*t });
                }
                _ => subst.push(Tok { span: site, ..*t }),
            }
        }
        // Macro uses in the substituted body (including those the arguments brought).
        let mut i = 0;
        while i < subst.len() {
            let t = subst[i];
            i += 1;
            match &t.t {
                T::At(n) if n != "define" && self.lookup(n).is_some() => {
                    let Some((args, used)) = self.split_args(n, site, &subst[i..]) else {
                        return;
                    };
                    i += used;
                    let before = self.diags.error_count();
                    self.expand_use(n, &t, args, Some(site), depth + 1, out);
                    if self.over_budget || self.diags.error_count() > before {
                        return;
                    }
                }
                _ => out.push(t),
            }
        }
    }
}
