//! Pass 3: the elaborated program as C for one kernel module. `header` writes the fixed top
//! (includes, license, `.modinfo`); everything that follows the program (globals, frames,
//! functions, probe bodies, handlers, start and shutdown) is written here through `CWriter`. The
//! hand-written runtime (`runtime-c/`) is included, never inlined. The text goes out part by
//! part through `sink.rs`, to a String for pass 4 or straight to stdout for `-p3`.

mod body;
mod conds;
mod kprobes;
pub mod names;
mod regex;
pub mod sink;
mod stats;
mod trycatch;
mod watches;
pub mod writer;

use crate::diag::SourceMap;
use crate::ir::*;
use crate::syntax::ast::BinOp;
use body::{BodyGen, Temp};
use sink::{LINE_RESET, LineReset, Out};
use std::collections::BTreeSet;
use std::io;
use writer::{CWriter, c_comment, c_long, c_string, cline, copen};

pub struct Opts {
    pub module_name: String,
    pub script_name: String,
}

/// Which globals a probe or function reads and writes, transitively through calls.
#[derive(Default, Clone)]
struct Uses {
    /// Global -> written?, in the order of the globals.
    globals: Vec<(usize, bool)>,
    calls: Vec<usize>,
    /// Arrays of statistics `<<<` adds to (a wrap-around one needs the write lock).
    stat_adds: Vec<usize>,
    /// Scalar globals only added to, by statements of their own (`n++`, `n -= x`).
    adds: IdSet,
    /// Scalar globals whose value is read.
    reads: IdSet,
    /// Scalar globals written any other way (assigned, deleted, `x = n++`, `catch (n)`).
    sets: IdSet,
}

/// Global indices in order, in a sorted Vec: a body names a few globals, and B-tree nodes
/// cost several times as much to fill, merge and drop for so few.
#[derive(Default, Clone)]
struct IdSet(Vec<usize>);

impl IdSet {
    /// Adds `g`; whether it was new.
    fn insert(&mut self, g: usize) -> bool {
        match self.0.binary_search(&g) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, g);
                true
            }
        }
    }
    fn contains(&self, g: &usize) -> bool {
        self.0.binary_search(g).is_ok()
    }
    fn iter(&self) -> std::slice::Iter<'_, usize> {
        self.0.iter()
    }
}

impl Uses {
    /// Records that the body uses global `g`, written if `write`; whether that is news.
    fn mark(&mut self, g: usize, write: bool) -> bool {
        match self.globals.binary_search_by_key(&g, |&(g, _)| g) {
            Ok(i) => {
                let was = self.globals[i].1;
                self.globals[i].1 |= write;
                !was && write
            }
            Err(i) => {
                self.globals.insert(i, (g, write));
                true
            }
        }
    }

    /// `<<<` to a wrap-around array takes the write lock: adding a key may drop the oldest
    /// and reuse its per-CPU records, which no other CPU may be adding to then.
    fn wrap_writes(mut self, m: &Module) -> Self {
        for g in std::mem::take(&mut self.stat_adds) {
            let gl = m.globals.at(g);
            if gl.array.as_ref().is_some_and(|a| a.wrap) {
                self.mark(g, true);
            }
        }
        self
    }

    /// Adds what a callee uses; whether anything changed.
    fn absorb(&mut self, callee: &Uses) -> bool {
        let mut changed = false;
        for &(g, w) in &callee.globals {
            changed |= self.mark(g, w);
        }
        for (mine, theirs) in [
            (&mut self.adds, &callee.adds),
            (&mut self.reads, &callee.reads),
            (&mut self.sets, &callee.sets),
        ] {
            for &g in theirs.iter() {
                changed |= mine.insert(g);
            }
        }
        changed
    }
}

/// What the bodies of a module share: its counter globals, and the C names of its globals and
/// functions, made once (bodies name them at most of their lines).
pub(super) struct Shared {
    pub counters: BTreeSet<usize>,
    pub globals: Vec<String>,
    pub functions: Vec<String>,
    /// Whether each function is marked `pragma:near` (`BodyGen::call_check`): found once
    /// here, not by searching the function's embedded C after every call to it.
    pub near: Vec<bool>,
    /// The C names of the globals' locks: a body names each lock it takes on several lines
    /// (taking it, and releasing it on each way out).
    pub locks: Vec<String>,
    pub places: Places,
}

impl Shared {
    fn of(m: &Module, counters: BTreeSet<usize>) -> Shared {
        Shared {
            counters,
            globals: m
                .globals
                .iter()
                .map(|(_, g)| names::global(&g.name))
                .collect(),
            functions: m
                .functions
                .iter()
                .map(|(id, _)| names::function_in(m, id))
                .collect(),
            near: m
                .functions
                .iter()
                .map(|(_, f)| matches!(&f.body, Body::Embedded(c, _) if c.contains("pragma:near")))
                .collect(),
            locks: m
                .globals
                .iter()
                .map(|(_, g)| {
                    // Sized at once: grown from empty, each was two allocations.
                    let mut s = String::with_capacity("stp_lock_".len() + g.name.len());
                    writer::Piece::put(&names::global_lock(&g.name), &mut s);
                    s
                })
                .collect(),
            places: Default::default(),
        }
    }
}

/// An expression statement that only adds to a scalar global: the global, and the value
/// added when it is not a constant step (`n += x`, `n -= x`).
pub(super) fn counter_add(e: &Expr) -> Option<(Id<Global>, Option<&Expr>)> {
    match &e.kind {
        ExprKind::IncDec {
            target: LValue::Global(g),
            ..
        } => Some((*g, None)),
        ExprKind::Assign {
            op: Some(BinOp::Add | BinOp::Sub),
            target: LValue::Global(g),
            value,
        } => Some((*g, Some(value))),
        _ => None,
    }
}

/// Counter globals (`stp_counter.h`): long scalars that bodies only add to, each by a
/// statement of its own, and no probe both adds to and reads. Each CPU adds to its own
/// share, with no lock and no skipped run; a read sums the shares. No run can tell this from
/// a locked global: a run that adds never reads the value, and a read sees every add that
/// finished before it, as under the lock.
fn counters(m: &Module, fns: &[Uses], probes: &[Uses]) -> BTreeSet<usize> {
    let mut added = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    for u in fns.iter().chain(probes) {
        added.extend(u.adds.iter().copied());
        excluded.extend(u.sets.iter().copied());
    }
    for u in probes {
        excluded.extend(u.adds.iter().filter(|g| u.reads.contains(g)));
    }
    added
        .into_iter()
        .filter(|g| {
            let gl = m.globals.at(*g);
            !excluded.contains(g) && gl.array.is_none() && gl.stat.is_none() && gl.ty == Ty::Long
        })
        .collect()
}

/// Where pass 3 meets an `ExprKind::Invalid`: pass 2 puts one only where it reports an error,
/// and an error stops the run before pass 3.
fn invalid() -> ! {
    unreachable!(
        "an unresolved expression reached pass 3, but its error should have stopped the run"
    )
}

fn uses_of(m: &Module) -> (Vec<Uses>, Vec<Uses>) {
    fn lv(u: &mut Uses, l: &LValue, write: bool) {
        match l {
            LValue::Global(g) => {
                u.mark(g.index(), write);
                if write {
                    u.sets.insert(g.index());
                } else {
                    u.reads.insert(g.index());
                }
            }
            LValue::Array(g) => {
                u.mark(g.index(), write);
            }
            LValue::Index { array, keys } => {
                u.mark(array.index(), write);
                keys.iter().for_each(|k| expr(u, k));
            }
            LValue::Local(_) => {}
        }
    }
    fn expr(u: &mut Uses, e: &Expr) {
        match &e.kind {
            ExprKind::Long(_) | ExprKind::Str(_) | ExprKind::Wildcard => {}
            ExprKind::Invalid => invalid(),
            ExprKind::Var(l) => lv(u, l, false),
            ExprKind::Call { func, args } => {
                u.calls.push(func.index());
                args.iter().for_each(|a| expr(u, a));
            }
            ExprKind::Builtin { args, .. } => args.iter().for_each(|a| expr(u, a)),
            ExprKind::Unary { e, .. } | ExprKind::Regex { s: e, .. } => expr(u, e),
            ExprKind::Binary { l, r, .. } => {
                expr(u, l);
                expr(u, r)
            }
            ExprKind::Ternary { cond, then, els } => {
                expr(u, cond);
                expr(u, then);
                expr(u, els)
            }
            ExprKind::Assign { target, value, .. } => {
                lv(u, target, true);
                expr(u, value)
            }
            ExprKind::IncDec { target, .. } => {
                lv(u, target, false);
                lv(u, target, true)
            }
            ExprKind::In { array, keys } => {
                u.mark(array.index(), false);
                keys.iter().for_each(|k| expr(u, k));
            }
            // Merging a statistic's per-CPU records reads them under the read lock.
            ExprKind::StatGet {
                stat, bucket, keys, ..
            } => {
                u.mark(stat.index(), false);
                keys.iter().for_each(|k| expr(u, k));
                if let Some(b) = bucket {
                    expr(u, b)
                }
            }
        }
    }
    fn stmt(u: &mut Uses, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => match counter_add(e) {
                Some((g, value)) => {
                    u.mark(g.index(), true);
                    u.adds.insert(g.index());
                    if let Some(v) = value {
                        expr(u, v)
                    }
                }
                None => expr(u, e),
            },
            StmtKind::Return(Some(e)) => expr(u, e),
            StmtKind::Block(b) => b.stmts.iter().for_each(|s| stmt(u, s)),
            StmtKind::If { cond, then, els } => {
                expr(u, cond);
                stmt(u, then);
                if let Some(e) = els {
                    stmt(u, e)
                }
            }
            StmtKind::While { cond, body } => {
                expr(u, cond);
                stmt(u, body)
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                [init, cond, step]
                    .into_iter()
                    .flatten()
                    .for_each(|e| expr(u, e));
                stmt(u, body)
            }
            StmtKind::Foreach(fe) => {
                let crate::ir::Foreach {
                    array,
                    limit,
                    slice,
                    body,
                    ..
                } = &**fe;
                // Sorting writes the map's index array: iteration takes the write lock.
                u.mark(array.index(), true);
                if let Some(l) = limit {
                    expr(u, l)
                }
                slice.iter().flatten().for_each(|k| expr(u, k));
                stmt(u, body)
            }
            StmtKind::Delete(l) => lv(u, l, true),
            // `<<<` writes this CPU's own record: no lock at all for a scalar statistic, the
            // read lock for an array of them (it may add a key; stp_stat.h).
            StmtKind::StatAdd { stat, keys, value } => {
                if !keys.is_empty() {
                    u.mark(stat.index(), false);
                    u.stat_adds.push(stat.index());
                }
                keys.iter().for_each(|k| expr(u, k));
                expr(u, value)
            }
            StmtKind::PrintHist { stat, keys, .. } => {
                u.mark(stat.index(), false);
                keys.iter().for_each(|k| expr(u, k));
            }
            StmtKind::Enable { arg, .. } | StmtKind::Disable { arg, .. } => {
                if let Some(e) = arg {
                    expr(u, e)
                }
            }
            StmtKind::Try(t) => {
                let crate::ir::Try { body, var, catch } = &**t;
                body.stmts.iter().for_each(|s| stmt(u, s));
                if let Some((v, _)) = var {
                    lv(u, v, true);
                }
                catch.stmts.iter().for_each(|s| stmt(u, s));
            }
            StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Next
            | StmtKind::Return(None)
            | StmtKind::Empty => {}
        }
    }
    let mut fns: Vec<Uses> = m
        .functions
        .iter()
        .map(|(_, f)| {
            let mut u = Uses::default();
            if let Body::Script(b) = &f.body {
                b.stmts.iter().for_each(|s| stmt(&mut u, s));
            }
            u.wrap_writes(m)
        })
        .collect();
    // Close over calls until nothing changes (recursion included).
    loop {
        let mut changed = false;
        for i in 0..fns.len() {
            for k in 0..fns[i].calls.len() {
                let c = fns[i].calls[k];
                if c != i {
                    // The caller and its callee borrowed apart, rather than the callee cloned.
                    let (caller, callee) = if c < i {
                        let (lo, hi) = fns.split_at_mut(i);
                        (&mut hi[0], &lo[c])
                    } else {
                        let (lo, hi) = fns.split_at_mut(c);
                        (&mut lo[i], &hi[0])
                    };
                    changed |= caller.absorb(callee);
                }
            }
        }
        if !changed {
            break;
        }
    }
    let probes = m
        .probes
        .iter()
        .map(|(_, p)| {
            let mut u = Uses::default();
            if let Some(c) = &p.cond {
                expr(&mut u, c);
            }
            p.body.stmts.iter().for_each(|s| stmt(&mut u, s));
            let mut u = u.wrap_writes(m);
            for &c in &u.calls.clone() {
                u.absorb(&fns[c]);
            }
            u
        })
        .collect();
    (fns, probes)
}

fn c_type(t: Ty) -> &'static str {
    match t {
        Ty::Str => "char",
        _ => "int64_t",
    }
}

/// A variable of type `t` declared on a line of its own, after `prefix` (`static `).
fn member(w: &mut CWriter, prefix: &str, t: Ty, name: &dyn writer::Piece) {
    match t {
        Ty::Str => cline!(w; prefix, "char ", name, "[STP_MAXSTRINGLEN];"),
        _ => cline!(w; prefix, c_type(t), " ", name, ";"),
    }
}

fn frame_struct(out: &mut CWriter, name: &str, locals: &Arena<Local>, temps: &[Temp]) {
    copen!(out; "struct ", name);
    for (_, l) in locals.iter() {
        member(out, "", l.ty, &names::local(&l.name));
    }
    for t in temps {
        t.member(out);
    }
    out.line("char stp_pad;");
    out.close_semi();
}

/// Zeroes a frame's locals (which start as 0 and "") but not its temporaries, which are
/// always written before they are read: this runs at the start of every probe run, in NMI
/// context for hit handlers, and string temporaries make up most of a frame.
fn clear_locals(w: &mut CWriter, fname: &str, temps: &[Temp]) {
    match temps.first() {
        Some(first) => cline!(w; "memset(f, 0, offsetof(struct ", fname, ", ", first, "));"),
        None => w.line("memset(f, 0, sizeof(*f));"),
    }
}

fn signature(m: &Module, shared: &Shared, id: Id<Function>) -> String {
    let f = &m.functions[id];
    let mut o = String::with_capacity(96);
    o.push_str(if f.ret == Ty::Long {
        "static int64_t "
    } else {
        "static void "
    });
    o.push_str(&shared.functions[id.index()]);
    o.push_str("(struct stp_context *c");
    if f.ret == Ty::Str {
        o.push_str(", char *rv");
    }
    for &p in &f.params {
        let l = &f.locals[p];
        o.push_str(if l.ty == Ty::Str {
            ", const char *"
        } else {
            ", int64_t "
        });
        writer::Piece::put(&names::param(&l.name), &mut o);
    }
    o.push(')');
    o
}

/// A lock a body holds: the lock's name, and whether for writing.
struct Held<'a>(&'a str, bool);

impl Held<'_> {
    fn release(&self, w: &mut CWriter) {
        let unlock = if self.1 {
            "stp_write_unlock"
        } else {
            "stp_read_unlock"
        };
        cline!(w; unlock, "(&", self.0, ");");
    }
}

/// Takes the locks of the globals a body uses, in one order everywhere (counters need none),
/// leaving the run (counted as skipped) when one is busy. Returns the locks taken.
fn locks<'s>(shared: &'s Shared, u: &Uses, w: &mut CWriter) -> Vec<Held<'s>> {
    let mut taken: Vec<Held> = vec![];
    for &(g, write) in &u.globals {
        if shared.counters.contains(&g) {
            continue;
        }
        let lock = &shared.locks[g];
        let take = if write {
            "stp_write_trylock"
        } else {
            "stp_read_trylock"
        };
        copen!(w; "if (!", take, "(&", lock, "))");
        unlock(&taken, w);
        w.line("stp_count_skipped();");
        w.line("return;");
        w.close();
        taken.push(Held(lock, write));
    }
    taken
}

/// Module load: leaves it when global `name`'s allocation (`var`) failed, the kernel log
/// saying which array it was and how large (`stp_alloc_failed`).
fn alloc_check(w: &mut CWriter, var: &str, name: &str) {
    cline!(w; "if (stp_alloc_failed(", var, ", ", c_string(name), "))");
    w.line("\tgoto fail_maps;");
}

/// Releases the locks `locks` took, in reverse order.
fn unlock(taken: &[Held], w: &mut CWriter) {
    for h in taken.iter().rev() {
        h.release(w);
    }
}

/// Pass 3 as one String: the C pass 4 builds.
pub fn emit(m: &Module, sm: &SourceMap, opts: &Opts) -> String {
    let mut c = String::new();
    // Writing to a String cannot fail.
    let _ = emit_to(m, sm, opts, &mut c);
    c
}

/// Pass 3, written to `out` part by part (`-p3` prints it as it goes). The bodies are written
/// first, since the frames and prototypes they need come before them in the file; then each
/// part goes out in file order, so the C never exists whole in memory, let alone twice.
pub fn emit_to(m: &Module, sm: &SourceMap, opts: &Opts, out: &mut dyn Out) -> io::Result<()> {
    emit_spilling(m, sm, opts, out, SPILL_BYTES)
}

/// `emit_to`, with each part that waits moved to a temporary file past `limit` bytes.
fn emit_spilling(
    m: &Module,
    sm: &SourceMap,
    opts: &Opts,
    out: &mut dyn Out,
    limit: usize,
) -> io::Result<()> {
    let (fn_uses, probe_uses) = uses_of(m);
    let shared = Shared::of(m, counters(m, &fn_uses, &probe_uses));
    let otf = conds::analyze(m);
    let mut g = Parts::new(limit);
    function_bodies(m, sm, &shared, &mut g);
    probe_bodies(m, sm, &shared, &probe_uses, &otf, &mut g);
    conds::emit(
        m,
        sm,
        &shared,
        &otf,
        &mut g.frames,
        &mut g.unions,
        &mut g.bodies,
    );
    drop(g.scratch);

    let mut out = LineReset::new(out, &format!("{}.c", opts.module_name));
    // The parts written here between the bodies' go out through one buffer, emptied at each.
    let mut w = CWriter::after(header(m, &otf, opts));
    globals(m, &shared, &mut w, &mut out)?;
    w.line("/* Frames: the locals and temporaries of each body, per nesting level. */");
    send_plain(&mut w, &mut out)?;
    g.frames.send(&mut out)?;
    w.open("union stp_frame");
    send_plain(&mut w, &mut out)?;
    g.unions.send(&mut out)?;
    w.line("char stp_none;");
    w.close_semi();
    w.line("");
    send_plain(&mut w, &mut out)?;
    g.protos.send(&mut out)?;
    w.line("");
    watches::table(m, &mut w);
    kprobes::table(m, &mut w);
    regex::tables(m, &mut w);
    // The one part written here with embedded C.
    embedded(m, sm, &mut w);
    send(&mut w, &mut out)?;
    g.bodies.send(&mut out)?;
    watches::handlers(m, sm, &mut w);
    kprobes::handlers(m, sm, &mut w);
    send_plain(&mut w, &mut out)?;
    let t = Triggers::of(m);
    timer_handlers(m, sm, &t, &mut w);
    send_plain(&mut w, &mut out)?;
    start(m, sm, &t, &mut w);
    send_plain(&mut w, &mut out)?;
    shutdown(m, sm, &t, &mut w);
    send_plain(&mut w, &mut out)?;
    init_and_exit(m, &shared, &otf, &mut w);
    w.line("module_init(stp_init);");
    w.line("module_exit(stp_exit);");
    send_plain(&mut w, &mut out)?;
    out.finish()
}

/// How much of the text written between the parts waits in memory before it goes out.
const SEND_AT: usize = 64 << 10;

/// What `w` holds, out; `w` goes on empty.
fn send(w: &mut CWriter, out: &mut LineReset<dyn Out + '_>) -> io::Result<()> {
    out.put(w.text())?;
    w.clear();
    Ok(())
}

/// `send` of text pass 3 wrote itself, with no embedded C (so no `#line` placeholder and no
/// `\r`): its lines are counted, not searched.
fn send_plain(w: &mut CWriter, out: &mut LineReset<dyn Out + '_>) -> io::Result<()> {
    out.put_plain(w.text())?;
    w.clear();
    Ok(())
}

/// What the bodies of functions, probes and conditions add to the module, written before
/// the parts that declare their frames and prototypes.
struct Parts {
    frames: Waiting,
    /// The members of `union stp_frame`, one line each.
    unions: Waiting,
    protos: Waiting,
    bodies: Waiting,
    /// The buffer each body is written into before it joins `bodies` (reused, not regrown).
    scratch: body::Buffers,
}

impl Parts {
    fn new(limit: usize) -> Parts {
        Parts {
            frames: Waiting::new(limit, 0),
            unions: Waiting::new(limit, 1),
            protos: Waiting::new(limit, 0),
            bodies: Waiting::new(limit, 0),
            scratch: body::Buffers::default(),
        }
    }

    /// Before each body: each part that has grown past the limit moves to its file.
    fn settle(&mut self) {
        for part in [
            &mut self.frames,
            &mut self.unions,
            &mut self.protos,
            &mut self.bodies,
        ] {
            part.settle();
        }
    }
}

/// Text held in memory, per part, before it moves to a temporary file: the C of a generated
/// 100,000-line script has 30 MB of handlers and 7 MB of frames and prototypes, which wait
/// for what is written before them in the file, beside the whole IR. At 1 MiB a part's
/// chunks hold at most 1 MiB and one body; a 3,200-line script's parts stay in memory.
const SPILL_BYTES: usize = 1 << 20;

/// A part's text is held in chunks (`Waiting`): past the first, each is a new buffer with
/// this much room, moved aside once it holds `CHUNK_FULL` bytes, rather than one buffer that
/// doubles, so that what was written is never copied again (growing a part to a megabyte
/// copied it twice over, each step past 128 KiB into fresh pages mapped apart from the heap).
/// Under glibc's 128 KiB mmap threshold, a chunk comes from the heap the driver maps in
/// ahead, where a 1 MiB reservation did not.
const CHUNK: usize = 80 << 10;
/// At least the 64 KiB buffer `-p3` writes stdout through, so that a whole chunk goes
/// straight out rather than copied into it; a third of a chunk is left for the body that
/// goes on in it.
const CHUNK_FULL: usize = 64 << 10;

/// A part's text that waits for its place in the file: written into `w` (which it derefs
/// to), kept in chunks (`full`) as it grows, moved to a temporary file each time `settle`
/// finds it past `limit` bytes, and `send` out, the file's text first. Without a file (none
/// could be made or written), the text stays in memory.
struct Waiting {
    w: CWriter,
    /// The text before `w`'s, in memory, in order.
    full: Vec<String>,
    /// How many bytes `full` holds.
    held: usize,
    /// Where embedded C stands in the text in memory (offsets into `full` and `w` as one
    /// text, each range whole lines): only there can a `#line` placeholder or a `\r` be,
    /// so only these ranges go out by `put`; the rest, all pass 3's own, by `put_plain`,
    /// which only counts lines.
    foreign: Vec<(usize, usize)>,
    limit: usize,
    file: Option<std::fs::File>,
    /// How much of the file holds whole writes.
    len: u64,
    /// Whether embedded C went to the file (then the file's text goes out by `put`).
    file_foreign: bool,
    failed: bool,
}

impl std::ops::Deref for Waiting {
    type Target = CWriter;
    fn deref(&self) -> &CWriter {
        &self.w
    }
}

impl std::ops::DerefMut for Waiting {
    fn deref_mut(&mut self) -> &mut CWriter {
        &mut self.w
    }
}

impl Waiting {
    fn new(limit: usize, indent: usize) -> Waiting {
        // Grown from empty, not reserved: a reservation of 1 MiB is mapped apart from the
        // heap the driver maps in ahead, and its every page was then a page fault (358
        // against 152 on a 3,200-line script). A small script's parts stay in this buffer.
        Waiting {
            w: CWriter::new(indent),
            full: vec![],
            held: 0,
            foreign: vec![],
            limit,
            file: None,
            len: 0,
            file_foreign: false,
            failed: false,
        }
    }

    /// Embedded C (and the lines around it that must go out by `put`: a `#line` placeholder
    /// after it), written by `write` at the start of a line.
    fn embedded(&mut self, write: impl FnOnce(&mut CWriter)) {
        let start = self.held + self.w.text().len();
        write(&mut self.w);
        let end = self.held + self.w.text().len();
        if end > start {
            self.foreign.push((start, end));
        }
    }

    /// Before each body: past the limit, the text moves to the file; past a chunk's worth,
    /// `w` goes on in a new chunk.
    fn settle(&mut self) {
        if !self.failed && self.held + self.w.text().len() >= self.limit.max(1) {
            self.spill();
        } else if self.w.text().len() >= CHUNK_FULL {
            let text = self.w.take_text(CHUNK);
            self.held += text.len();
            self.full.push(text);
        }
    }

    /// The text in memory to the end of the file, as far as it can be written.
    fn spill(&mut self) {
        use std::io::Write;
        if self.file.is_none() {
            self.file = tempfile::tempfile().ok();
        }
        let Some(f) = self.file.as_mut() else {
            self.failed = true;
            return;
        };
        let mut moved = 0;
        let mut chunks = 0;
        for text in self.full.iter().map(String::as_str).chain([self.w.text()]) {
            if f.write_all(text.as_bytes()).is_err() {
                // The rest stays in memory; only the file's first `len` bytes are read back.
                self.failed = true;
                break;
            }
            self.len += text.len() as u64;
            moved += text.len();
            chunks += 1;
        }
        if chunks > self.full.len() {
            self.full.clear();
            self.w.clear();
        } else {
            self.full.drain(..chunks);
        }
        self.held -= moved.min(self.held);
        // Ranges are within a chunk (each is written inside one body): each one wholly
        // moved or wholly kept.
        let kept = self.foreign.iter().position(|r| r.0 >= moved);
        let gone = kept.unwrap_or(self.foreign.len());
        self.file_foreign |= gone > 0;
        self.foreign.drain(..gone);
        for r in &mut self.foreign {
            *r = (r.0 - moved, r.1 - moved);
        }
    }

    /// The whole part into `out`: the file's text, a run of whole lines at a time (a line is
    /// never cut, so neither is a character), then what is still in memory.
    fn send(self, out: &mut LineReset<dyn Out + '_>) -> io::Result<()> {
        if let Some(f) = self.file {
            Self::put_back(f, self.len, !self.file_foreign, out)?;
        }
        let mut base = 0;
        let mut ranges = self.foreign.iter().peekable();
        for text in self.full.iter().map(String::as_str).chain([self.w.text()]) {
            let end = base + text.len();
            let mut at = 0;
            while let Some(&&(s, e)) = ranges.peek() {
                if e > end {
                    break;
                }
                out.put_plain(&text[at..s - base])?;
                out.put(&text[s - base..e - base])?;
                at = e - base;
                ranges.next();
            }
            out.put_plain(&text[at..])?;
            base = end;
        }
        Ok(())
    }

    fn put_to(out: &mut LineReset<dyn Out + '_>, plain: bool, text: &str) -> io::Result<()> {
        if plain {
            out.put_plain(text)
        } else {
            out.put(text)
        }
    }

    fn put_back(
        mut f: std::fs::File,
        len: u64,
        plain: bool,
        out: &mut LineReset<dyn Out + '_>,
    ) -> io::Result<()> {
        use std::io::{BufRead, Read, Seek};
        f.seek(io::SeekFrom::Start(0))?;
        let mut r = io::BufReader::with_capacity(256 << 10, f.take(len));
        loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match memchr::memrchr(b'\n', buf) {
                Some(i) => {
                    let n = i + 1;
                    let text = std::str::from_utf8(&buf[..n]).map_err(io::Error::other)?;
                    Self::put_to(out, plain, text)?;
                    r.consume(n);
                }
                None => {
                    // One line longer than the buffer.
                    let mut line = vec![];
                    r.read_until(b'\n', &mut line)?;
                    let text = std::str::from_utf8(&line).map_err(io::Error::other)?;
                    Self::put_to(out, plain, text)?;
                }
            }
        }
    }
}

/// Script and tapset functions: one C function each, with its frame.
fn function_bodies(m: &Module, sm: &SourceMap, shared: &Shared, g: &mut Parts) {
    for (id, f) in m.functions.iter() {
        g.settle();
        let Parts {
            frames,
            unions,
            protos,
            bodies,
            scratch,
        } = &mut *g;
        let sig = signature(m, shared, id);
        cline!(protos; sig, ";");
        match &f.body {
            Body::Script(b) => {
                let mut g = BodyGen::new(m, sm, shared, &f.locals, Some(id));
                g.borrow_buffers(scratch);
                g.block(b);
                let fname = names::frame("f", id.index());
                frame_struct(frames, &fname, &f.locals, &g.temps);
                cline!(unions; "struct ", fname, " f", id.index(), ";");
                cline!(bodies; "/* ", CommentWhere(&shared.places, sm, f.span), " */");
                bodies.open(&sig);
                cline!(bodies; "struct ", fname, " *f;");
                match f.ret {
                    Ty::Long => bodies.line("int64_t rv = 0;"),
                    Ty::Str => bodies.line("rv[0] = '\\0';"),
                    _ => {}
                }
                bodies.open("if (unlikely(c->nesting >= STP_MAXNESTING))");
                cline!(bodies; "stp_error(c, \"MAXNESTING exceeded calling %s\", ", c_string(&f.name), ");");
                bodies.line(if f.ret == Ty::Long {
                    "return 0;"
                } else {
                    "return;"
                });
                bodies.close();
                bodies.line("c->nesting++;");
                bodies.line("f = stp_frame(c);");
                clear_locals(bodies, &fname, &g.temps);
                for &p in &f.params {
                    let l = &f.locals[p];
                    if l.ty == Ty::Str {
                        cline!(bodies; "stp_strcpy(f->", names::local(&l.name), ", ", names::param(&l.name), ");");
                    } else {
                        cline!(bodies; "f->", names::local(&l.name), " = ", names::param(&l.name), ";");
                    }
                }
                bodies.raw(g.w.text());
                g.return_buffers(scratch);
                bodies.line("goto stp_out;");
                bodies.label("stp_out");
                bodies.line("c->nesting--;");
                if f.ret == Ty::Long {
                    bodies.line("return rv;");
                }
                bodies.close();
                bodies.line("");
            }
            Body::Embedded(code, span) => {
                let user = f.origin == FnOrigin::Script;
                if user {
                    bodies.raw(USER_C_OPEN);
                }
                cline!(bodies; "/* ", CommentWhere(&shared.places, sm, *span), " */");
                bodies.open(&sig);
                if f.ret == Ty::Long {
                    bodies.line("int64_t rv = 0;");
                } else if f.ret == Ty::Str {
                    bodies.line("rv[0] = '\\0';");
                }
                for &p in &f.params {
                    let n = &f.locals[p].name;
                    cline!(bodies; "#define ", names::stap_arg(n), " ", names::param(n));
                }
                let this = code.contains("THIS->");
                if this {
                    old_this(f, bodies);
                }
                if f.ret == Ty::Str {
                    bodies.line("#define STAP_RETURN(v) do { stp_strcpy(rv, (v)); goto stp_out; } while (0)");
                } else {
                    bodies.line("#define STAP_RETURN(v) do { STAP_RETVALUE = (v); goto stp_out; } while (0)");
                }
                bodies.open("");
                // The C is the script's or tapset's own text; #line maps build errors back.
                let line = first_code_line(sm, *span, code);
                bodies.embedded(|w| {
                    w.raw(&format!("#line {line} {}\n", c_string(sm.name(span.file))));
                    w.raw(code.trim_matches('\n'));
                    w.raw("\n");
                    w.raw(LINE_RESET);
                });
                bodies.close();
                bodies.line("goto stp_out;");
                bodies.label("stp_out");
                if this && f.ret == Ty::Long && code.contains("__retvalue") {
                    bodies.line("if (stp_this.__retvalue)");
                    bodies.line("\trv = stp_this.__retvalue;");
                }
                if this {
                    bodies.line("#undef THIS");
                }
                for &p in &f.params {
                    cline!(bodies; "#undef ", names::stap_arg(&f.locals[p].name));
                }
                bodies.line("#undef STAP_RETURN");
                if f.ret == Ty::Long {
                    bodies.line("return rv;");
                }
                bodies.close();
                if user {
                    bodies.raw(USER_C_CLOSE);
                }
                bodies.line("");
            }
        }
    }
}

/// Probe bodies (`stp_probe_N`): take the locks the body needs, bind a watchpoint's
/// parameter, run the statements, and kick on-the-fly conditions the body may have changed.
fn probe_bodies(
    m: &Module,
    sm: &SourceMap,
    shared: &Shared,
    probe_uses: &[Uses],
    otf: &conds::OnTheFly,
    g: &mut Parts,
) {
    for (id, p) in m.probes.iter() {
        g.settle();
        let Parts {
            frames,
            unions,
            protos,
            bodies,
            scratch,
        } = &mut *g;
        let mut bg = BodyGen::new(m, sm, shared, &p.locals, None);
        bg.borrow_buffers(scratch);
        if let Some(c) = &p.cond {
            let v = bg.cond(c);
            cline!(bg.w; "if (!(", v, "))");
            bg.w.line("\tgoto stp_out;");
        }
        bg.prepaid = true;
        bg.block(&p.body);
        let fname = names::frame("p", id.index());
        frame_struct(frames, &fname, &p.locals, &bg.temps);
        cline!(unions; "struct ", fname, " p", id.index(), ";");
        let pts: Vec<&str> = p.points.iter().map(|pt| pt.text.as_str()).collect();
        cline!(bodies; "/* probe ", c_comment(&pts.join(", ")), " at ", CommentWhere(&shared.places, sm, p.span), " */");
        cline!(protos; "static void __maybe_unused ", names::probe(id.index()), "(struct stp_context *c);");
        copen!(bodies; "static void ", names::probe(id.index()), "(struct stp_context *c)");
        cline!(bodies; "struct ", fname, " *f __maybe_unused = stp_frame(c);");
        bodies.line("");
        let release = locks(shared, &probe_uses[id.index()], bodies);
        if !p.locals.is_empty() {
            clear_locals(bodies, &fname, &bg.temps);
        }
        if let Some(l) = p.param {
            cline!(bodies; "f->", names::local(&p.locals[l].name), " = (int64_t)c->watch->addr;");
        }
        // A hit that waited for the locks while the probe holding them disabled its
        // watchpoint is not reported: no hit is, from the moment `disable` runs.
        let hits = p
            .points
            .iter()
            .any(|pt| matches!(pt.kind, PointKind::Data(_) | PointKind::Change(_)));
        if hits && !release.is_empty() {
            bodies.line("if (unlikely(stp_hit_disabled(c)))");
            bodies.line("\tgoto stp_out;");
        }
        bodies.raw(bg.w.text());
        bg.return_buffers(scratch);
        bodies.line("goto stp_out;");
        bodies.label("stp_out");
        unlock(&release, bodies);
        if conds::kicks(otf, &probe_uses[id.index()]) {
            bodies.line("stp_cond_kick();");
        }
        bodies.close();
        bodies.line("");
    }
}

/// The fixed top of the file (includes, license, `.modinfo` for the loader). Written directly
/// rather than from a template: parsing a Tera template was half of the instructions of `-p3`
/// on a one-probe script.
fn header(m: &Module, otf: &conds::OnTheFly, opts: &Opts) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = write!(
        out,
        "/* Generated by stp-hwbp from {}. Do not edit: edit the script and translate again.\n\
         \x20* Contexts: hit handlers run in NMI context, timer probes in hard-IRQ context, begin and end\n\
         \x20* probes in process context; see runtime-c/ for what each runtime function may do. */\n",
        c_comment(&opts.script_name)
    );
    for d in regex::defines(m)
        .iter()
        .chain(watches::defines(m, otf).iter())
    {
        let _ = writeln!(out, "#define {d}");
    }
    let _ = write!(
        out,
        "#include \"stp_runtime.h\"\n#include \"stp_lang.h\"\n\nMODULE_LICENSE(\"GPL\");\n\
         MODULE_DESCRIPTION({});\n",
        c_string(&format!("stp-hwbp script {}", opts.script_name))
    );
    for (id, w) in m.watches.iter() {
        if let WatchAddr::Symbol { name, .. } = &w.addr {
            let sym = c_string(&format!("{}:{name}", id.index()));
            let _ = writeln!(out, "MODULE_INFO(stphwbp_sym, {sym});");
        }
    }
    // By hand, the literal escaped from its parts: a line per scalar global, where a
    // `format!`, a `c_string` and a `writeln!` each cost more than the line's text.
    for (_, g) in m.globals.iter().filter(|(_, g)| g.array.is_none()) {
        let ty = if g.ty == Ty::Str { "string" } else { "long" };
        out.push_str("MODULE_INFO(stphwbp_global, ");
        writer::push_c_string_of(&mut out, &[&g.name, ":", ty]);
        out.push_str(");\n");
    }
    out.push_str("module_param(stp_target, long, 0400);\n");
    // The time-zone parameters, only in modules that read them (the loader passes them when
    // the module declares them).
    let tz = m
        .functions
        .iter()
        .any(|(_, f)| matches!(&f.body, Body::Embedded(c, _) if c.contains("pragma:tz")));
    if tz {
        out.push_str(
            "/* The loader's time zone, for tz_ctime(), tz_gmtoff(), tz_name(). */\n\
             module_param(stp_tz_gmtoff, long, 0400);\n\
             module_param_string(stp_tz_name, stp_tz_name, sizeof(stp_tz_name), 0400);\n",
        );
    }
    out.push_str(
        "\n/* One statement: leave the body on an earlier error, count it against MAXACTION. */\n\
         #define STP_STMT() do { if (unlikely(c->last_error || stp_count_actions(c, 1))) goto stp_out; } while (0)\n\n",
    );
    out
}

/// Globals, each with its lock and, for scalars, the load-time parameter that sets it.
/// Sent out every `SEND_AT` bytes: the declarations of a large script's globals are
/// megabytes, which would otherwise wait whole in `w`.
fn globals(
    m: &Module,
    shared: &Shared,
    w: &mut CWriter,
    out: &mut LineReset<dyn Out + '_>,
) -> io::Result<()> {
    let counters = &shared.counters;
    if !m.globals.is_empty() {
        w.line("/* Globals, each with its lock. */");
    }
    for (id, g) in m.globals.iter() {
        if w.text().len() >= SEND_AT {
            send_plain(w, out)?;
        }
        let n = &shared.globals[id.index()];
        if counters.contains(&id.index()) {
            cline!(w; "/* ", c_comment(&g.name), ": a counter (stp_counter.h), this value plus every CPU's share. */");
            cline!(w; "static DEFINE_PER_CPU(int64_t, ", names::counter(&g.name), ");");
        }
        match (&g.array, &g.stat) {
            (Some(_), Some(_)) => {
                cline!(w; "static struct stp_map *", n, ";");
                stats::decl(g, w);
            }
            (Some(_), None) => cline!(w; "static struct stp_map *", n, ";"),
            (None, Some(_)) => cline!(w; "static struct stp_stat *", n, ";"),
            (None, None) => member(w, "static ", g.ty, &n),
        }
        cline!(w; "static stp_rwlock_t __maybe_unused ", names::global_lock(&g.name), " = STP_RWLOCK_INIT;");
        if g.array.is_none() && g.stat.is_none() {
            let p = names::global_param(&g.name);
            if g.ty == Ty::Str {
                cline!(w; "static char *", p, ";");
                cline!(w; "module_param(", p, ", charp, 0400);");
            } else {
                let init = match g.init {
                    Some(Const::Long(v)) => c_long(v),
                    _ => "0".into(),
                };
                cline!(w; "static long ", p, " = ", init, ";");
                cline!(w; "module_param(", p, ", long, 0400);");
            }
        }
    }
    w.line("");
    Ok(())
}

/// Top-level `%{ %}` blocks, with `#line` pointing at the script.
fn embedded(m: &Module, sm: &SourceMap, w: &mut CWriter) {
    if !m.embedded.is_empty() {
        w.raw(USER_C_OPEN);
    }
    for (c, sp) in &m.embedded {
        let line = first_code_line(sm, *sp, c);
        w.raw(&format!(
            "#line {line} {}\n{}\n",
            c_string(sm.name(sp.file)),
            c.trim_matches('\n')
        ));
    }
    if !m.embedded.is_empty() {
        // Back to the generated file's own numbering for compiler messages.
        w.raw(LINE_RESET);
        w.raw(USER_C_CLOSE);
    }
}

/// Around a script's own embedded C: SystemTap builds modules with `-Wno-unused`, and scripts
/// written for it leave variables and helpers unused; our own C keeps every warning an error.
const USER_C_OPEN: &str = "#pragma GCC diagnostic push\n\
#pragma GCC diagnostic ignored \"-Wunused-variable\"\n\
#pragma GCC diagnostic ignored \"-Wunused-but-set-variable\"\n\
#pragma GCC diagnostic ignored \"-Wunused-function\"\n\
#pragma GCC diagnostic ignored \"-Wunused-label\"\n";
const USER_C_CLOSE: &str = "#pragma GCC diagnostic pop\n";

/// SystemTap's old embedded-C convention, which scripts still use: `THIS->name` for a
/// parameter and `THIS->__retvalue` for the result. A local struct holds copies of the
/// parameters and, for a string result, points at the result buffer.
fn old_this(f: &Function, w: &mut CWriter) {
    w.open("struct");
    for &p in &f.params {
        let l = &f.locals[p];
        match l.ty {
            Ty::Str => cline!(w; "const char *", l.name.as_str(), ";"),
            _ => cline!(w; "int64_t ", l.name.as_str(), ";"),
        }
    }
    match f.ret {
        Ty::Str => w.line("char *__retvalue;"),
        Ty::Long => w.line("int64_t __retvalue;"),
        _ => {}
    }
    let mut init: Vec<String> = f
        .params
        .iter()
        .map(|&p| {
            let n = &f.locals[p].name;
            format!(".{n} = {}", names::param(n))
        })
        .collect();
    if f.ret == Ty::Str {
        init.push(".__retvalue = rv".into());
    }
    w.close_with(format!(" stp_this = {{ {} }};", init.join(", ")));
    w.line("#define THIS (&stp_this)");
}

/// The probes that run on a timer, at start and at end, with the point of each.
struct Triggers {
    /// (probe, point, C expression of the period in ns)
    timers: Vec<(Id<Probe>, usize, String)>,
    /// (sequence, probe, point, ends the session: `oneshot`), in run order.
    begins: Vec<(i64, Id<Probe>, usize, bool)>,
    /// (sequence, probe, point), in run order.
    ends: Vec<(i64, Id<Probe>, usize)>,
    errors: Vec<(i64, Id<Probe>, usize)>,
}

impl Triggers {
    fn of(m: &Module) -> Triggers {
        let mut timers = vec![];
        let mut begins = vec![];
        let mut ends = vec![];
        let mut errors = vec![];
        for (pid, p) in m.probes.iter() {
            for (i, pt) in p.points.iter().enumerate() {
                match &pt.kind {
                    // Through the runtime's clamp: N * TICK_NSEC must not wrap to a tiny period.
                    PointKind::Timer(ns) => timers.push((pid, i, timer_period(*ns, "1"))),
                    PointKind::Jiffies(n) => timers.push((pid, i, timer_period(*n, "TICK_NSEC"))),
                    PointKind::Begin(s) => begins.push((*s, pid, i, false)),
                    PointKind::Oneshot => begins.push((0, pid, i, true)),
                    PointKind::End(s) => ends.push((*s, pid, i)),
                    PointKind::Error(s) => errors.push((*s, pid, i)),
                    PointKind::Never
                    | PointKind::Kprobe(_)
                    | PointKind::Data(_)
                    | PointKind::Change(_)
                    | PointKind::WatchSub(..) => {}
                }
            }
        }
        begins.sort_by_key(|b| b.0);
        ends.sort_by_key(|e| e.0);
        errors.sort_by_key(|e| e.0);
        Triggers {
            timers,
            begins,
            ends,
            errors,
        }
    }
}

/// One hrtimer callback per timer probe. The timers are started in a `_HARD` mode, so the
/// callback runs in hard-IRQ context on every kernel: PREEMPT_RT moves hrtimers of the plain
/// modes to softirq threads, where a probe run could be preempted half-way; hard IRQ keeps the
/// same rules (raw locks, no sleeping) as the NMI-like hit handlers share.
fn timer_handlers(m: &Module, sm: &SourceMap, t: &Triggers, w: &mut CWriter) {
    let pp_where = |pid: Id<Probe>, pt: usize| watches::pp_where(m, sm, pid, pt);
    let timers = &t.timers;
    for (n, (pid, i, period)) in timers.iter().enumerate() {
        let (pp, wh) = pp_where(*pid, *i);
        cline!(w; "static struct hrtimer stp_timer_", n, ";");
        w.line(
            "/* Hard-IRQ context on every kernel, PREEMPT_RT included (HRTIMER_MODE_REL_HARD). */",
        );
        copen!(w; "static enum hrtimer_restart stp_timer_fn_", n, "(struct hrtimer *t)");
        cline!(w; "stp_run_probe(", names::probe(pid.index()), ", ", pp, ", ", wh, ");");
        w.line("if (!stp_session_running())");
        w.line("\treturn HRTIMER_NORESTART;");
        cline!(w; "hrtimer_forward_now(t, ns_to_ktime(", period, "));");
        w.line("return HRTIMER_RESTART;");
        w.close();
        w.line("");
    }
    if !timers.is_empty() {
        w.line("static bool stp_timers_started;");
        w.line("");
    }
}

/// `stp_start`: the start callback.
fn start(m: &Module, sm: &SourceMap, t: &Triggers, w: &mut CWriter) {
    let pp_where = |pid: Id<Probe>, pt: usize| watches::pp_where(m, sm, pid, pt);
    let (timers, begins) = (&t.timers, &t.begins);
    w.line("/* Process context, on the session workqueue: the first reader has attached. Start-up");
    w.line(" * watches are armed already (at load): their .begin/.unavailable run first, then the");
    w.line(" * begin probes, then the enable/disable requests those made; hits count from RUNNING on. */");
    w.open("static void stp_start(void)");
    if !m.watches.is_empty() {
        w.line("stp_arbiter_start();");
    }
    for (_, pid, i, oneshot) in begins {
        // As SystemTap: once exit() or too many errors ended the start, later begin probes
        // do not run.
        let (pp, wh) = pp_where(*pid, *i);
        let probe = names::probe(pid.index());
        if *oneshot {
            w.open("if (stp_session_get_state() == STP_STARTING)");
            cline!(w; "stp_run_in_process(", probe, ", ", pp, ", ", wh, ");");
            w.line("stp_request_exit(); /* oneshot: the session ends after it */");
            w.close();
        } else {
            w.line("if (stp_session_get_state() == STP_STARTING)");
            cline!(w; "\tstp_run_in_process(", probe, ", ", pp, ", ", wh, ");");
        }
    }
    if !m.watches.is_empty() {
        w.line("stp_arbiter_drain();");
    }
    for n in 0..timers.len() {
        cline!(w; "hrtimer_init(&stp_timer_", n, ", CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);");
        cline!(w; "stp_timer_", n, ".function = stp_timer_fn_", n, ";");
    }
    if !timers.is_empty() {
        w.line("stp_timers_started = true;");
    }
    w.line("if (!stp_session_set_running())");
    w.line("\treturn;");
    for (n, (_, _, period)) in timers.iter().enumerate() {
        cline!(w; "hrtimer_start(&stp_timer_", n, ", ns_to_ktime(", period, "), HRTIMER_MODE_REL_HARD);");
    }
    w.close();
    w.line("");
}

/// `stp_shutdown`: the session's end, once.
fn shutdown(m: &Module, sm: &SourceMap, t: &Triggers, w: &mut CWriter) {
    let pp_where = |pid: Id<Probe>, pt: usize| watches::pp_where(m, sm, pid, pt);
    let (timers, ends, errors) = (&t.timers, &t.ends, &t.errors);
    w.line(
        "/* Process context, once, on the session workqueue: stop timers, drop waiting watches,",
    );
    w.line(" * disarm the armed ones (their .end run), then run end probes. */");
    w.open("static void stp_shutdown(struct work_struct *work)");
    if !timers.is_empty() {
        w.open("if (stp_timers_started)");
        for n in 0..timers.len() {
            cline!(w; "hrtimer_cancel(&stp_timer_", n, ");");
        }
        w.close();
    }
    kprobes::shutdown(m, w);
    if !m.watches.is_empty() {
        w.line("stp_arbiter_shutdown();");
    }
    w.line("if (!stp_session_was_started())");
    w.line("\treturn;");
    // As SystemTap: when errors end the session (an error in an end probe too), the rest of
    // the end probes are skipped and the error probes run.
    for (_, pid, i) in ends {
        let (pp, wh) = pp_where(*pid, *i);
        w.line("if (!stp_session_has_errored())");
        cline!(w; "\tstp_run_in_process(", names::probe(pid.index()), ", ", pp, ", ", wh, ");");
    }
    for (_, pid, i) in errors {
        let (pp, wh) = pp_where(*pid, *i);
        w.line("if (stp_session_has_errored())");
        cline!(w; "\tstp_run_in_process(", names::probe(pid.index()), ", ", pp, ", ", wh, ");");
    }
    w.close();
    w.line("");
}

/// Module init (maps, globals, runtime, arming) and exit.
fn init_and_exit(m: &Module, shared: &Shared, otf: &conds::OnTheFly, w: &mut CWriter) {
    let arrays: Vec<(Id<Global>, &Global)> = m
        .globals
        .iter()
        .filter(|(_, g)| g.array.is_some())
        .collect();
    w.open("static void stp_free_maps(void)");
    for (id, _) in &arrays {
        let n = &shared.globals[id.index()];
        cline!(w; "stp_map_free(", n, ");");
        cline!(w; n, " = NULL;");
    }
    for (_, g) in m.globals.iter() {
        if g.stat.is_some() {
            stats::free(g, w);
        }
    }
    w.close();
    w.line("");
    w.line("/* Process context (module load). */");
    w.open("static int __init stp_init(void)");
    w.line("int rc = -ENOMEM;");
    w.line("");
    for (id, g) in m.globals.iter() {
        let n = &shared.globals[id.index()];
        if let (Some(st), None) = (&g.stat, &g.array) {
            stats::init(g, st, w);
            continue;
        }
        match &g.array {
            Some(a) => {
                let keys: String = a
                    .keys
                    .iter()
                    .map(|k| if *k == Ty::Str { 's' } else { 'l' })
                    .collect();
                let val = if g.ty == Ty::Str { 's' } else { 'l' };
                let max = a.max.map(|x| x.to_string()).unwrap_or_else(|| "0".into());
                cline!(w; n, " = stp_map_new(", c_string(&keys), ", '", val, "', ", max, ");");
                alloc_check(w, n, &g.name);
                if let Some(st) = &g.stat {
                    stats::init(g, st, w);
                }
                if a.wrap {
                    cline!(w; "stp_map_wrap(", n, ");");
                }
            }
            None if g.ty == Ty::Str => {
                let p = names::global_param(&g.name);
                let init = match &g.init {
                    Some(Const::Str(s)) => c_string(s),
                    _ => "\"\"".into(),
                };
                cline!(w; "stp_strcpy(", n, ", ", p, " ? ", p, " : ", init, ");");
            }
            None => cline!(w; n, " = ", names::global_param(&g.name), ";"),
        }
    }
    if m.functions
        .iter()
        .any(|(_, f)| f.name == "symbol_address" && f.origin == FnOrigin::Tapset)
    {
        // stp_symbol_lookup registers a kprobe the first time: do it here, in process
        // context, so that symbol_address() in a probe only calls the pointer it found.
        w.line("stp_symbol_lookup(\"kallsyms_lookup_name\");");
    }
    w.line(
        "rc = stp_runtime_init(KBUILD_MODNAME, sizeof(union stp_frame), stp_start, stp_shutdown);",
    );
    w.line("if (rc)");
    w.line("\tgoto fail_maps;");
    conds::init_before_arming(otf, w);
    watches::init(m, w);
    kprobes::init(m, otf, w);
    conds::init_after_arming(otf, w);
    w.line("return 0;");
    if !m.watches.is_empty() || !m.kprobes.is_empty() {
        w.label("fail_runtime");
        w.line("stp_runtime_exit();");
    }
    w.label("fail_maps");
    w.line("stp_free_maps();");
    w.line("return rc;");
    w.close();
    w.line("");
    w.line("/* Process context (module unload): ends the session if it still runs. */");
    w.open("static void __exit stp_exit(void)");
    w.line("stp_runtime_exit();");
    w.line("stp_free_maps();");
    w.close();
    w.line("");
}

/// A timer probe's period in nanoseconds as C: `n` units of `unit` nanoseconds, bounded by
/// the runtime to at least 100 microseconds and at most what ktime_t holds.
fn timer_period(n: u64, unit: &str) -> String {
    // By hand: a script has a timer per probe, and `format!` cost several times as much.
    let mut o = String::with_capacity(48);
    o.push_str("stp_timer_period_ns(");
    writer::push_u64(&mut o, n);
    o.push_str("ULL, ");
    o.push_str(unit);
    o.push(')');
    o
}

/// Where places are in the script (`sm.describe`), as C string literals for run-time errors:
/// a body names a place for most of what can fail. Each file's name is quoted once, at its
/// first place (the cell: bodies share this through `&Shared`). Digits and `:` need no escape,
/// so a place is `c_string` of its description.
/// Comments name places the same way (`comment_where`), the name made safe once too.
#[derive(Default)]
pub(super) struct Places(std::cell::RefCell<Vec<PlaceFile>>);

/// A file places name: the start of a C string literal (`"FILE`, the quote that ends it
/// written after the line and column), and the name as comment text.
struct PlaceFile {
    file: crate::diag::FileId,
    quoted: String,
    comment: String,
}

impl Places {
    /// The place of `s`, appended to `out`.
    pub(super) fn push(&self, sm: &SourceMap, s: crate::diag::Span, out: &mut String) {
        self.with_file(sm, s.file, |f| out.push_str(&f.quoted));
        push_line_col(out, sm, s);
        out.push('"');
    }

    /// `comment_where(sm, s)`, appended to `out`.
    pub(super) fn push_comment(&self, sm: &SourceMap, s: crate::diag::Span, out: &mut String) {
        self.with_file(sm, s.file, |f| out.push_str(&f.comment));
        push_line_col(out, sm, s);
    }

    fn with_file(&self, sm: &SourceMap, file: crate::diag::FileId, f: impl FnOnce(&PlaceFile)) {
        let mut files = self.0.borrow_mut();
        let i = match files.iter().position(|p| p.file == file) {
            Some(i) => i,
            None => {
                let mut quoted = c_string(sm.name(file));
                quoted.pop();
                let comment = c_comment(sm.name(file));
                files.push(PlaceFile {
                    file,
                    quoted,
                    comment,
                });
                files.len() - 1
            }
        };
        f(&files[i]);
    }
}

/// A place as comment text (`Places::push_comment`), written where the line uses it.
struct CommentWhere<'a>(&'a Places, &'a SourceMap, crate::diag::Span);
impl writer::Piece for CommentWhere<'_> {
    fn put(&self, out: &mut String) {
        self.0.push_comment(self.1, self.2, out);
    }
}

/// `sm.describe(s)` for a comment: `c_comment` of it, made as `Places` makes a place.
fn comment_where(sm: &SourceMap, s: crate::diag::Span) -> String {
    let mut o = c_comment(sm.name(s.file));
    push_line_col(&mut o, sm, s);
    o
}

/// `:LINE:COL` of the start of `s`.
pub(super) fn push_line_col(o: &mut String, sm: &SourceMap, s: crate::diag::Span) {
    let (line, col) = sm.line_col(s.file, s.start);
    o.push(':');
    writer::push_u64(o, line as u64);
    o.push(':');
    writer::push_u64(o, col as u64);
}

/// The script line on which embedded C's first written line stands: the `%{` line, plus the
/// blank lines the writer trims from the front of the code.
fn first_code_line(sm: &SourceMap, span: crate::diag::Span, code: &str) -> usize {
    let (line, _) = sm.line_col(span.file, span.start);
    line + (code.len() - code.trim_start_matches('\n').len())
}

#[cfg(test)]
mod tests {
    use super::{
        CHUNK_FULL, LINE_RESET, LineReset, Opts, Places, Waiting, comment_where, emit_spilling,
    };
    use crate::backend::c::writer::{c_comment, c_string};
    use crate::diag::{FileId, Origin, SourceMap, Span};

    /// The places built by hand read as `describe`'s, escaped, even in a hostile file name.
    #[test]
    fn places_read_as_described() {
        let mut sm = SourceMap::default();
        let text = "probe begin {\n  é = 1 /* x */\n}\n";
        let files: Vec<FileId> = ["x.stp", "a??=b*/c/*\"d\n.stp"]
            .iter()
            .map(|n| sm.add(*n, text, Origin::Script))
            .collect();
        let places = Places::default();
        for f in files {
            for at in [0, 5, 14, 17, 19, text.len()] {
                let s = Span::new(f, at..at);
                let mut place = String::new();
                places.push(&sm, s, &mut place);
                assert_eq!(place, c_string(&sm.describe(s)));
                assert_eq!(comment_where(&sm, s), c_comment(&sm.describe(s)));
                place.clear();
                places.push_comment(&sm, s, &mut place);
                assert_eq!(place, c_comment(&sm.describe(s)));
            }
        }
    }

    /// A part reads the same whether it stayed in one buffer, in chunks, or moved to a file
    /// in between, with its embedded C (placeholders, `\r\n`) turned into what `put` makes
    /// of it and the rest passed on as it is.
    #[test]
    fn chunked_parts_read_as_one_text() {
        let mut whole = String::new();
        let write = |w: &mut Waiting, whole: &mut String, i: usize| {
            let line = format!("\tstp_line_{i}();\n");
            w.raw(&line);
            whole.push_str(&line);
            if i % 97 == 0 {
                let c = format!("#line {i} \"x.stp\"\r\ncode();\r\n{LINE_RESET}");
                w.embedded(|w| w.raw(&c));
                whole.push_str(&c);
            }
        };
        let mut scratch = Waiting::new(usize::MAX, 0);
        for i in 0..20_000 {
            write(&mut scratch, &mut whole, i);
        }
        let mut expected = String::new();
        let mut r = LineReset::new(&mut expected, "m.c");
        r.put(&whole).unwrap();
        r.finish().unwrap();
        assert!(whole.len() > 4 * CHUNK_FULL);
        for limit in [usize::MAX, 3 * CHUNK_FULL / 2, 1000] {
            let mut w = Waiting::new(limit, 0);
            let mut ignored = String::new();
            for i in 0..20_000 {
                if i % 50 == 0 {
                    w.settle();
                }
                write(&mut w, &mut ignored, i);
            }
            let mut got = String::new();
            let out: &mut dyn super::Out = &mut got;
            let mut r = LineReset::new(out, "m.c");
            w.send(&mut r).unwrap();
            r.finish().unwrap();
            assert!(got == expected, "limit {limit}");
        }
    }

    /// The frames, the union's members, the prototypes and the handlers read the same whether
    /// they waited in memory or in temporary files, however often they moved there (here
    /// before every body), UTF-8 included.
    #[test]
    fn spilled_bodies_read_back_the_same() {
        let text = "global n, a\n\
            function f(x) { return x * 2 }\n\
            function g:string(s:string) { return s . \"é\" }\n\
            probe begin { n = f(2); a[g(\"x\")] = n; println(g(\"ü\")) }\n\
            probe timer.ms(10) { n++; if (n > 3) n = 0 }\n\
            probe end { foreach (k in a) printf(\"%s %d\\n\", k, a[k]) }\n";
        let (script, diags, sm) = crate::syntax::parse_text(text, &[]);
        assert!(!diags.has_errors(), "{diags:?}");
        let mut diags = diags;
        let m = crate::sema::elaborate(script, &[], crate::target::Arch::X86_64, &mut diags);
        assert!(!diags.has_errors(), "{diags:?}");
        let opts = Opts {
            module_name: "m".into(),
            script_name: "x.stp".into(),
        };
        let emit = |limit| {
            let mut c = String::new();
            emit_spilling(&m, &sm, &opts, &mut c, limit).expect("emits");
            c
        };
        let kept = emit(usize::MAX);
        assert!(kept.contains("probe timer.ms(10)"), "{kept}");
        assert_eq!(emit(1), kept);
        assert_eq!(emit(200), kept);
    }
}
