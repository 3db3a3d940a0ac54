//! The generator's own small syntax tree: just enough structure to print one script two ways
//! (`layout.rs`) and to remove pieces of it when reducing a failure. It does not reuse
//! `stp_hwbp::syntax::ast` on purpose: its operator table is the README's, so a parser that
//! disagrees with the documentation shows up as two layouts of one script parsing differently.

/// The two value types of the language.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    Long,
    Str,
}

#[derive(Clone, Debug)]
pub enum Expr {
    /// A literal or an argument reference, as written: `0x10`, `-5`, `"a\n"`, `$1`, `@2`.
    Lit(String),
    Var(String),
    Index(String, Vec<Expr>),
    Call(String, Vec<Expr>),
    /// `-`, `+`, `!`, `~` before an operand.
    Unary(&'static str, Box<Expr>),
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `=`, `+=`, ..., `.=`; the target is a `Var` or an `Index`.
    Assign(&'static str, Box<Expr>, Box<Expr>),
    IncDec {
        op: &'static str,
        pre: bool,
        target: Box<Expr>,
    },
    /// `k in arr`, `[k1, k2] in arr`.
    In(Vec<Expr>, String),
}

// Binding strengths, loosest first, in the order the README's "Expressions" section lists them.
pub const ASSIGN: u8 = 1;
pub const TERNARY: u8 = 2;
pub const IN: u8 = 8;
pub const UNARY: u8 = 14;
pub const POSTFIX: u8 = 15;
pub const PRIMARY: u8 = 16;

pub fn binary_prec(op: &str) -> u8 {
    match op {
        "||" => 3,
        "&&" => 4,
        "|" => 5,
        "^" => 6,
        "&" => 7,
        "<" | ">" | "<=" | ">=" | "==" | "!=" => 9,
        "<<" | ">>" => 10,
        "." => 11,
        "+" | "-" => 12,
        "*" | "/" | "%" => 13,
        _ => panic!("not a binary operator: {op}"),
    }
}

impl Expr {
    pub fn prec(&self) -> u8 {
        match self {
            // `-5` is folded into one literal by the parser, but is written as a unary minus.
            Expr::Lit(s) if s.starts_with('-') => UNARY,
            Expr::Lit(_) | Expr::Var(_) | Expr::Index(..) | Expr::Call(..) => PRIMARY,
            Expr::Unary(..) | Expr::IncDec { pre: true, .. } => UNARY,
            Expr::IncDec { pre: false, .. } => POSTFIX,
            Expr::Binary(op, ..) => binary_prec(op),
            Expr::In(..) => IN,
            Expr::Ternary(..) => TERNARY,
            Expr::Assign(..) => ASSIGN,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    Value,
    Key(usize),
}

/// A `foreach` head; `bracket` says whether a single key is written `[k]` or bare `k`.
#[derive(Clone, Debug)]
pub struct Foreach {
    pub value: Option<String>,
    pub keys: Vec<String>,
    pub bracket: bool,
    pub array: String,
    /// The column and whether it ascends (`+`) or descends (`-`).
    pub sort: Option<(SortBy, bool)>,
    pub limit: Option<Expr>,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Expr(Expr),
    Block(Vec<Stmt>),
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    While(Expr, Box<Stmt>),
    For(Option<Expr>, Option<Expr>, Option<Expr>, Box<Stmt>),
    Foreach(Foreach, Box<Stmt>),
    Break,
    Continue,
    Next,
    Return(Option<Expr>),
    Delete(Expr),
    Enable {
        name: String,
        arg: Option<Expr>,
        later: bool,
    },
    Disable {
        name: String,
        arg: Option<Expr>,
    },
    Empty,
    /// `%( COND %? THEN %: ELSE %)` around statements; `cond` is written as is.
    Pp(String, Vec<Stmt>, Vec<Stmt>),
}

/// A probe point: its components, each with its argument as written (`"pid_max"`, `0x10`,
/// `$1`, a watchpoint parameter's name).
#[derive(Clone, Debug)]
pub struct Point(pub Vec<(String, Option<String>)>);

#[derive(Clone, Debug)]
pub struct GlobalDecl {
    pub name: String,
    pub size: Option<String>,
    pub init: Option<String>,
}

#[derive(Clone, Debug)]
pub struct FunctionDecl {
    pub name: String,
    pub ret: Option<Ty>,
    pub params: Vec<(String, Option<Ty>)>,
    pub body: Vec<Stmt>,
    /// An embedded-C body (`%{ ... %}`, guru mode) instead of `body`.
    pub embedded: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ProbeDecl {
    /// `probe NAME = ...` / `probe NAME(PARAM) = ...`.
    pub watch: Option<(String, Option<String>)>,
    pub points: Vec<Point>,
    pub cond: Option<Expr>,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Debug)]
pub enum Item {
    /// One `global a, b = 1, c[10]` line.
    Globals(Vec<GlobalDecl>),
    Function(FunctionDecl),
    Probe(ProbeDecl),
    /// Top-level `%{ C %}` (guru mode).
    Embedded(String),
}

/// A whole generated script, with the command-line arguments its `$N`/`@N` refer to.
#[derive(Clone, Debug, Default)]
pub struct Script {
    pub items: Vec<Item>,
    pub args: Vec<String>,
    /// Translated with `-g` (it has embedded C).
    pub guru: bool,
}
