//! The parsed script: plain trees with spans, nothing resolved. Names (and string literals
//! and embedded C) are interned `Name`s here; the elaborator turns them into typed arena ids.

use crate::diag::Span;
pub use crate::syntax::name::Name;

#[derive(Debug, Clone)]
pub struct Ident {
    pub name: Name,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeName {
    Long,
    String,
}

#[derive(Debug, Clone)]
pub struct Script {
    pub items: Vec<Item>,
}

// The items stay inline in the script's vector (boxing them would move that vector's memory,
// which pass 2 hands back as it empties, into the heap); their rare parts (an alias's or
// named watchpoint's name, a probe's condition, a global's initial value) are boxed instead,
// so that an item is 104 bytes rather than 216.
#[derive(Debug, Clone)]
pub enum Item {
    Global(GlobalDecl),
    Function(FunctionDecl),
    Probe(ProbeDecl),
    /// Top-level `%{ C %}`.
    Embedded(Name, Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Global(g) => g.name.span,
            Item::Function(f) => f.span,
            Item::Probe(p) => p.span,
            Item::Embedded(_, sp) => *sp,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GlobalDecl {
    pub name: Ident,
    /// `private global`: visible only in the file that declares it.
    pub private: bool,
    /// `global arr[100]`: an array with its maximum size.
    pub array_size: Option<(i64, Span)>,
    /// `global a%` / `global a%[N]`: a wrap-around array (a full one drops its oldest entry).
    pub wrap: Option<Span>,
    pub init: Option<Box<Expr>>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeName>,
}

#[derive(Debug, Clone)]
pub struct FunctionDecl {
    pub name: Ident,
    /// `private function`: callable only from the file that defines it.
    pub private: bool,
    pub ret: Option<TypeName>,
    pub params: Vec<Param>,
    pub body: FunctionBody,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum FunctionBody {
    Script(Block),
    /// Embedded C (guru mode or tapsets), with its span for build-error mapping.
    Embedded(Name, Span),
}

#[derive(Debug, Clone)]
pub struct ProbeDecl {
    /// `probe NAME = POINT` / `probe NAME(param) = ...` / `probe A.B += POINT`: a named
    /// watchpoint when POINT is `kernel.data(...)`, otherwise a probe alias.
    pub watch: Option<Box<WatchName>>,
    pub points: Vec<ProbePoint>,
    pub cond: Option<Box<Expr>>,
    pub body: Block,
    pub span: Span,
}

/// The name (and parameter) a `probe NAME = POINT` declaration gives its watchpoint or alias.
#[derive(Debug, Clone)]
pub struct WatchName {
    pub name: Ident,
    pub param: Option<Ident>,
    /// An alias's further name components: `probe a.b.c = ...` has `b`, `c`.
    pub rest: Vec<Ident>,
    /// `+=`: the body is an epilogue, run after the using probe's body.
    pub append: bool,
}

#[derive(Debug, Clone)]
pub struct ProbePoint {
    pub components: Vec<Component>,
    /// `?` or `!` after the point: optional.
    pub optional: bool,
    /// `!` after the point: optional and sufficient (once it registers, the rest of the
    /// probe's comma list is not tried).
    pub sufficient: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub name: Ident,
    pub arg: Option<Literal>,
    /// An identifier as the argument (`kernel.data(loc)`): a watchpoint's parameter.
    pub param: Option<Ident>,
}

#[derive(Debug, Clone)]
pub struct Literal {
    pub value: LitValue,
    pub span: Span,
    /// The command-line argument it came from, if substituted by the preprocessor.
    pub from_arg: Option<Name>,
}

/// A literal as an expression: the `Expr` around it has its span.
#[derive(Debug, Clone)]
pub struct Lit {
    pub value: LitValue,
    /// The command-line argument it came from, if substituted by the preprocessor.
    pub from_arg: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LitValue {
    Int(i64),
    Str(Name),
}

#[derive(Debug, Clone)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// What a `foreach` sorts by: the value, or key column N (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Value,
    Key(usize),
}

#[derive(Debug, Clone)]
pub enum StmtKind {
    Expr(Expr),
    Block(Block),
    If {
        cond: Expr,
        then: Box<Stmt>,
        els: Option<Box<Stmt>>,
    },
    While {
        cond: Expr,
        body: Box<Stmt>,
    },
    // The rarer statements keep their larger parts boxed, so that every `Stmt` (a block is a
    // vector of them) stays the size of the common ones.
    For {
        init: Option<Box<Expr>>,
        cond: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
        body: Box<Stmt>,
    },
    Foreach(Box<Foreach>),
    /// `foreach (b in @hist_log(x))`: every bucket index of a histogram.
    ForeachHist {
        key: Ident,
        hist: Box<Expr>,
        body: Box<Stmt>,
    },
    Break,
    Continue,
    Next,
    Return(Option<Expr>),
    Delete(Expr),
    /// `enable NAME`, `enable NAME(EXPR)`, with `later` for now-or-later.
    Enable {
        name: Ident,
        arg: Option<Box<Expr>>,
        later: Option<Span>,
    },
    /// `disable NAME`, `disable NAME(EXPR)`; `later` is parsed only to be refused.
    Disable {
        name: Ident,
        arg: Option<Box<Expr>>,
        later: Option<Span>,
    },
    /// `try { } catch [(msg)] { }`.
    Try {
        body: Block,
        var: Option<Ident>,
        catch: Box<Block>,
    },
    Empty,
}

/// `foreach ([value =] [k1, ...] in array[slice] [agg] [sort] limit N) body`.
#[derive(Debug, Clone)]
pub struct Foreach {
    pub value: Option<Ident>,
    pub keys: Vec<Ident>,
    pub array: Ident,
    /// `foreach (k in a @sum-)`: the extractor an array of statistics sorts by.
    pub agg: Option<(StatFn, Span)>,
    /// `in arr[k, *]`: only the entries matching these keys (`*` matches any).
    pub slice: Option<Box<[Expr]>>,
    pub sort: Option<(SortBy, SortDir)>,
    pub limit: Option<Expr>,
    pub body: Stmt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Mod,
    Add,
    Sub,
    Shl,
    Shr,
    BitAnd,
    BitXor,
    BitOr,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Concat,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        use BinOp::*;
        match self {
            Mul => "*",
            Div => "/",
            Mod => "%",
            Add => "+",
            Sub => "-",
            Shl => "<<",
            Shr => ">>",
            BitAnd => "&",
            BitXor => "^",
            BitOr => "|",
            Lt => "<",
            Gt => ">",
            Le => "<=",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            And => "&&",
            Or => "||",
            Concat => ".",
        }
    }
    /// Binding strength, higher binds tighter; the parser and both printers share it.
    pub fn prec(self) -> u8 {
        use BinOp::*;
        match self {
            Or => 3,
            And => 4,
            BitOr => 5,
            BitXor => 6,
            BitAnd => 7,
            Lt | Gt | Le | Ge | Eq | Ne => 9,
            Shl | Shr => 10,
            Concat => 11,
            Add | Sub => 12,
            Mul | Div | Mod => 13,
        }
    }
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge | BinOp::Eq | BinOp::Ne
        )
    }
}

/// Precedence of `k in arr`, between `&` and the comparisons, as in SystemTap.
pub const PREC_IN: u8 = 8;
/// Precedence of `s =~ "re"` and `!~`: the comparisons', as in SystemTap.
pub const PREC_REGEX: u8 = 9;
pub const PREC_TERNARY: u8 = 2;
pub const PREC_ASSIGN: u8 = 1;
pub const PREC_UNARY: u8 = 14;

/// `=` is `None`; `+=` is `Some(Add)`, and so on.
pub type AssignOp = Option<BinOp>;

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

// An `Expr` is 56 bytes, so that a boxed one is a 64-byte malloc chunk rather than 80: the
// variants hold at most 40 bytes with their tag. A name and its span sit as two fields rather
// than an `Ident` (whose 4 bytes of padding would push the tag past 40), lists are boxed
// slices (no growth slack), and the rare regex pattern is boxed.
#[derive(Debug, Clone)]
pub enum ExprKind {
    Lit(Lit),
    Var(Ident),
    /// `$name`, a debuginfo target variable: pass 2 reports it unless it sits in code that
    /// `@defined` makes dead.
    TargetVar(Ident),
    Index {
        array: Name,
        array_span: Span,
        keys: Box<[Expr]>,
    },
    Call {
        name: Name,
        name_span: Span,
        args: Box<[Expr]>,
    },
    Unary {
        op: UnOp,
        e: Box<Expr>,
    },
    Binary {
        op: BinOp,
        l: Box<Expr>,
        r: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    Assign {
        op: AssignOp,
        target: Box<Expr>,
        value: Box<Expr>,
    },
    /// `++x` (pre = true) / `x--` (pre = false); `inc` tells the direction.
    IncDec {
        target: Box<Expr>,
        inc: bool,
        pre: bool,
        /// A postfix `++`/`--` that starts a line: SystemTap joins it to the expression before
        /// (`x = 1` newline `++y` is `x = 1++; y`), which is worth a hint when that fails.
        op_on_next_line: bool,
    },
    In {
        keys: Box<[Expr]>,
        array: Name,
        array_span: Span,
    },
    /// `s =~ "re"` / `s !~ "re"` (`negate`): the pattern is a string literal, as SystemTap
    /// requires, so that it is compiled at translation time.
    Regex {
        s: Box<Expr>,
        negate: bool,
        pattern: Box<Literal>,
    },
    /// `*` as a key: any value of that column (`[k, *] in arr`, `delete arr[k, *]`).
    Wildcard,
    /// `target <<< value`: adds a value to a statistic.
    StatAdd {
        target: Box<Expr>,
        value: Box<Expr>,
    },
    /// `@op(stat[, params])`, and `@hist_*(...)[bucket]`.
    StatOp {
        op: StatFn,
        arg: Box<Expr>,
        params: Box<[Expr]>,
        bucket: Option<Box<Expr>>,
    },
}

/// The statistics operators: extractors and histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatFn {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Variance,
    HistLinear,
    HistLog,
}

impl StatFn {
    pub const ALL: [StatFn; 8] = [
        StatFn::Count,
        StatFn::Sum,
        StatFn::Min,
        StatFn::Max,
        StatFn::Avg,
        StatFn::Variance,
        StatFn::HistLinear,
        StatFn::HistLog,
    ];
    /// The name without `@`.
    pub fn name(self) -> &'static str {
        match self {
            StatFn::Count => "count",
            StatFn::Sum => "sum",
            StatFn::Min => "min",
            StatFn::Max => "max",
            StatFn::Avg => "avg",
            StatFn::Variance => "variance",
            StatFn::HistLinear => "hist_linear",
            StatFn::HistLog => "hist_log",
        }
    }
    pub fn from_name(n: &str) -> Option<StatFn> {
        StatFn::ALL.into_iter().find(|f| f.name() == n)
    }
    pub fn is_hist(self) -> bool {
        matches!(self, StatFn::HistLinear | StatFn::HistLog)
    }
}

/// Calls `f` on `e` and every expression inside it, outermost first. Generic rather than
/// through `dyn`, so that each scan's closure is inlined into its own walk.
pub fn walk_expr<'e, F: FnMut(&'e Expr) + ?Sized>(e: &'e Expr, f: &mut F) {
    use ExprKind::*;
    f(e);
    match &e.kind {
        Lit(_) | Var(_) | TargetVar(_) | Wildcard => {}
        Index { keys, .. } | In { keys, .. } => keys.iter().for_each(|k| walk_expr(k, f)),
        Call { args, .. } => args.iter().for_each(|a| walk_expr(a, f)),
        Unary { e, .. } | Regex { s: e, .. } => walk_expr(e, f),
        Binary { l, r, .. } => {
            walk_expr(l, f);
            walk_expr(r, f)
        }
        Ternary { cond, then, els } => {
            walk_expr(cond, f);
            walk_expr(then, f);
            walk_expr(els, f)
        }
        Assign { target, value, .. } => {
            walk_expr(target, f);
            walk_expr(value, f)
        }
        IncDec { target, .. } => walk_expr(target, f),
        StatAdd { target, value } => {
            walk_expr(target, f);
            walk_expr(value, f)
        }
        StatOp {
            arg,
            params,
            bucket,
            ..
        } => {
            walk_expr(arg, f);
            params.iter().for_each(|p| walk_expr(p, f));
            if let Some(b) = bucket {
                walk_expr(b, f)
            }
        }
    }
}

/// Calls `fs` on `s` and every statement inside it, and `fe` on every expression in them.
pub fn walk_stmt<'e, FE, FS>(s: &'e Stmt, fe: &mut FE, fs: &mut FS)
where
    FE: FnMut(&'e Expr) + ?Sized,
    FS: FnMut(&'e Stmt) + ?Sized,
{
    use StmtKind::*;
    fs(s);
    match &s.kind {
        Expr(e) | Delete(e) | Return(Some(e)) => walk_expr(e, fe),
        Block(b) => b.stmts.iter().for_each(|s| walk_stmt(s, fe, fs)),
        If { cond, then, els } => {
            walk_expr(cond, fe);
            walk_stmt(then, fe, fs);
            if let Some(e) = els {
                walk_stmt(e, fe, fs)
            }
        }
        While { cond, body } => {
            walk_expr(cond, fe);
            walk_stmt(body, fe, fs)
        }
        For {
            init,
            cond,
            step,
            body,
        } => {
            for e in [init, cond, step].into_iter().flatten() {
                walk_expr(e, fe);
            }
            walk_stmt(body, fe, fs)
        }
        Foreach(f) => {
            let crate::syntax::ast::Foreach {
                limit, slice, body, ..
            } = &**f;
            if let Some(l) = limit {
                walk_expr(l, fe)
            }
            slice.iter().flatten().for_each(|k| walk_expr(k, fe));
            walk_stmt(body, fe, fs)
        }
        ForeachHist { hist, body, .. } => {
            walk_expr(hist, fe);
            walk_stmt(body, fe, fs)
        }
        Enable { arg, .. } | Disable { arg, .. } => {
            if let Some(e) = arg {
                walk_expr(e, fe)
            }
        }
        Try { body, catch, .. } => {
            body.stmts.iter().for_each(|s| walk_stmt(s, fe, fs));
            catch.stmts.iter().for_each(|s| walk_stmt(s, fe, fs));
        }
        Break | Continue | Next | Return(None) | Empty => {}
    }
}
// A script's AST is a few times its size in bytes: keep the nodes small (a `Stmt` was 240
// bytes before the rare statements boxed their larger parts).
const _: () = assert!(std::mem::size_of::<Ident>() <= 24);
const _: () = assert!(std::mem::size_of::<Item>() <= 104);
const _: () = assert!(std::mem::size_of::<ExprKind>() <= 40);
const _: () = assert!(std::mem::size_of::<Expr>() <= 56);
const _: () = assert!(std::mem::size_of::<Stmt>() <= 104);
