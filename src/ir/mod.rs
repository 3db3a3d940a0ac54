//! The elaborated program: what pass 2 produces and the C back end consumes.
//!
//! Invariants, established by `sema::elaborate` when it returns without errors:
//! - Top-level entities live in arenas and refer to each other by typed ids. Globals, probes
//!   and watches are in script order; functions (script and tapset alike) in the order a walk
//!   of the probes in script order first calls them. Every walk over the IR is deterministic.
//! - Every name is resolved: variables are `Local`/`Global` ids, calls are `Function` ids or
//!   `Builtin`s. Every expression has a type other than `Ty::Unknown`, and none is
//!   `ExprKind::Invalid`.
//! - Only functions reachable from a probe are present.
//! - Start-up watches are deduplicated: probes on the same (address, length, access, priority)
//!   share one `Watch`, whose `users` list is in script order (`.change` probes share the
//!   `.write` watch of the same bytes). A named watch (`probe NAME = kernel.data(...)`) is
//!   its own `Watch`, shared with nothing, armed only by `enable`.
//! - Every watch has at least one hit user; its sub-probes (`.begin`, `.end`, `.unavailable`)
//!   are in `subs`, in script order.

pub mod print;

use crate::diag::Span;
use crate::syntax::ast::{BinOp, SortBy, SortDir, StatFn, UnOp};
use crate::syntax::name::Name;
use std::fmt;
use std::marker::PhantomData;

/// A typed index into an `Arena<T>`.
pub struct Id<T> {
    idx: u32,
    _m: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    pub fn index(self) -> usize {
        self.idx as usize
    }
}
impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, o: &Self) -> bool {
        self.idx == o.idx
    }
}
impl<T> Eq for Id<T> {}
impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.idx.hash(h)
    }
}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.idx.cmp(&o.idx)
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "#{}", self.idx)
    }
}

pub struct Arena<T> {
    items: Vec<T>,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { items: Vec::new() }
    }
}

impl<T> Arena<T> {
    pub fn alloc(&mut self, t: T) -> Id<T> {
        self.items.push(t);
        Id {
            idx: (self.items.len() - 1) as u32,
            _m: PhantomData,
        }
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Takes back the element `id`, which must be the last one allocated and referred to
    /// by nothing (a probe whose every point was left out).
    pub fn pop_last(&mut self, id: Id<T>) {
        assert_eq!(
            id.idx as usize + 1,
            self.items.len(),
            "not the last element"
        );
        self.items.pop();
    }
    /// Room for exactly `n` more, when their number is known.
    pub fn reserve(&mut self, n: usize) {
        self.items.reserve_exact(n);
    }
    /// No room beyond what is there, once nothing more will be added.
    pub fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
    }
    /// The element whose `Id::index()` is i.
    pub fn at(&self, i: usize) -> &T {
        &self.items[i]
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (Id<T>, &T)> {
        self.items.iter().enumerate().map(|(i, t)| {
            (
                Id {
                    idx: i as u32,
                    _m: PhantomData,
                },
                t,
            )
        })
    }
    pub fn ids(&self) -> impl Iterator<Item = Id<T>> + use<T> {
        (0..self.items.len() as u32).map(|i| Id {
            idx: i,
            _m: PhantomData,
        })
    }
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut()
    }
}

impl<T> std::ops::Index<Id<T>> for Arena<T> {
    type Output = T;
    fn index(&self, id: Id<T>) -> &T {
        &self.items[id.index()]
    }
}
impl<T> std::ops::IndexMut<Id<T>> for Arena<T> {
    fn index_mut(&mut self, id: Id<T>) -> &mut T {
        &mut self.items[id.index()]
    }
}

/// Value types. `Unknown` exists only while types are being inferred; `Void` is the type of a
/// call to a function that returns nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Unknown,
    Long,
    Str,
    Void,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Ty::Unknown => "unknown",
            Ty::Long => "long",
            Ty::Str => "string",
            Ty::Void => "void",
        })
    }
}

#[derive(Default)]
pub struct Module {
    /// The architecture the module is for (its watch rules were checked for it).
    pub arch: crate::target::Arch,
    pub globals: Arena<Global>,
    pub functions: Arena<Function>,
    pub probes: Arena<Probe>,
    pub watches: Arena<Watch>,
    /// Function probes, in script order (one per written point).
    pub kprobes: Arena<Kprobe>,
    /// Top-level `%{ %}` blocks, script's and used tapsets', in order.
    pub embedded: Vec<(Name, Span)>,
    /// The regular expressions of `=~`/`!~`, one per distinct pattern, in order of use.
    pub regexes: Arena<Regex>,
    /// Optional points (`?`, `!`) of a kind stp-hwbp does not have, left out as SystemTap
    /// leaves out what it cannot resolve: (the point's text, why), for `-v`'s notes.
    pub left_out: Vec<(String, String)>,
}

/// A regular expression of `=~`/`!~`, compiled by `sema::regex`. Both automata work on
/// bytes; state numbers fit in u16 (the limits of `sema::regex` keep them small).
pub struct Regex {
    /// The script's literal, as written (raw bytes as lexer private-use chars).
    pub pattern: String,
    pub dfa: RegexDfa,
    pub nfa: RegexNfa,
}

/// An unanchored DFA: state 0 is the start (at the string's beginning), `trans[s * nclasses
/// + classes[byte]]` the next state, `eoi[s]` the state after the string's end. The string
/// matches once a state with `accept` is reached; from a `dead` state it never will.
pub struct RegexDfa {
    pub classes: [u8; 256],
    pub nclasses: usize,
    pub trans: Vec<u16>,
    pub eoi: Vec<u16>,
    pub accept: Vec<bool>,
    pub dead: Vec<bool>,
}

/// A Thompson NFA (for submatches), anchored at `start`; capture slot 2g / 2g + 1 is
/// where group g starts / ends, group 0 being the whole match.
pub struct RegexNfa {
    pub ops: Vec<NfaOp>,
    /// (lo, hi, next): a byte in lo..=hi moves to next.
    pub ranges: Vec<(u8, u8, u16)>,
    /// Alternatives of `Split` states, preferred first.
    pub alts: Vec<u16>,
    pub start: u16,
    pub groups: usize,
}

#[derive(Clone, Copy, Debug)]
pub enum NfaOp {
    /// Consumes a byte in one of `ranges[first..first + count]`.
    Ranges {
        first: usize,
        count: usize,
    },
    /// Follows `alts[first..first + count]`, in order of preference.
    Split {
        first: usize,
        count: usize,
    },
    /// Records the position in capture slot `slot`.
    Save {
        slot: usize,
        next: u16,
    },
    /// An assertion: 0 `^`, 1 `$`, 2 `\b`, 3 `\B`.
    Look {
        kind: u8,
        next: u16,
    },
    Match,
    Fail,
}

pub struct Global {
    pub name: Name,
    pub ty: Ty,
    pub array: Option<ArrayShape>,
    pub init: Option<Const>,
    /// A statistic (some `<<<` adds to it): what it keeps. Its `ty` is `Long`, the type of
    /// the values added; it has no value of its own.
    pub stat: Option<Stat>,
    pub span: Span,
}

/// What a statistic keeps, decided by the extractors the program uses (as in SystemTap:
/// a record holds only the fields they need).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stat {
    pub sum: bool,
    pub min: bool,
    pub max: bool,
    pub variance: bool,
    pub hist: Option<Hist>,
    /// `@variance(x, N)`: the bit shift of its fixed-point arithmetic.
    pub shift: i64,
}

/// The one histogram kind a statistic may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hist {
    Linear { lo: i64, hi: i64, step: i64 },
    Log,
}

impl Hist {
    /// Buckets, under- and overflow included for a linear one (the runtime's layout).
    pub fn buckets(self) -> i64 {
        match self {
            Hist::Linear { lo, hi, step } => (hi - lo) / step + 3,
            Hist::Log => 128,
        }
    }
}

pub struct ArrayShape {
    pub keys: Vec<Ty>,
    /// `global a[N]`: the most entries; otherwise MAXMAPENTRIES.
    pub max: Option<i64>,
    /// `global a%`: when full, adding a key drops the entry added longest ago.
    pub wrap: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Long(i64),
    Str(Name),
}

pub struct Local {
    pub name: Name,
    pub ty: Ty,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnOrigin {
    Script,
    Tapset,
}

pub struct Function {
    pub name: Name,
    /// `Ty::Void` when the function returns no value.
    pub ret: Ty,
    pub params: Vec<Id<Local>>,
    pub locals: Arena<Local>,
    pub body: Body,
    pub origin: FnOrigin,
    pub span: Span,
    /// Usable only in some watchpoint probes (`data_value()`, `data_old()`, `end_reason()`...),
    /// itself or through the functions it calls.
    pub needs: Option<CtxNeed>,
    /// Another function of the module has the same name (a tapset overload by arity): the C
    /// name then carries the arity.
    pub overloaded: bool,
}

/// Probe contexts that some functions need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxNeed {
    /// `data_addr()`, `data_value()`: a watch's hit or sub-probe.
    Data,
    /// `data_old()`: a `.change` hit.
    Change,
    /// `end_reason()`: a `.end`.
    End,
    /// `unavailable_reason()`: a `.unavailable`.
    Unavailable,
    /// `long_arg(N)` and friends: a function entry.
    Args,
    /// `returnval()`: a function return.
    Return,
    /// `register()`, `u_register()`, `print_regs()`: a probe that interrupted code.
    Regs,
    /// `umodname()`, `usymdata()`, `print_ubacktrace()`...: the process's memory map, read
    /// under a trylock of its mmap lock, whose release an NMI-like hit handler must not do.
    Mmap,
}

impl CtxNeed {
    pub const ALL: [CtxNeed; 8] = [
        CtxNeed::Data,
        CtxNeed::Change,
        CtxNeed::End,
        CtxNeed::Unavailable,
        CtxNeed::Args,
        CtxNeed::Return,
        CtxNeed::Regs,
        CtxNeed::Mmap,
    ];

    /// The `pragma:` word that marks a tapset function with this need.
    pub fn pragma(self) -> &'static str {
        match self {
            CtxNeed::Data => "pragma:data",
            CtxNeed::Change => "pragma:change",
            CtxNeed::End => "pragma:end",
            CtxNeed::Unavailable => "pragma:unavailable",
            CtxNeed::Args => "pragma:args",
            CtxNeed::Return => "pragma:return",
            CtxNeed::Regs => "pragma:regs",
            CtxNeed::Mmap => "pragma:mmap",
        }
    }

    /// Which probes may call it, as `-p2` and errors say it.
    pub fn probes(self) -> &'static str {
        match self {
            CtxNeed::Data => "data watchpoint probes",
            CtxNeed::Change => ".change probes",
            CtxNeed::End => ".end probes",
            CtxNeed::Unavailable => ".unavailable probes",
            CtxNeed::Args => "function entry probes",
            CtxNeed::Return => ".return probes",
            CtxNeed::Regs => "function and data watchpoint probes",
            CtxNeed::Mmap => "probes other than data watchpoint hits",
        }
    }

    /// Whether a probe without it may still call it, getting an error at run time
    /// (SystemTap's rule for arguments, return values and registers).
    pub fn run_time(self) -> bool {
        matches!(self, CtxNeed::Args | CtxNeed::Return | CtxNeed::Regs)
    }

    pub fn allows(self, k: &PointKind, m: &Module) -> bool {
        let kp = |ret: bool| matches!(k, PointKind::Kprobe(p) if m.kprobes[*p].ret == ret);
        match self {
            CtxNeed::Args => kp(false),
            CtxNeed::Return => kp(true),
            CtxNeed::Regs => {
                kp(false) || kp(true) || matches!(k, PointKind::Data(_) | PointKind::Change(_))
            }
            CtxNeed::Data => matches!(
                k,
                PointKind::Data(_) | PointKind::Change(_) | PointKind::WatchSub(..)
            ),
            CtxNeed::Change => matches!(k, PointKind::Change(_)),
            CtxNeed::Mmap => !matches!(k, PointKind::Data(_) | PointKind::Change(_)),
            CtxNeed::End => matches!(k, PointKind::WatchSub(_, SubKind::End)),
            CtxNeed::Unavailable => matches!(k, PointKind::WatchSub(_, SubKind::Unavailable)),
        }
    }
}

pub enum Body {
    Script(Block),
    Embedded(Name, Span),
}

pub struct Probe {
    pub points: Vec<Point>,
    /// In the probes of a parametric watchpoint: the local its parameter is bound to.
    pub param: Option<Id<Local>>,
    pub cond: Option<Expr>,
    pub locals: Arena<Local>,
    pub body: Block,
    pub span: Span,
}

/// One resolved probe point of a probe.
pub struct Point {
    /// Canonical text, as `pp()` returns it.
    pub text: String,
    pub kind: PointKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PointKind {
    Begin(i64),
    End(i64),
    /// `oneshot`: a begin probe (sequence 0) that ends the session after it ran.
    Oneshot,
    /// `error(N)`: runs at the end instead of the end probes when errors ended the session.
    Error(i64),
    Never,
    /// A periodic hrtimer, in nanoseconds.
    Timer(u64),
    /// Every N jiffies.
    Jiffies(u64),
    /// A hit of a watch (`.write`, `.rw`, or a named watch's body).
    Data(Id<Watch>),
    /// A write that changed the watched value (`.change`).
    Change(Id<Watch>),
    /// `.begin`, `.end` or `.unavailable` of a watch: runs in process context.
    WatchSub(Id<Watch>, SubKind),
    /// A function entry or return (`kprobe.function`, `kernel.function`).
    Kprobe(Id<Kprobe>),
}

/// One function probe point: a kprobe, or a kretprobe for `.return`.
pub struct Kprobe {
    /// The function, possibly a wildcard (expanded at load against /proc/kallsyms).
    pub symbol: String,
    /// `kprobe.module("m").function(...)`: the loaded module it lives in.
    pub module: Option<String>,
    pub ret: bool,
    /// `.return.maxactive(N)`.
    pub maxactive: Option<i64>,
    /// `?`: skipped (with a -v note) if it cannot be registered.
    pub optional: bool,
    /// `!`: optional, and once it registers the rest of its probe's points are not tried.
    pub sufficient: bool,
    pub probe: Id<Probe>,
    pub text: String,
    pub span: Span,
}

impl Kprobe {
    pub fn wildcard(&self) -> bool {
        self.symbol.contains(['*', '?', '['])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubKind {
    Begin,
    End,
    Unavailable,
}

impl SubKind {
    pub fn name(self) -> &'static str {
        match self {
            SubKind::Begin => "begin",
            SubKind::End => "end",
            SubKind::Unavailable => "unavailable",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Write,
    ReadWrite,
    /// Reads only (`.read`): arm64 has it, x86 does not.
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WatchAddr {
    Literal(u64),
    Symbol {
        name: String,
        offset: u64,
    },
    /// A parametric watchpoint's address, given to `enable NAME(EXPR)`.
    Param(Name),
}

pub struct Watch {
    pub addr: WatchAddr,
    pub len: u8,
    pub access: Access,
    /// The probes whose hits this watch reports, and which of their points, in script order.
    pub users: Vec<(Id<Probe>, usize)>,
    /// Its sub-probes, in script order.
    pub subs: Vec<(Id<Probe>, usize, SubKind)>,
    /// `probe NAME = ...`: armed by `enable NAME`; `None`: armed at start.
    pub name: Option<String>,
    /// `.priority(N)`: which of the script's watches preempts which.
    pub priority: i64,
    /// Some user is `.change`: the runtime keeps the last value.
    pub change: bool,
    /// A start-up watch that some hit probe names with `?` or `!`: one that cannot be armed
    /// at start is left out (a NOTE under -v) instead of failing the start.
    pub optional: bool,
    /// The point's text without sub-probe suffix, for messages.
    pub text: String,
    pub span: Span,
}

impl Watch {
    /// What messages and `end_reason()` call it: its name, or its point.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.text)
    }
    pub fn has_sub(&self, k: SubKind) -> bool {
        self.subs.iter().any(|s| s.2 == k)
    }
}

pub struct Block {
    pub stmts: Vec<Stmt>,
}

pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

// A large script's IR is mostly statements: 240 bytes each before `For`, `Foreach` and
// `StatAdd` boxed their larger parts, 112 before `Foreach` and `Try` became boxes whole.
// `If` (an expression and two boxes) is now the largest.
const _: () = assert!(std::mem::size_of::<Stmt>() <= 88);

/// The rarer statements box their larger parts, so that a `Stmt` in a block's vector stays
/// near the size of an expression statement's (checked below).
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
    For {
        init: Option<Box<Expr>>,
        cond: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
        body: Box<Stmt>,
    },
    Foreach(Box<Foreach>),
    Break,
    Continue,
    Next,
    Return(Option<Expr>),
    /// `delete a[k]`, `delete a`, or `delete x` (resets a scalar, empties a statistic).
    Delete(LValue),
    /// `stat <<< value`, `stat[keys] <<< value`: no lock for a scalar (the runtime's
    /// per-CPU records), the read lock for an array.
    StatAdd {
        stat: Id<Global>,
        keys: Vec<Expr>,
        value: Box<Expr>,
    },
    /// `print(@hist_*(stat[keys]))` / `println(...)`: the histogram as SystemTap draws it.
    PrintHist {
        stat: Id<Global>,
        keys: Vec<Expr>,
        newline: bool,
    },
    /// `enable NAME[(addr)] [later]`.
    Enable {
        watch: Id<Watch>,
        arg: Option<Expr>,
        later: bool,
    },
    /// `disable NAME[(addr)]`: without an address on a parametric watch, every instance.
    Disable {
        watch: Id<Watch>,
        arg: Option<Expr>,
    },
    /// `try { body } catch [(var)] { catch }`: a run-time error in `body` (or in what it
    /// calls), except MAXACTION, runs `catch` with the error's message in `var` (a string
    /// variable) instead of ending the probe run.
    Try(Box<Try>),
    Empty,
}

/// `foreach`: see `StmtKind::Foreach`.
pub struct Foreach {
    pub value: Option<Id<Local>>,
    pub keys: Box<[Id<Local>]>,
    pub array: Id<Global>,
    /// An array of statistics sorted by value: the extractor it sorts by (`@count` when the
    /// script names none, as in SystemTap). `None` for other arrays.
    pub agg: Option<StatFn>,
    /// `in arr[k, *]`: only the entries matching these keys (`ExprKind::Wildcard` matches
    /// any), evaluated once before the loop.
    pub slice: Option<Box<[Expr]>>,
    pub sort: Option<(SortBy, SortDir)>,
    pub limit: Option<Box<Expr>>,
    pub body: Stmt,
}

/// `try { body } catch [(var)] { catch }`: see `StmtKind::Try`.
pub struct Try {
    pub body: Block,
    /// The variable and where the script names it.
    pub var: Option<(LValue, Span)>,
    pub catch: Block,
}

#[derive(Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: Ty,
    pub span: Span,
}

// Keys and builtin arguments are boxed slices, not vectors, so that the largest kinds (an
// assignment to an element, a printf) fit in 40 bytes.
const _: () = assert!(std::mem::size_of::<Expr>() <= 56);

#[derive(Clone)]
pub enum LValue {
    Local(Id<Local>),
    Global(Id<Global>),
    Index {
        array: Id<Global>,
        keys: Box<[Expr]>,
    },
    /// A whole array, for `delete a`.
    Array(Id<Global>),
}

/// Functions the translator implements itself (they take any number of arguments or a format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Printf,
    Sprintf,
    Print,
    Println,
    /// `sprint(...)`, `sprintln(...)`: what print/println would print, as a string.
    Sprint,
    Sprintln,
    /// `printd(DELIM, ...)` and the rest of its family: print's with the literal DELIM
    /// between the values. Its `format` is one `Text` piece, the delimiter.
    Printd,
    Printdln,
    Sprintd,
    Sprintdln,
}

impl Builtin {
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Printf => "printf",
            Builtin::Sprintf => "sprintf",
            Builtin::Print => "print",
            Builtin::Println => "println",
            Builtin::Sprint => "sprint",
            Builtin::Sprintln => "sprintln",
            Builtin::Printd => "printd",
            Builtin::Printdln => "printdln",
            Builtin::Sprintd => "sprintd",
            Builtin::Sprintdln => "sprintdln",
        }
    }

    /// The printd family: the first argument is a literal delimiter.
    pub fn delimited(self) -> bool {
        matches!(
            self,
            Builtin::Printd | Builtin::Printdln | Builtin::Sprintd | Builtin::Sprintdln
        )
    }

    /// Whether the call returns the text instead of printing it.
    pub fn returns_string(self) -> bool {
        matches!(
            self,
            Builtin::Sprintf
                | Builtin::Sprint
                | Builtin::Sprintln
                | Builtin::Sprintd
                | Builtin::Sprintdln
        )
    }

    /// Whether a newline follows the values (println, sprintln, printdln, sprintdln).
    pub fn newline(self) -> bool {
        matches!(
            self,
            Builtin::Println | Builtin::Sprintln | Builtin::Printdln | Builtin::Sprintdln
        )
    }
}

/// A piece of a checked `printf` format.
#[derive(Clone, Debug, PartialEq)]
pub enum FmtPiece {
    Text(String),
    Conv {
        flags: String,
        width: Option<FmtSize>,
        precision: Option<FmtSize>,
        conv: char,
    },
}

/// A width or precision: written in the format, or `*`, taken from the next argument (a long,
/// before the value it applies to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FmtSize {
    Fixed(u32),
    Star,
}

#[derive(Clone)]
pub enum ExprKind {
    /// Stands for an expression that could not be resolved (an unknown function, an
    /// undeclared array, ...) once an error has said so. It has no type: inference learns
    /// nothing from it and reports nothing about it, so that the one error is not followed by
    /// mismatches it caused. The error stops the run before pass 3, which never sees it.
    Invalid,
    /// `*` as a key of `In` or of a deleted `LValue::Index`: any value of that column.
    Wildcard,
    Long(i64),
    Str(Name),
    Var(LValue),
    Call {
        func: Id<Function>,
        args: Vec<Expr>,
    },
    Builtin {
        which: Builtin,
        /// Shared by every call with the same format text (a large script repeats a few).
        /// For the printd family, one `Text` piece: the delimiter.
        format: std::rc::Rc<[FmtPiece]>,
        args: Box<[Expr]>,
    },
    Unary {
        op: UnOp,
        e: Box<Expr>,
    },
    /// Comparisons of two strings have `l.ty == Ty::Str`; all others operate on longs.
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
        op: Option<BinOp>,
        target: LValue,
        value: Box<Expr>,
    },
    IncDec {
        target: LValue,
        inc: bool,
        pre: bool,
    },
    In {
        array: Id<Global>,
        keys: Box<[Expr]>,
    },
    /// `@count(stat)` and the other extractors, or a histogram's bucket
    /// (`@hist_log(stat)[i]`, with `op` a histogram and `bucket` set). Always `long`.
    StatGet {
        stat: Id<Global>,
        keys: Vec<Expr>,
        op: StatFn,
        bucket: Option<Box<Expr>>,
    },
    /// `s =~ "re"` (1 when re matches somewhere in s), or `!~` with `negate`; a long.
    Regex {
        s: Box<Expr>,
        re: Id<Regex>,
        negate: bool,
    },
}
