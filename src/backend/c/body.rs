//! Statements and expressions of one probe or function body, written as C.
//!
//! Every local and every temporary lives in the body's frame struct (`f->...`), not on the C
//! stack: hit handlers run in a debug exception (x86's #DB has its own small stack).
//! Long-valued expressions become C expressions; anything that can fail or needs a buffer
//! (calls, division, array access, strings) is first written as statements into temporaries,
//! in left-to-right order, each failure leaving the body through `goto stp_out`.

use super::names;
use super::writer::{
    CLit, CWriter, Piece, Pieces, cline, copen, push_c_string, push_c_string_of, push_long,
    push_u64,
};
use crate::diag::{SourceMap, Span};
use crate::ir::*;
use crate::syntax::ast::{BinOp, SortBy, SortDir, StatFn, UnOp};
use std::collections::BTreeSet;
use std::fmt::Write;

pub struct BodyGen<'a> {
    pub m: &'a Module,
    pub sm: &'a SourceMap,
    /// Counter globals (see `counters` in mod.rs): added to per CPU, read as a sum.
    pub counters: &'a BTreeSet<usize>,
    /// The C names of the module's globals and functions (`Shared`), by index.
    global_names: &'a [String],
    function_names: &'a [String],
    near: &'a [bool],
    shared: &'a super::Shared,
    pub locals: &'a Arena<Local>,
    pub w: CWriter,
    /// Frame members beyond the locals, in the order they were made.
    pub temps: Vec<Temp>,
    /// Each local as the body names it (`f->l_x`), made once rather than at every use.
    local_names: Vec<String>,
    /// The function being written, for `return`.
    pub func: Option<Id<Function>>,
    counter: usize,
    /// Labels of the enclosing loops' `continue` targets (None: plain `continue` works).
    loops: Vec<Option<String>>,
    /// `continue` labels that some `continue` jumps to (only those are written).
    used_labels: Vec<String>,
    /// The next statement's action is paid for already: a probe run starts with one action
    /// counted (`stp_context_enter`) and no error, so its first statement needs no check.
    pub prepaid: bool,
    /// Scratch buffers expressions are written into (`take`, `give`).
    spare: Vec<String>,
}

/// A frame temporary: what it holds and its number in the body (`f->t3`, `f->s4`, `f->k5`).
#[derive(Clone, Copy)]
pub struct Temp {
    pub kind: TempKind,
    n: usize,
}
#[derive(Clone, Copy)]
pub enum TempKind {
    Long,
    Str,
    Key,
}
/// A temporary as the body names it: `f->` and its member name.
#[derive(Clone, Copy)]
pub(super) struct FrameRef(Temp);
impl std::fmt::Display for FrameRef {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let mut s = String::with_capacity(12);
        self.push_to(&mut s);
        f.write_str(&s)
    }
}
impl FrameRef {
    /// Appends the name to `out` by hand: pass 3 names a temporary in most expressions,
    /// and `write!` costs several times as much for a name this short.
    fn push_to(self, out: &mut String) {
        out.push_str("f->");
        self.0.put(out);
    }
}
impl Piece for FrameRef {
    fn put(&self, out: &mut String) {
        self.push_to(out);
    }
}
impl Piece for Temp {
    fn put(&self, out: &mut String) {
        out.push(self.kind.letter());
        push_u64(out, self.n as u64);
    }
}
impl TempKind {
    fn letter(self) -> char {
        match self {
            TempKind::Long => 't',
            TempKind::Str => 's',
            TempKind::Key => 'k',
        }
    }
}
impl Temp {
    /// Its declaration as a frame member (a frame has a member per temporary: written from
    /// pieces, not formatted).
    pub fn member(self, w: &mut CWriter) {
        match self.kind {
            TempKind::Long => cline!(w; "int64_t ", self, ";"),
            TempKind::Str => cline!(w; "char ", self, "[STP_MAXSTRINGLEN];"),
            TempKind::Key => cline!(w; "struct stp_key ", self, ";"),
        }
    }
}

/// The buffers handed from body to body, so that each body does not grow its own from empty:
/// the text of the body being written, and the operand buffers `take` hands out.
#[derive(Default)]
pub(super) struct Buffers {
    text: String,
    spare: Vec<String>,
}

/// A foreach's slice (`in arr[k, *]`), its sort, and the extractor an array of statistics
/// sorts by.
type ForeachOrder<'e> = (
    Option<&'e [Expr]>,
    Option<(SortBy, SortDir)>,
    Option<StatFn>,
);

impl<'a> BodyGen<'a> {
    pub fn new(
        m: &'a Module,
        sm: &'a SourceMap,
        shared: &'a super::Shared,
        locals: &'a Arena<Local>,
        func: Option<Id<Function>>,
    ) -> Self {
        BodyGen {
            m,
            sm,
            counters: &shared.counters,
            global_names: &shared.globals,
            function_names: &shared.functions,
            near: &shared.near,
            shared,
            locals,
            w: CWriter::new(1),
            temps: vec![],
            local_names: locals
                .iter()
                .map(|(_, l)| {
                    let mut s = String::with_capacity(5 + l.name.len());
                    s.push_str("f->l_");
                    super::writer::push_ident(&mut s, &l.name);
                    s
                })
                .collect(),
            func,
            counter: 0,
            loops: vec![],
            used_labels: vec![],
            prepaid: false,
            spare: vec![],
        }
    }

    /// A global's C name (`stp_g_x`).
    fn global_name(&self, g: Id<Global>) -> &'a str {
        &self.global_names[g.index()]
    }
    /// A function's C name.
    fn function_name(&self, f: Id<Function>) -> &'a str {
        &self.function_names[f.index()]
    }

    pub(super) fn where_(&self, s: Span) -> String {
        let mut o = String::with_capacity(48);
        self.place(s).put(&mut o);
        o
    }
    /// `where_`, written where the line uses it (a `Piece`), with no String of its own.
    fn place(&self, span: Span) -> Place<'a> {
        Place {
            shared: self.shared,
            sm: self.sm,
            span,
        }
    }

    /// A new frame temporary, as the body names it (`f->t3`).
    fn temp_ref(&mut self, kind: TempKind) -> FrameRef {
        self.counter += 1;
        let t = Temp {
            kind,
            n: self.counter,
        };
        self.temps.push(t);
        FrameRef(t)
    }
    fn temp(&mut self, kind: TempKind) -> String {
        let mut s = String::with_capacity(12);
        self.temp_ref(kind).push_to(&mut s);
        s
    }

    /// Takes the buffers the last body gave back: its text's, and its operands' (`take`).
    pub(super) fn borrow_buffers(&mut self, b: &mut Buffers) {
        self.w = CWriter::reusing(std::mem::take(&mut b.text), 1);
        self.spare = std::mem::take(&mut b.spare);
    }
    /// Gives the buffers back for the next body (the text already copied out).
    pub(super) fn return_buffers(&mut self, b: &mut Buffers) {
        b.text = std::mem::take(&mut self.w).finish();
        b.spare = std::mem::take(&mut self.spare);
    }

    /// A scratch buffer for an operand, from those given back (`give`) by earlier
    /// expressions, so a body's expressions reuse a few buffers.
    fn take(&mut self) -> String {
        // Room for most operands at once: growing from empty was four reallocations each.
        self.spare
            .pop()
            .unwrap_or_else(|| String::with_capacity(64))
    }
    fn give(&mut self, mut s: String) {
        s.clear();
        self.spare.push(s);
    }
    pub(super) fn temp_long(&mut self) -> String {
        self.temp(TempKind::Long)
    }
    fn temp_str(&mut self) -> String {
        self.temp(TempKind::Str)
    }
    pub(super) fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// Charges the work a runtime loop is about to do against MAXACTION, leaving the body
    /// before the loop runs when it would go past it (`what` names it in the error).
    /// `steps` is the C of the steps (pieces, as `cline!` takes them), `what` the error's
    /// words, joined.
    pub(super) fn charge_work<P: Pieces>(&mut self, steps: &P, what: &[&str]) {
        let mut c = self.take();
        steps.put_all(&mut c);
        let split = c.len();
        push_c_string_of(&mut c, what);
        let (steps, what) = c.split_at(split);
        cline!(self.w; "if (unlikely(stp_count_work(c, ", steps, ", ", what, ")))");
        self.give(c);
        self.w.line("\tgoto stp_out;");
    }

    pub(super) fn fail_check(&mut self) {
        self.w.line("if (unlikely(c->last_error))");
        self.w.line("\tgoto stp_out;");
    }

    /// The check after a call to `func` at `span`. A function marked `pragma:near` (`error()`)
    /// raises its error for the caller, so the error is placed at the call, as SystemTap's
    /// `near` names the statement that called it.
    fn call_check(&mut self, func: Id<Function>, span: Span) {
        if self.near[func.index()] {
            let wh = self.place(span);
            cline!(self.w; "if (unlikely(stp_failed_near(c, ", wh, ")))");
            self.w.line("\tgoto stp_out;");
        } else {
            self.fail_check();
        }
    }

    /// `enable`/`disable`: a request to the arbiter (stp_arbiter.h), done later in process
    /// context; only a full queue or instance pool fails here.
    fn watch_request(&mut self, w: Id<Watch>, op: &str, arg: Option<&Expr>, span: Span) {
        let a = match arg {
            Some(e) => self.long(e),
            None => "0".into(),
        };
        let wh = self.place(span);
        cline!(self.w; "if (stp_watch_request(c, &", names::WDECLS, "[", w.index(), "], ", op, ", ", a, ", ", wh, "))");
        self.w.line("	goto stp_out;");
    }

    pub fn local(&self, l: Id<Local>) -> String {
        self.local_names[l.index()].clone()
    }

    // ---- statements ----

    pub fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        if !matches!(s.kind, StmtKind::Block(_) | StmtKind::Empty) {
            if self.prepaid {
                self.prepaid = false;
            } else {
                self.w.line("STP_STMT();");
            }
        }
        match &s.kind {
            StmtKind::Expr(e) => self.statement_effect(e),
            StmtKind::Block(b) => {
                self.w.open("");
                self.block(b);
                self.w.close();
            }
            StmtKind::If { cond, then, els } => {
                let mut c = self.take();
                self.cond_to(cond, &mut c);
                copen!(self.w; "if (", c, ")");
                self.give(c);
                self.stmt(then);
                if let Some(e) = els {
                    self.w.reopen("else");
                    self.stmt(e);
                }
                self.w.close();
            }
            StmtKind::While { cond, body } => self.lp(Some(cond), None, body),
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(i) = init {
                    self.effect(i);
                }
                self.lp(cond.as_deref(), step.as_deref(), body)
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
                self.foreach(
                    *value,
                    keys,
                    *array,
                    (slice.as_deref(), *sort, *agg),
                    limit.as_deref(),
                    body,
                    s.span,
                )
            }
            StmtKind::Break => self.w.line("break;"),
            StmtKind::Continue => match self.loops.last().cloned().flatten() {
                Some(l) => {
                    cline!(self.w; "goto ", l, ";");
                    self.used_labels.push(l);
                }
                None => self.w.line("continue;"),
            },
            StmtKind::Next => self.w.line("goto stp_out;"),
            StmtKind::Enable { watch, arg, later } => {
                let op = if *later {
                    "STP_REQ_ENABLE_LATER"
                } else {
                    "STP_REQ_ENABLE"
                };
                self.watch_request(*watch, op, arg.as_ref(), s.span)
            }
            StmtKind::Disable { watch, arg } => {
                let op = if arg.is_some() {
                    "STP_REQ_DISABLE"
                } else {
                    "STP_REQ_DISABLE_ALL"
                };
                self.watch_request(*watch, op, arg.as_ref(), s.span)
            }
            StmtKind::Return(e) => {
                let f = self.func.map(|f| self.m.functions[f].ret);
                match (e, f) {
                    (Some(e), Some(Ty::Str)) => {
                        let mut v = self.take();
                        self.str_to(e, &mut v);
                        cline!(self.w; "stp_strcpy(rv, ", v, ");");
                        self.give(v);
                    }
                    (Some(e), Some(_)) => {
                        let v = self.long(e);
                        cline!(self.w; "rv = ", v, ";");
                    }
                    (None, _) | (_, None) => {}
                }
                self.w.line("goto stp_out;");
            }
            StmtKind::Delete(lv) => match lv {
                LValue::Array(g) if self.m.globals[*g].stat.is_some() => self.stat_delete(*g, &[]),
                LValue::Array(g) => {
                    let name = &self.m.globals[*g].name;
                    let map = self.global_name(*g);
                    self.charge_work(&(&"stp_map_clear_work(", &map, &")"), &["delete ", name]);
                    cline!(self.w; "stp_map_clear(", map, ");");
                }
                LValue::Index { array, keys } if self.m.globals[*array].stat.is_some() => {
                    self.stat_delete(*array, keys)
                }
                LValue::Index { array, keys } => {
                    let k = self.key(*array, keys, None);
                    let name = &self.m.globals[*array].name;
                    let map = self.global_name(*array);
                    match wildcard_mask(keys) {
                        None => cline!(self.w; "stp_map_delete(", map, ", &", k, ");"),
                        Some(mask) => {
                            self.charge_work(
                                &(&"stp_map_clear_work(", &map, &")"),
                                &["delete ", name, "[...]"],
                            );
                            self.w.line_fmt(format_args!(
                                "stp_map_delete_match({map}, &{k}, {mask:#x}u);"
                            ));
                        }
                    }
                }
                LValue::Global(g) if self.m.globals[*g].stat.is_some() => self.stat_clear(*g),
                LValue::Local(_) | LValue::Global(_) => {
                    let (target, ty) = self.scalar(lv);
                    if ty == Ty::Str {
                        cline!(self.w; target, "[0] = '\\0';");
                    } else {
                        cline!(self.w; target, " = 0;");
                    }
                }
            },
            StmtKind::StatAdd { stat, keys, value } => self.stat_add(*stat, keys, value, s.span),
            StmtKind::PrintHist {
                stat,
                keys,
                newline,
            } => self.print_hist(*stat, keys, *newline, s.span),
            StmtKind::Try(t) => {
                let crate::ir::Try { body, var, catch } = &**t;
                self.try_catch(body, var.as_ref().map(|v| &v.0), catch)
            }
            StmtKind::Empty => {}
        }
    }

    /// Loops are written `for (;;)` with the condition inside, so that a condition needing
    /// statements is evaluated afresh each time; each iteration counts as an action, so an
    /// empty infinite loop still ends at MAXACTION.
    fn lp(&mut self, cond: Option<&Expr>, step: Option<&Expr>, body: &Stmt) {
        let cont = step.map(|_| self.fresh("stp_cont"));
        self.w.open("for (;;)");
        self.w.line("STP_STMT();");
        if let Some(c) = cond {
            let mut v = self.take();
            self.cond_to(c, &mut v);
            cline!(self.w; "if (!(", v, "))");
            self.give(v);
            self.w.line("\tbreak;");
        }
        self.loops.push(cont.clone());
        self.stmt(body);
        self.loops.pop();
        if let (Some(l), Some(s)) = (cont, step) {
            if self.used_labels.contains(&l) {
                self.w.label(&l);
            }
            self.effect(s);
        }
        self.w.close();
    }

    fn foreach(
        &mut self,
        value: Option<Id<Local>>,
        keys: &[Id<Local>],
        array: Id<Global>,
        (slice, sort, agg): ForeachOrder<'_>,
        limit: Option<&Expr>,
        body: &Stmt,
        span: Span,
    ) {
        let map = self.global_name(array);
        let (col, dir) = match sort {
            None => (0, 0),
            Some((by, d)) => (
                match by {
                    SortBy::Value => 0,
                    SortBy::Key(k) => k + 1,
                },
                if d == SortDir::Asc { 1 } else { -1 },
            ),
        };
        let n = self.temp_long();
        let i = self.temp_long();
        let lim = limit.map(|l| {
            let v = self.long(l);
            let t = self.temp_long();
            cline!(self.w; t, " = ", v, ";");
            t
        });
        if let (Some(f), Some((SortBy::Value, _))) = (agg, sort) {
            self.stat_sort_values(array, f, span);
        }
        // A slice's key is built once; `limit` then counts the matching entries.
        let slice = slice.map(|ks| {
            let k = self.key(array, ks, None);
            let mask = wildcard_mask(ks).unwrap_or(!0);
            (k, mask, self.temp_long())
        });
        let g = &self.m.globals[array];
        self.charge_work(
            &(&"stp_map_sort_work(", &map, &", ", &dir, &")"),
            &["foreach over ", &g.name],
        );
        cline!(self.w; n, " = stp_map_sort(", map, ", ", col, ", ", dir, ");");
        let counted = slice.as_ref().map_or(&i, |s| &s.2);
        if let Some((_, _, matched)) = &slice {
            cline!(self.w; matched, " = 0;");
        }
        match &lim {
            Some(l) => {
                copen!(self.w; "for (", i, " = 0; ", i, " < ", n, " && ", counted, " < ", l, "; ", i, "++)")
            }
            None => copen!(self.w; "for (", i, " = 0; ", i, " < ", n, "; ", i, "++)"),
        }
        cline!(self.w; "const struct stp_map_entry *e = stp_map_entry(", map, ", ", i, ");");
        self.w.line("if (!e)");
        self.w.line("\tcontinue;");
        if let Some((k, mask, matched)) = &slice {
            self.w
                .line_fmt(format_args!("if (!stp_map_key_match(e, &{k}, {mask:#x}u))"));
            self.w.line("\tcontinue;");
            cline!(self.w; matched, "++;");
        }
        self.w.line("STP_STMT();");
        let key_tys = g.array.as_ref().map_or(&[][..], |a| &a.keys);
        for (k, l) in keys.iter().enumerate() {
            let dst = self.local(*l);
            if key_tys.get(k) == Some(&Ty::Str) {
                cline!(self.w; "stp_strcpy(", dst, ", stp_entry_key_str(e, ", k + 1, "));");
            } else {
                cline!(self.w; dst, " = stp_entry_key_long(e, ", k + 1, ");");
            }
        }
        if let Some(v) = value {
            let dst = self.local(v);
            if g.ty == Ty::Str {
                cline!(self.w; "stp_strcpy(", dst, ", stp_entry_val_str(e));");
            } else {
                cline!(self.w; dst, " = stp_entry_val_long(e);");
            }
        }
        self.loops.push(None);
        self.stmt(body);
        self.loops.pop();
        self.w.close();
    }

    /// An expression evaluated for its effect.
    /// An expression statement. `x++` needs no temporary for the value nobody reads, and
    /// adding to a counter global adds to this CPU's share.
    fn statement_effect(&mut self, e: &Expr) {
        if let Some((g, value)) = super::counter_add(e)
            && self.counters.contains(&g.index())
        {
            let (sub, delta) = match (&e.kind, value) {
                (ExprKind::IncDec { inc, .. }, _) => (!inc, "1".to_string()),
                (ExprKind::Assign { op, .. }, Some(v)) => (*op == Some(BinOp::Sub), self.long(v)),
                _ => unreachable!("counter_add matched an add"),
            };
            let op = if sub { "this_cpu_sub" } else { "this_cpu_add" };
            let share = names::counter(&self.m.globals[g].name);
            cline!(self.w; op, "(", share, ", ", delta, ");");
            return;
        }
        match &e.kind {
            ExprKind::IncDec {
                target: target @ (LValue::Local(_) | LValue::Global(_)),
                inc,
                ..
            } => {
                let (v, _) = self.scalar(target);
                cline!(self.w; v, if *inc { "++" } else { "--" }, ";");
            }
            _ => self.effect(e),
        }
    }

    pub fn effect(&mut self, e: &Expr) {
        match e.ty {
            Ty::Str => {
                let mut v = self.take();
                self.str_to(e, &mut v);
                self.give(v);
            }
            Ty::Void => self.void(e),
            _ => {
                let mut v = self.take();
                self.long_to(e, &mut v);
                if !is_simple(&v) {
                    cline!(self.w; "(void)(", v, ");");
                }
                self.give(v);
            }
        }
    }

    /// A long used as a truth value (`if`, loops, `!`, `&&`, `||`, a `?:` or probe
    /// condition). gcc takes some values there for mistakes (`c ? 2 : 3`, a product:
    /// -Wint-in-bool-context, an error under -Werror), so those are compared with 0.
    pub fn cond(&mut self, e: &Expr) -> String {
        let mut out = String::with_capacity(32);
        self.cond_to(e, &mut out);
        out
    }

    /// `cond`, appended to `out`.
    pub fn cond_to(&mut self, e: &Expr, out: &mut String) {
        if warns_as_truth(e) {
            out.push_str("((");
            self.long_to(e, out);
            out.push_str(") != 0)");
        } else {
            self.long_to(e, out);
        }
    }

    fn void(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Builtin {
                which,
                format,
                args,
            } => self.print(*which, format, args, None),
            ExprKind::Call { func, args } => {
                let a = self.args(*func, args);
                cline!(self.w; self.function_name(*func), "(c", a, ");");
                self.give(a);
                self.call_check(*func, e.span);
            }
            _ => {
                let _ = self.long(e);
            }
        }
    }

    // ---- expressions ----

    /// Arguments of a call, evaluated left to right into values (", a, b"), in a scratch
    /// buffer to `give` back.
    fn args(&mut self, f: Id<Function>, args: &[Expr]) -> String {
        let mut out = self.take();
        let params = &self.m.functions[f].params;
        for (i, a) in args.iter().enumerate() {
            let ty = params
                .get(i)
                .map(|p| self.m.functions[f].locals[*p].ty)
                .unwrap_or(a.ty);
            out.push_str(", ");
            if ty == Ty::Str {
                self.str_stable_to(a, &args[i + 1..], &mut out);
            } else {
                self.stable_long_to(a, args, i + 1, &mut out);
            }
        }
        out
    }

    /// A string value that stays valid while `later` expressions are evaluated: a variable
    /// is used in place unless something later could change it (this runs on every hit, so
    /// copies are made only when they are needed).
    fn str_stable(&mut self, e: &Expr, later: &[Expr]) -> String {
        let mut out = String::new();
        self.str_stable_to(e, later, &mut out);
        out
    }
    /// `str_stable`, appended to `out`.
    fn str_stable_to(&mut self, e: &Expr, later: &[Expr], out: &mut String) {
        let changes = later.iter().any(needs_statements);
        self.str_kept_to(e, changes, out)
    }
    /// `str_stable_to`, told whether what is evaluated later writes statements.
    fn str_kept_to(&mut self, e: &Expr, later_changes: bool, out: &mut String) {
        let start = out.len();
        self.str_to(e, out);
        let v = &out[start..];
        if later_changes && !v.starts_with('"') && !v.starts_with("f->s") {
            let t = self.temp_ref(TempKind::Str);
            cline!(self.w; "stp_strcpy(", t, ", ", &out[start..], ");");
            out.truncate(start);
            t.push_to(out);
        }
    }

    /// Builds the key of an array access into a frame temporary. String columns point at
    /// their strings, so `then` (what is evaluated after the key and before it is used, the
    /// value of an assignment) decides whether a variable must be copied first.
    pub(super) fn key(
        &mut self,
        array: Id<Global>,
        keys: &[Expr],
        then: Option<&Expr>,
    ) -> FrameRef {
        let m = self.m;
        let key_tys = m.globals[array].array.as_ref().map_or(&[][..], |a| &a.keys);
        // The columns' values, one after another in `vals`, each with where it ends.
        let mut vals = self.take();
        let mut ends = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let is_str = key_tys.get(i) == Some(&Ty::Str);
            if matches!(k.kind, ExprKind::Wildcard) {
                // A column the match mask leaves out: any value of its type will do.
                vals.push_str(if is_str { "\"\"" } else { "0" });
            } else if is_str {
                let later = keys[i + 1..].iter().chain(then).any(needs_statements);
                self.str_kept_to(k, later, &mut vals);
            } else {
                self.stable_long_to(k, keys, i + 1, &mut vals);
            }
            ends.push((is_str, vals.len()));
        }
        let kt = self.temp_ref(TempKind::Key);
        cline!(self.w; "stp_key_init(&", kt, ");");
        let mut start = 0;
        for (is_str, end) in ends {
            let v = &vals[start..end];
            let add = if is_str {
                "stp_key_str(&"
            } else {
                "stp_key_long(&"
            };
            cline!(self.w; add, kt, ", ", v, ");");
            start = end;
        }
        self.give(vals);
        kt
    }

    /// `scalar`'s lvalue, appended to `out`.
    fn scalar_to(&self, lv: &LValue, out: &mut String) {
        match lv {
            LValue::Local(l) => out.push_str(&self.local_names[l.index()]),
            LValue::Global(g) => out.push_str(self.global_name(*g)),
            _ => {}
        }
    }

    /// A scalar variable as a C lvalue, with its type.
    pub(super) fn scalar(&self, lv: &LValue) -> (String, Ty) {
        match lv {
            LValue::Local(l) => (self.local(*l), self.locals[*l].ty),
            LValue::Global(g) => (self.global_name(*g).to_string(), self.m.globals[*g].ty),
            _ => (String::new(), Ty::Unknown),
        }
    }

    /// A long-valued expression as a C expression.
    pub fn long(&mut self, e: &Expr) -> String {
        let mut out = String::with_capacity(128);
        self.long_to(e, &mut out);
        out
    }

    /// `long`, appended to `out`: a body's expressions are written through a few scratch
    /// buffers (`take`, `give`) instead of a String per expression and per operand.
    pub fn long_to(&mut self, e: &Expr, out: &mut String) {
        match &e.kind {
            ExprKind::Long(v) => push_long(out, *v),
            ExprKind::Str(_) | ExprKind::Wildcard => out.push('0'),
            ExprKind::Invalid => super::invalid(),
            ExprKind::Var(lv) => match lv {
                LValue::Index { array, keys } => {
                    let k = self.key(*array, keys, None);
                    let t = self.temp_ref(TempKind::Long);
                    cline!(self.w; t, " = stp_map_get_long(", self.global_name(*array), ", &", k, ");");
                    t.push_to(out);
                }
                LValue::Global(g) if self.counters.contains(&g.index()) => {
                    let name = &self.m.globals[*g].name;
                    let _ = write!(
                        out,
                        "stp_counter_read(&{}, &{})",
                        self.global_name(*g),
                        names::counter(name)
                    );
                }
                _ => self.scalar_to(lv, out),
            },
            ExprKind::Call { func, args } => {
                let a = self.args(*func, args);
                let t = self.temp_ref(TempKind::Long);
                cline!(self.w; t, " = ", self.function_name(*func), "(c", a, ");");
                self.give(a);
                self.call_check(*func, e.span);
                t.push_to(out);
            }
            ExprKind::Builtin { .. } => {
                self.void(e);
                out.push('0');
            }
            ExprKind::Unary {
                op: UnOp::Not,
                e: inner,
            } => {
                out.push_str("!(");
                self.cond_to(inner, out);
                out.push(')');
            }
            ExprKind::Unary { op, e: inner } => match op {
                UnOp::Neg => {
                    out.push_str("(int64_t)(0 - (uint64_t)(");
                    self.long_to(inner, out);
                    out.push_str("))");
                }
                UnOp::Not | UnOp::Plus => self.long_to(inner, out),
                // gcc refuses `~` on a comparison's 0 or 1 (-Wbool-operation).
                UnOp::BitNot if truth_valued(inner) => {
                    out.push_str("((");
                    self.long_to(inner, out);
                    out.push_str(") ^ -1LL)");
                }
                UnOp::BitNot => {
                    out.push_str("~(");
                    self.long_to(inner, out);
                    out.push(')');
                }
            },
            ExprKind::Binary { op, l, r } => self.binary(*op, l, r, e.span, out),
            ExprKind::Ternary { cond, then, els } => {
                if !needs_statements(then) && !needs_statements(els) {
                    out.push_str("((");
                    self.cond_to(cond, out);
                    out.push_str(") ? (");
                    self.long_to(then, out);
                    out.push_str(") : (");
                    self.long_to(els, out);
                    out.push_str("))");
                    return;
                }
                self.ternary_in_temp(cond, then, els, TempKind::Long, out);
            }
            ExprKind::Assign { op, target, value } => {
                let v = self.assign(*op, target, value, e.span);
                out.push_str(&v);
            }
            ExprKind::IncDec { target, inc, pre } => {
                let delta = if *inc { 1 } else { -1 };
                match target {
                    LValue::Index { array, keys } => {
                        let k = self.key(*array, keys, None);
                        let t = self.temp_ref(TempKind::Long);
                        let name = &self.m.globals[*array].name;
                        let map = self.global_name(*array);
                        cline!(self.w; "if (stp_map_add_long(", map, ", &", k, ", ", delta, ", &", t, ") && stp_map_full(c, ", map, ", ", CLit(name), ", ", self.place(e.span), "))");
                        self.w.line("\tgoto stp_out;");
                        if *pre {
                            t.push_to(out);
                        } else {
                            out.push('(');
                            t.push_to(out);
                            out.push_str(if *inc { " - (1))" } else { " - (-1))" });
                        }
                    }
                    _ => {
                        let mut v = self.take();
                        self.scalar_to(target, &mut v);
                        let op = if *inc { "++" } else { "--" };
                        // A statement of its own, so that `x++ + ++x` has a defined order.
                        let t = self.temp_ref(TempKind::Long);
                        if *pre {
                            cline!(self.w; t, " = ", op, v, ";");
                        } else {
                            cline!(self.w; t, " = ", v, op, ";");
                        }
                        self.give(v);
                        t.push_to(out);
                    }
                }
            }
            ExprKind::In { array, keys } => {
                let k = self.key(*array, keys, None);
                let name = &self.m.globals[*array].name;
                let map = self.global_name(*array);
                match wildcard_mask(keys) {
                    None => {
                        let _ = write!(out, "(int64_t)stp_map_exists({map}, &{k})");
                    }
                    Some(mask) => {
                        self.charge_work(
                            &(&"stp_map_clear_work(", &map, &")"),
                            &["[...] in ", name],
                        );
                        let _ = write!(
                            out,
                            "(int64_t)stp_map_exists_match({map}, &{k}, {mask:#x}u)"
                        );
                    }
                }
            }
            ExprKind::StatGet {
                stat,
                keys,
                op,
                bucket,
            } => {
                let v = self.stat_get(*stat, keys, *op, bucket.as_deref(), e.span);
                out.push_str(&v);
            }
            ExprKind::Regex { s, re, negate } => {
                // A statement: with matched() it records the match, so it is ordered.
                let mut v = self.take();
                self.str_to(s, &mut v);
                let t = self.temp_ref(TempKind::Long);
                let not = if *negate { "!" } else { "" };
                cline!(self.w; t, " = ", not, "stp_regex_match(c, &", names::regex(re.index()), ", ", v, ");");
                self.give(v);
                t.push_to(out);
            }
        }
    }

    /// `cond ? then : els` through a temporary of `kind` (a long or a string), each branch
    /// written under an `if`, so that a branch's statements run only when it is taken.
    fn ternary_in_temp(
        &mut self,
        cond: &Expr,
        then: &Expr,
        els: &Expr,
        kind: TempKind,
        out: &mut String,
    ) {
        let mut v = self.take();
        self.cond_to(cond, &mut v);
        let t = self.temp_ref(kind);
        copen!(self.w; "if (", v, ")");
        for (i, branch) in [then, els].into_iter().enumerate() {
            if i == 1 {
                self.w.reopen("else");
            }
            v.clear();
            if let TempKind::Str = kind {
                self.str_to(branch, &mut v);
                cline!(self.w; "stp_strcpy(", t, ", ", v, ");");
            } else {
                self.long_to(branch, &mut v);
                cline!(self.w; t, " = ", v, ";");
            }
        }
        self.w.close();
        self.give(v);
        t.push_to(out);
    }

    /// Replaces the value in `v` by a new long temporary holding it (a statement).
    fn hold_in_temp(&mut self, v: &mut String) {
        let t = self.temp_ref(TempKind::Long);
        cline!(self.w; t, " = ", v, ";");
        v.clear();
        t.push_to(v);
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr, span: Span, out: &mut String) {
        if op.is_comparison() && l.ty == Ty::Str {
            let mut a = self.take();
            self.str_stable_to(l, std::slice::from_ref(r), &mut a);
            let mut b = self.take();
            self.str_to(r, &mut b);
            // A string holds at most MAXSTRINGLEN-1 bytes, so only those compare: a longer
            // literal compares as a variable would hold it, and gcc cannot decide the result
            // from an array's size (-Wstring-compare, an error under -Werror).
            push_all(
                out,
                &[
                    "(strncmp(",
                    &a,
                    ", ",
                    &b,
                    ", STP_MAXSTRINGLEN - 1) ",
                    op.text(),
                    " 0)",
                ],
            );
            self.give(a);
            self.give(b);
            return;
        }
        if matches!(op, BinOp::And | BinOp::Or) {
            if !needs_statements(r) {
                out.push_str("((");
                self.cond_to(l, out);
                push_all(out, &[") ", op.text(), " ("]);
                self.cond_to(r, out);
                out.push_str("))");
                return;
            }
            // The right side runs only when the left does not decide, as in C.
            let mut v = self.take();
            self.cond_to(l, &mut v);
            let t = self.temp_ref(TempKind::Long);
            cline!(self.w; t, " = !!(", v, ");");
            if op == BinOp::And {
                copen!(self.w; "if (", t, ")");
            } else {
                copen!(self.w; "if (!", t, ")");
            }
            v.clear();
            self.cond_to(r, &mut v);
            cline!(self.w; t, " = !!(", v, ");");
            self.w.close();
            self.give(v);
            t.push_to(out);
            return;
        }
        let mut a = self.take();
        self.long_to(l, &mut a);
        if needs_statements(r) && !is_simple(&a) {
            self.hold_in_temp(&mut a);
        }
        let mut b = self.take();
        self.long_to(r, &mut b);
        if op.is_comparison() {
            // gcc decides `x != x`, `(x & 2) == 1` and `(x < y) > 5` from the C alone and
            // says so (-Wtautological-compare, -Wbool-compare: errors under -Werror); a
            // temporary hides them.
            let bool_vs = |t: &Expr, other: &Expr| {
                truth_valued(t) && !matches!(other.kind, ExprKind::Long(0 | 1))
            };
            if a == b || bitwise(l) || bool_vs(l, r) {
                self.hold_in_temp(&mut a);
            } else if bitwise(r) || bool_vs(r, l) {
                self.hold_in_temp(&mut b);
            }
        }
        match op {
            BinOp::Div | BinOp::Mod => {
                let t = self.temp_ref(TempKind::Long);
                let f = if op == BinOp::Div {
                    "stp_div"
                } else {
                    "stp_mod"
                };
                cline!(self.w; t, " = ", f, "(c, ", a, ", ", b, ", ", self.place(span), ");");
                self.fail_check();
                t.push_to(out);
            }
            BinOp::Shl => push_all(out, &["stp_shl(", &a, ", ", &b, ")"]),
            BinOp::Shr => push_all(out, &["stp_shr(", &a, ", ", &b, ")"]),
            // Through unsigned arithmetic: wraps like SystemTap, never undefined.
            BinOp::Add | BinOp::Sub | BinOp::Mul => push_all(
                out,
                &[
                    "(int64_t)((uint64_t)(",
                    &a,
                    ") ",
                    op.text(),
                    " (uint64_t)(",
                    &b,
                    "))",
                ],
            ),
            _ => push_all(out, &["(int64_t)((", &a, ") ", op.text(), " (", &b, "))"]),
        }
        self.give(a);
        self.give(b);
    }
    fn assign(&mut self, op: Option<BinOp>, target: &LValue, value: &Expr, span: Span) -> String {
        let ty = match target {
            LValue::Local(l) => self.locals[*l].ty,
            LValue::Global(g) | LValue::Index { array: g, .. } | LValue::Array(g) => {
                self.m.globals[*g].ty
            }
        };
        if let LValue::Index { array, keys } = target {
            let name = &self.m.globals[*array].name;
            let map = self.global_name(*array);
            let full = Full(map, name, self.place(span));
            let k = self.key(*array, keys, Some(value));
            if ty == Ty::Str {
                let v = self.str_stable(value, &[]);
                let res = match op {
                    None => v,
                    Some(_) => {
                        let t = self.temp_str();
                        cline!(self.w; "stp_strcpy(", t, ", stp_map_get_str(", map, ", &", k, "));");
                        cline!(self.w; "stp_strcat(", t, ", ", v, ");");
                        t
                    }
                };
                cline!(self.w; "if (stp_map_set_str(", map, ", &", k, ", ", res, ") && ", full, ")");
                self.w.line("\tgoto stp_out;");
                return res;
            }
            let v = self.long(value);
            let t = self.temp_long();
            match op {
                None => {
                    cline!(self.w; t, " = ", v, ";");
                    cline!(self.w; "if (stp_map_set_long(", map, ", &", k, ", ", t, ") && ", full, ")");
                }
                Some(BinOp::Add) => {
                    cline!(self.w; "if (stp_map_add_long(", map, ", &", k, ", ", v, ", &", t, ") && ", full, ")")
                }
                Some(o) => {
                    let cur = self.temp_long();
                    cline!(self.w; cur, " = stp_map_get_long(", map, ", &", k, ");");
                    let mut e = self.take();
                    self.apply_to(o, &cur, &v, span, &mut e);
                    cline!(self.w; t, " = ", e, ";");
                    self.give(e);
                    self.fail_check();
                    cline!(self.w; "if (stp_map_set_long(", map, ", &", k, ", ", t, ") && ", full, ")");
                }
            }
            self.w.line("\tgoto stp_out;");
            return t;
        }
        let (dst, _) = self.scalar(target);
        if ty == Ty::Str {
            let mut v = self.take();
            self.str_to(value, &mut v);
            if op.is_some() {
                cline!(self.w; "stp_strcat(", dst, ", ", v, ");");
            } else {
                cline!(self.w; "stp_strcpy(", dst, ", ", v, ");");
            }
            self.give(v);
            return dst;
        }
        let mut v = self.take();
        self.long_to(value, &mut v);
        match op {
            None => cline!(self.w; dst, " = ", v, ";"),
            Some(o) => {
                let mut e = self.take();
                self.apply_to(o, &dst, &v, span, &mut e);
                cline!(self.w; dst, " = ", e, ";");
                self.give(e);
                if matches!(o, BinOp::Div | BinOp::Mod) {
                    self.fail_check();
                }
            }
        }
        self.give(v);
        dst
    }

    /// `a op b` as a C expression, appended to `out` (by hand: `format!` cost several times
    /// as much).
    fn apply_to(&self, op: BinOp, a: &str, b: &str, span: Span, out: &mut String) {
        match op {
            BinOp::Div | BinOp::Mod => {
                let f = if op == BinOp::Div {
                    "stp_div(c, "
                } else {
                    "stp_mod(c, "
                };
                push_all(out, &[f, a, ", ", b, ", "]);
                self.place(span).put(out);
                out.push(')');
            }
            BinOp::Shl => push_all(out, &["stp_shl(", a, ", ", b, ")"]),
            BinOp::Shr => push_all(out, &["stp_shr(", a, ", ", b, ")"]),
            BinOp::Add | BinOp::Sub | BinOp::Mul => push_all(
                out,
                &[
                    "(int64_t)((uint64_t)(",
                    a,
                    ") ",
                    op.text(),
                    " (uint64_t)(",
                    b,
                    "))",
                ],
            ),
            _ => push_all(out, &["((", a, ") ", op.text(), " (", b, "))"]),
        }
    }

    /// A string-valued expression as a `const char *` C expression, appended to `out`: as
    /// `long_to`, operands go through the scratch buffers rather than a String each.
    pub fn str_to(&mut self, e: &Expr, out: &mut String) {
        match &e.kind {
            ExprKind::Str(s) => push_c_string(out, s),
            ExprKind::Var(lv) => match lv {
                LValue::Index { array, keys } => {
                    let k = self.key(*array, keys, None);
                    let t = self.temp_ref(TempKind::Str);
                    cline!(self.w; "stp_strcpy(", t, ", stp_map_get_str(", self.global_name(*array), ", &", k, "));");
                    t.push_to(out);
                }
                _ => self.scalar_to(lv, out),
            },
            ExprKind::Call { func, args } => {
                let t = self.temp_ref(TempKind::Str);
                let a = self.args(*func, args);
                cline!(self.w; self.function_name(*func), "(c, ", t, a, ");");
                self.give(a);
                self.call_check(*func, e.span);
                t.push_to(out);
            }
            ExprKind::Builtin {
                which,
                format,
                args,
            } => {
                let t = self.temp_str();
                self.print(*which, format, args, Some(&t));
                out.push_str(&t);
            }
            ExprKind::Binary {
                op: BinOp::Concat,
                l,
                r,
            } => {
                let t = self.temp_ref(TempKind::Str);
                let mut v = self.take();
                self.str_to(l, &mut v);
                cline!(self.w; "stp_strcpy(", t, ", ", v, ");");
                v.clear();
                self.str_to(r, &mut v);
                cline!(self.w; "stp_strcat(", t, ", ", v, ");");
                self.give(v);
                t.push_to(out);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.ternary_in_temp(cond, then, els, TempKind::Str, out);
            }
            ExprKind::Assign { op, target, value } => {
                let v = self.assign(*op, target, value, e.span);
                out.push_str(&v);
            }
            _ => out.push_str("\"\""),
        }
    }

    /// printf/sprintf/print/println: the format is rewritten for the runtime's formatter
    /// (stp_format.h, SystemTap's semantics) with 64-bit conversions and every argument cast,
    /// so no script text is ever used as a format.
    fn print(&mut self, which: Builtin, format: &[FmtPiece], args: &[Expr], into: Option<&str>) {
        // Sized for most formats and argument lists at once.
        let mut fmt = String::with_capacity(64);
        // The values after the format, each written with its ", " as it is evaluated.
        let mut rest = String::with_capacity(128);
        // The same text as pieces for stp_put_* (stp_output.h), while every conversion is
        // plain: output of a plain format is written without the general formatter.
        let mut pieces: Vec<Put> = Vec::new();
        let mut plain = into.is_none();
        match which {
            Builtin::Printf | Builtin::Sprintf => {
                let mut ai = 0;
                for p in format {
                    match p {
                        FmtPiece::Text(t) => {
                            // A NUL ends the C format, and so the text: not for pieces.
                            plain &= !t.contains('\0');
                            pieces.push(Put::Text(t));
                            for (i, part) in t.split('%').enumerate() {
                                if i > 0 {
                                    fmt.push_str("%%");
                                }
                                fmt.push_str(part);
                            }
                        }
                        FmtPiece::Conv {
                            flags,
                            width,
                            precision,
                            conv,
                        } => {
                            // A `*` takes its long argument before the value, clamped as a
                            // literal width is limited; a negative width left-justifies, as in
                            // C, and a negative precision is 0, as in SystemTap.
                            let mut size =
                                |p: &mut Self, rest: &mut String, z: &Option<FmtSize>, lo: i64| {
                                    match z {
                                        None => String::new(),
                                        Some(FmtSize::Fixed(n)) => n.to_string(),
                                        Some(FmtSize::Star) => {
                                            let Some(a) = args.get(ai) else {
                                                return String::new();
                                            };
                                            ai += 1;
                                            rest.push_str(", (int)clamp_t(long long, ");
                                            p.stable_long_to(a, args, ai, rest);
                                            let _ = write!(rest, ", {lo}, 1024)");
                                            "*".into()
                                        }
                                    }
                                };
                            let w = size(self, &mut rest, width, -1024);
                            let pr = match size(self, &mut rest, precision, 0) {
                                p if precision.is_some() => format!(".{p}"),
                                _ => String::new(),
                            };
                            let Some(a) = args.get(ai) else { continue };
                            ai += 1;
                            let flags = c_flags(flags, *conv);
                            plain &= flags.is_empty() && width.is_none() && precision.is_none();
                            // The value's C expression starts after its ", ".
                            let start = rest.len() + 2;
                            let cast = match conv {
                                's' => {
                                    rest.push_str(", ");
                                    self.str_stable_to(a, &args[ai..], &mut rest);
                                    push_all(&mut fmt, &["%", &flags, &w, &pr, "s"]);
                                    pieces.push(Put::Str(start..rest.len()));
                                    continue;
                                }
                                'c' => {
                                    push_all(&mut fmt, &["%", &flags, &w, "c"]);
                                    ", (int)("
                                }
                                // As in SystemTap, %p is %#x: width, precision, - and 0 apply.
                                'p' => {
                                    push_all(&mut fmt, &["%#", &flags, &w, &pr, "llx"]);
                                    ", (unsigned long long)("
                                }
                                'd' | 'i' => {
                                    push_all(&mut fmt, &["%", &flags, &w, &pr, "lld"]);
                                    ", (long long)("
                                }
                                c => {
                                    push_all(&mut fmt, &["%", &flags, &w, &pr, "ll"]);
                                    fmt.push(*c);
                                    ", (unsigned long long)("
                                }
                            };
                            rest.push_str(cast);
                            self.stable_long_to(a, args, ai, &mut rest);
                            rest.push(')');
                            pieces.push(Put::Conv(*conv, start..rest.len()));
                        }
                    }
                }
            }
            Builtin::Print
            | Builtin::Println
            | Builtin::Sprint
            | Builtin::Sprintln
            | Builtin::Printd
            | Builtin::Printdln
            | Builtin::Sprintd
            | Builtin::Sprintdln => {
                // The delimiter is written into the format, as printf's text is.
                let delim_text = match format {
                    [FmtPiece::Text(d)] if which.delimited() => d.as_str(),
                    _ => "",
                };
                let delim = delim_text.replace('%', "%%");
                plain &= !delim_text.contains('\0');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        fmt.push_str(&delim);
                        pieces.push(Put::Text(delim_text));
                    }
                    let start = rest.len() + 2;
                    if a.ty == Ty::Str {
                        fmt.push_str("%s");
                        rest.push_str(", ");
                        self.str_stable_to(a, &args[i + 1..], &mut rest);
                        pieces.push(Put::Str(start..rest.len()));
                    } else {
                        fmt.push_str("%lld");
                        rest.push_str(", (long long)(");
                        self.stable_long_to(a, args, i + 1, &mut rest);
                        rest.push(')');
                        pieces.push(Put::Conv('d', start..rest.len()));
                    }
                }
                if which.newline() {
                    fmt.push('\n');
                    pieces.push(Put::Text("\n"));
                }
            }
        }
        let fmt_lit = CLit(&fmt);
        match into {
            // gcc refuses an empty format (-Wformat-zero-length).
            Some(t) if fmt.is_empty() => cline!(self.w; t, "[0] = '\\0';"),
            Some(t) => {
                cline!(self.w; "stp_fmt_snprintf(", t, ", STP_MAXSTRINGLEN, ", fmt_lit, rest, ");")
            }
            None => {
                if rest.is_empty() && !fmt.contains('%') {
                    let plain = &fmt_lit;
                    cline!(self.w; "stp_print(c, ", plain, ", sizeof(", plain, ") - 1);");
                } else if plain {
                    self.put_pieces(&pieces, &rest);
                } else {
                    cline!(self.w; "stp_fmt_printf(c, ", fmt_lit, rest, ");");
                }
            }
        }
    }

    /// A plain format's output as one append per piece (stp_output.h's stp_put_*), with the
    /// values' C expressions taken from `rest`. Adjacent texts are joined.
    fn put_pieces(&mut self, pieces: &[Put], rest: &str) {
        cline!(self.w; "stp_put_begin(c);");
        let mut i = 0;
        while i < pieces.len() {
            match &pieces[i] {
                Put::Text(_) => {
                    let mut text = String::new();
                    while let Some(Put::Text(t)) = pieces.get(i) {
                        text.push_str(t);
                        i += 1;
                    }
                    if !text.is_empty() {
                        cline!(self.w; "stp_put(c, ", CLit(&text), ", ", text.len(), ");");
                    }
                    continue;
                }
                Put::Str(r) => cline!(self.w; "stp_put_str(c, ", &rest[r.clone()], ");"),
                Put::Conv(conv, r) => {
                    let v = &rest[r.clone()];
                    match conv {
                        'd' | 'i' => cline!(self.w; "stp_put_dec(c, ", v, ");"),
                        'c' => cline!(self.w; "stp_put_chr(c, ", v, ");"),
                        'p' => {
                            cline!(self.w; "stp_put(c, \"0x\", 2);");
                            cline!(self.w; "stp_put_num(c, ", v, ", 16, false);");
                        }
                        'o' => cline!(self.w; "stp_put_num(c, ", v, ", 8, false);"),
                        'x' => cline!(self.w; "stp_put_num(c, ", v, ", 16, false);"),
                        'X' => cline!(self.w; "stp_put_num(c, ", v, ", 16, true);"),
                        _ => cline!(self.w; "stp_put_num(c, ", v, ", 10, false);"),
                    }
                }
            }
            i += 1;
        }
    }

    /// A long argument appended to `out`, held in a temporary when a later argument (from
    /// `args[next..]`) writes statements that could change it.
    fn stable_long_to(&mut self, a: &Expr, args: &[Expr], next: usize, out: &mut String) {
        let start = out.len();
        self.long_to(a, out);
        if args[next.min(args.len())..].iter().any(needs_statements) && !is_simple(&out[start..]) {
            let t = self.temp_ref(TempKind::Long);
            cline!(self.w; t, " = ", &out[start..], ";");
            out.truncate(start);
            t.push_to(out);
        }
    }
}

/// One piece of a plain format's output: text, or a conversion (or `%s`) of the value whose C
/// expression is that range of the call's arguments.
enum Put<'a> {
    Text(&'a str),
    Str(std::ops::Range<usize>),
    Conv(char, std::ops::Range<usize>),
}

/// For keys with a `*`: the mask of the columns that must match (bit c for column c).
fn wildcard_mask(keys: &[Expr]) -> Option<u32> {
    let mut mask = 0u32;
    let mut any = false;
    for (c, k) in keys.iter().enumerate() {
        if matches!(k.kind, ExprKind::Wildcard) {
            any = true;
        } else {
            mask |= 1 << c;
        }
    }
    any.then_some(mask)
}

/// Whether writing an expression emits statements (so its evaluation must be ordered).
pub fn needs_statements(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Wildcard => false,
        ExprKind::Invalid => super::invalid(),
        ExprKind::Var(LValue::Index { .. }) => true,
        ExprKind::Var(_) => false,
        ExprKind::Call { .. }
        | ExprKind::Builtin { .. }
        | ExprKind::Assign { .. }
        | ExprKind::In { .. }
        | ExprKind::StatGet { .. } => true,
        ExprKind::IncDec { .. } | ExprKind::Regex { .. } => true,
        ExprKind::Unary { e, .. } => needs_statements(e),
        ExprKind::Binary { op, l, r } => {
            matches!(op, BinOp::Div | BinOp::Mod | BinOp::Concat)
                || l.ty == Ty::Str
                || needs_statements(l)
                || needs_statements(r)
        }
        ExprKind::Ternary { cond, then, els } => {
            needs_statements(cond)
                || needs_statements(then)
                || needs_statements(els)
                || e.ty == Ty::Str
        }
    }
}

/// A C expression with no side effects whose value cannot change under later statements
/// written for the same script expression (temporaries and literals).
fn is_simple(v: &str) -> bool {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // The `LL`s are stripped by hand: `trim_end_matches("LL")` builds a substring searcher
    // on every call, and this runs on most operands.
    let mut lit = v.trim_start_matches('-');
    let long = v.ends_with("LL");
    while let Some(rest) = lit.strip_suffix("LL") {
        lit = rest;
    }
    v.starts_with("f->t") && digits(&v[4..]) || long && digits(lit) || v == "0"
}

/// The expression whose C stands for `e`: a unary `+` writes nothing.
fn written(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Unary {
            op: UnOp::Plus,
            e: inner,
        } => written(inner),
        _ => e,
    }
}

/// Whether `e`'s C is a `&` or `|`, which gcc compares with a constant at translation time.
fn bitwise(e: &Expr) -> bool {
    matches!(
        written(e).kind,
        ExprKind::Binary {
            op: BinOp::BitAnd | BinOp::BitOr,
            ..
        }
    )
}

/// Whether `e`'s C is a truth value to gcc: a comparison, `!`, `&&` or `||`.
fn truth_valued(e: &Expr) -> bool {
    match &written(e).kind {
        ExprKind::Binary { op, .. } => op.is_comparison() || matches!(op, BinOp::And | BinOp::Or),
        ExprKind::Unary { op, .. } => *op == UnOp::Not,
        _ => false,
    }
}

/// Whether gcc warns about `e`'s C as a truth value: a `?:` (of constants, but that is not
/// known here), a product.
fn warns_as_truth(e: &Expr) -> bool {
    let e = written(e);
    match &e.kind {
        ExprKind::Ternary { .. } => e.ty == Ty::Long,
        ExprKind::Binary { op, .. } => *op == BinOp::Mul,
        _ => false,
    }
}

/// The flags of a conversion that SystemTap's formatter (and so stp_format.h) gives a
/// meaning: `+` and space for signed conversions (`+` wins), `#` for `o`, `x`, `X` and `c`,
/// `0` for numbers without `-` (with a precision too) and for `s` (a NUL byte after it), `-`
/// for all. The others change nothing; leaving them out keeps the generated format plain.
fn c_flags(flags: &str, conv: char) -> String {
    let signed = matches!(conv, 'd' | 'i');
    flags
        .chars()
        .filter(|&f| match f {
            '-' => true,
            '+' => signed,
            ' ' => signed && !flags.contains('+'),
            '#' => matches!(conv, 'o' | 'x' | 'X' | 'c'),
            '0' => conv == 's' || (conv != 'c' && !flags.contains('-')),
            _ => false,
        })
        .collect()
}

/// Appends each piece in turn: cheaper than `write!` for the few pieces of an operator.
fn push_all(out: &mut String, pieces: &[&str]) {
    out.reserve(pieces.iter().map(|p| p.len()).sum());
    for p in pieces {
        out.push_str(p);
    }
}

/// `stp_map_full(c, MAP, NAME, WHERE)`: what a failed insert into an array reports.
struct Full<'a>(&'a str, &'a str, Place<'a>);
impl Piece for Full<'_> {
    fn put(&self, out: &mut String) {
        push_all(out, &["stp_map_full(c, ", self.0, ", "]);
        push_c_string(out, self.1);
        out.push_str(", ");
        self.2.put(out);
        out.push(')');
    }
}

/// A place in the script as a C string literal (`Places`), written where it is used.
#[derive(Clone, Copy)]
struct Place<'a> {
    shared: &'a super::Shared,
    sm: &'a SourceMap,
    span: Span,
}
impl Piece for Place<'_> {
    fn put(&self, out: &mut String) {
        self.shared.places.push(self.sm, self.span, out);
    }
}
