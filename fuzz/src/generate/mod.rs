//! A generator of valid scripts, for checking that everything the language accepts goes through
//! passes 1-3 without errors or warnings, reads back through `-p1`, and builds with kbuild
//! (`tests/genfuzz.rs`; the cargo-fuzz target `generate` drives it from fuzzer bytes).
//!
//! It writes a script top-down, keeping what the elaborator will check true by construction:
//! - every variable has a type a use fixes (a typed value assigned, a typed parameter), and
//!   every use agrees with it; names never collide across globals, locals, functions and
//!   watchpoints;
//! - every global is used, every array is indexed somewhere, every named watchpoint is enabled
//!   (so no warning either), and at most four start-up watchpoints exist;
//! - `break`/`continue` only in loops, `next` only in probes, `return` only in functions;
//! - no array changes inside a `foreach` over it, directly or through a called function, and a
//!   nested `foreach` over the same array keeps its order;
//! - context functions only where every point of the probe offers them, also through calls
//!   (`data_value()` not in `.unavailable`, as the README's table has it);
//! - recursion is bounded by a depth parameter;
//! - what a dead `%( %? %: %)` branch declares is forgotten after it;
//! - embedded C (one script in seven is in guru mode) is C that compiles, from templates.
//!
//! `Gen` holds what the script has so far; `expr.rs` writes typed expressions, `stmt.rs`
//! statements and bodies, `points.rs` probe points, watchpoints and the items around them,
//! `layout.rs` the text, and `reduce.rs` shrinks a failing script.

mod expr;
pub mod layout;
pub mod model;
mod points;
pub mod reduce;
mod stmt;

use crate::rng::Source;
use model::*;
use std::collections::BTreeSet;

/// Generates one script from `src`.
pub fn script(src: &mut dyn Source) -> Script {
    let mut g = Gen {
        src,
        used: BTreeSet::new(),
        counter: 0,
        globals: vec![],
        functions: vec![],
        named: vec![],
        startup: vec![],
        args: vec![],
        facts: Facts::default(),
    };
    g.script()
}

/// Context functions a body may call, as bits.
pub(crate) type Needs = u8;
pub(crate) const DATA_ADDR: Needs = 1;
pub(crate) const DATA_VALUE: Needs = 2;
pub(crate) const DATA_OLD: Needs = 4;
pub(crate) const END_REASON: Needs = 8;
pub(crate) const UNAVAILABLE_REASON: Needs = 16;

/// Names the language allows that are C keywords, kernel macros or the language's own soft
/// keywords: each must reach C through the namer without meaning anything there.
const ODD_NAMES: &[&str] = &[
    "int",
    "char",
    "static",
    "goto",
    "switch",
    "case",
    "default",
    "do",
    "unsigned",
    "struct",
    "union",
    "volatile",
    "register",
    "auto",
    "extern",
    "sizeof",
    "typedef",
    "enum",
    "const",
    "signed",
    "float",
    "double",
    "void",
    "inline",
    "restrict",
    "current",
    "NULL",
    "printk",
    "THIS_MODULE",
    "KBUILD_MODNAME",
    "likely",
    "min",
    "max",
    "u64",
    "size_t",
    "bool",
    "true",
    "false",
    "__func__",
    "asm",
    "typeof",
    "container_of",
    "BUG",
    "memcpy",
    "CONTEXT",
    "STAP_RETVALUE",
    "c",
    "ctx",
    "stp_out",
    "l_x",
    "long",
    "string",
    "limit",
    "later",
    "enable",
    "disable",
];

/// What functions may not be called: the built-ins, and the tapset functions (a script
/// function of the same name would replace them).
const RESERVED_FUNCTIONS: &[&str] = &[
    "printf",
    "sprintf",
    "print",
    "println",
    "pp",
    "cpu",
    "pid",
    "tid",
    "execname",
    "target",
    "print_backtrace",
    "data_addr",
    "data_value",
    "data_old",
    "end_reason",
    "unavailable_reason",
    "exit",
    "error",
    "kernel_long",
    "kernel_int",
    "kernel_short",
    "kernel_char",
    "kernel_string",
    "symname",
    "symbol_address",
    "strlen",
    "substr",
    "isinstr",
    "gettimeofday_ns",
    "gettimeofday_us",
    "gettimeofday_ms",
    "gettimeofday_s",
    "jiffies",
];

/// Probe point families: not watchpoint names.
const FAMILIES: &[&str] = &[
    "begin", "end", "never", "timer", "kernel", "kprobe", "process", "module", "syscall", "perf",
    "procfs", "oneshot", "error",
];

#[derive(Clone)]
pub(crate) enum Shape {
    Scalar(Ty),
    Array { keys: Vec<Ty>, val: Ty },
}

pub(crate) struct Global {
    pub name: String,
    pub shape: Shape,
    /// Typed by its initial value (scalars only).
    pub init: bool,
}

pub(crate) struct Func {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub ret: Option<Ty>,
    /// Which parameters are declared with their type.
    pub annotated: Vec<bool>,
    /// Context functions it reaches, and arrays it changes, itself or through calls.
    pub needs: Needs,
    pub writes: BTreeSet<usize>,
    /// Its first parameter bounds its recursion.
    pub recursive: bool,
    /// What its body establishes, which holds wherever it is called.
    pub gains: Facts,
}

/// A named watchpoint: `probe NAME[(PARAM)] = kernel.data(...)`.
pub(crate) struct Named {
    pub name: String,
    pub param: Option<String>,
    pub change: bool,
}

/// A start-up watchpoint: the bytes, access and priority its points share.
pub(crate) struct Startup {
    pub addr: points::Addr,
    pub len: u8,
    pub rw: bool,
    pub priority: i64,
}

/// A command-line argument: a number (`$N` or `@N`) or a symbol name (`@N` only).
pub(crate) struct Arg {
    pub text: String,
    pub number: bool,
}

/// What the script has established so far; a dead preprocessor branch must not add to it.
#[derive(Clone, Default)]
pub(crate) struct Facts {
    /// Globals some use gives a type (arrays: their keys' and values' types).
    pub typed: BTreeSet<usize>,
    /// Globals mentioned at all.
    pub used: BTreeSet<usize>,
    /// Named watchpoints enabled.
    pub enabled: BTreeSet<usize>,
}

impl Facts {
    pub fn merge(&mut self, o: &Facts) {
        self.typed.extend(&o.typed);
        self.used.extend(&o.used);
        self.enabled.extend(&o.enabled);
    }
}

pub(crate) struct Gen<'s> {
    pub src: &'s mut dyn Source,
    used: BTreeSet<String>,
    counter: usize,
    pub globals: Vec<Global>,
    pub functions: Vec<Func>,
    pub named: Vec<Named>,
    pub startup: Vec<Startup>,
    pub args: Vec<Arg>,
    pub facts: Facts,
}

impl Gen<'_> {
    pub fn below(&mut self, n: usize) -> usize {
        self.src.below(n)
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.src.chance(percent)
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    /// `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn ty(&mut self) -> Ty {
        if self.chance(60) { Ty::Long } else { Ty::Str }
    }

    /// A name nothing else in the script has: now and then an odd one, else PREFIX + a number.
    pub fn fresh(&mut self, prefix: &str, avoid: &[&str]) -> String {
        if self.chance(10) {
            let n = self.pick(ODD_NAMES);
            if !avoid.contains(&n) && self.used.insert(n.to_string()) {
                return n.to_string();
            }
        }
        loop {
            self.counter += 1;
            let n = format!("{prefix}{}", self.counter);
            if self.used.insert(n.clone()) {
                return n;
            }
        }
    }

    fn script(&mut self) -> Script {
        self.make_args();
        self.make_globals();
        let mut items = vec![];
        // Guru mode: embedded C at the top and in function bodies.
        let guru = self.chance(15);
        if guru {
            let c = self.pick(&[
                "\n#include <linux/sched.h>\n",
                "\nstatic int stp_gen_flag __maybe_unused;\n",
            ]);
            items.push(Item::Embedded(c.to_string()));
            for _ in 0..self.range(1, 2) {
                items.push(self.embedded_function());
            }
        }
        for _ in 0..self.range(0, 4) {
            items.push(self.function());
        }
        items.extend(self.probes());
        items.extend(self.epilogue());
        // Order does not matter to the language: globals, functions and watchpoints are all
        // declared before any body is read. Shuffle, keeping the global lines apart.
        let mut all: Vec<Item> = self.global_lines();
        for it in items {
            let at = self.range(0, all.len());
            all.insert(at, it);
        }
        Script {
            items: all,
            args: self.args.iter().map(|a| a.text.clone()).collect(),
            guru,
        }
    }

    fn make_args(&mut self) {
        for _ in 0..self.pick(&[0, 0, 1, 2, 3]) {
            let (text, number) = match self.below(4) {
                0 => (
                    format!(
                        "{:#x}",
                        0xffff_ffff_8200_0000u64 + 8 * self.below(64) as u64
                    ),
                    true,
                ),
                1 => (self.below(1000).to_string(), true),
                2 => (
                    self.pick(&["jiffies_64", "pid_max", "init_task"])
                        .to_string(),
                    false,
                ),
                _ => (
                    self.pick(&["hello", "a b", "*", "%d", "\"q\""]).to_string(),
                    false,
                ),
            };
            self.args.push(Arg { text, number });
        }
    }

    fn make_globals(&mut self) {
        for _ in 0..self.range(1, 8) {
            let name = self.fresh("g", &[]);
            let shape = if self.chance(45) {
                let keys = (0..self.pick(&[1, 1, 2, 3])).map(|_| self.ty()).collect();
                Shape::Array {
                    keys,
                    val: self.ty(),
                }
            } else {
                Shape::Scalar(self.ty())
            };
            let init = matches!(shape, Shape::Scalar(_)) && self.chance(40);
            self.globals.push(Global { name, shape, init });
        }
    }

    /// The `global` lines: every global once, in one to three lines.
    fn global_lines(&mut self) -> Vec<Item> {
        let mut lines: Vec<Vec<GlobalDecl>> = vec![vec![]; self.range(1, 3)];
        for i in 0..self.globals.len() {
            let g = &self.globals[i];
            let (name, shape, init) = (g.name.clone(), g.shape.clone(), g.init);
            let size = match shape {
                Shape::Array { .. } if self.chance(30) => Some(
                    self.pick(&["1", "5", "100", "0x40", "010", "1048576", "2048"])
                        .to_string(),
                ),
                _ => None,
            };
            let init = match (init, shape) {
                (true, Shape::Scalar(Ty::Long)) => Some(self.int_lit()),
                (true, Shape::Scalar(Ty::Str)) => Some(self.str_lit()),
                _ => None,
            };
            let line = self.below(lines.len());
            lines[line].push(GlobalDecl { name, size, init });
        }
        lines
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(Item::Globals)
            .collect()
    }

    /// Runs `f`, then forgets the facts it established: for preprocessor branches, one of
    /// which is dead.
    pub fn tentatively<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = self.facts.clone();
        let r = f(self);
        self.facts = saved;
        r
    }
}
