//! Pass 2: elaboration. Resolves names (globals, locals, functions from the script and the
//! tapsets), probe points and printf formats, pulls in the tapset functions the script reaches,
//! infers types (`types`), and produces the `ir::Module` the back end consumes.

mod aliases;
mod foreach;
pub mod format;
mod globals;
mod linkage;
pub mod listing;
pub mod probes;
pub mod regex;
mod stats;
mod tapset_scan;
pub mod tapsets;
pub mod types;
mod watches;

use crate::diag::{Diag, Diags, Span, codes};
use crate::ir::{
    self, Body, Builtin, ExprKind, FnOrigin, Function, Global, Id, LValue, Local, Module, Probe, Ty,
};
use crate::syntax::ast::{self, FunctionBody, Item, LitValue, walk_stmt};
use crate::syntax::name::Name;
use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

/// Names (interned, looked up by `&str`) to what they stand for, in the order they were
/// declared. Hashed with FxHash: these are looked up at every use of a name, and SipHash's
/// resistance to chosen keys buys nothing on a script's own names.
type Interned<V> = IndexMap<Name, V, FxBuildHasher>;

/// For the maps only ever searched by a `Name` (variables, globals, function ids), which are
/// searched at every use of one: keyed by the address of the name's text. A plain hash table,
/// not an `IndexMap`: nothing reads their order (the arenas keep it), and a lookup is then a
/// probe and a compare rather than a probe of an index table and then of the entries.
type NameTable<V> = std::collections::HashMap<NameKey, V, FxBuildHasher>;

/// A name hashed and compared by the address of its text, which interning makes one per text:
/// a word to hash and compare, where `Name` hashes and compares the text (so that a map of
/// them can be searched by `&str`). Only for lookups: the addresses differ from run to run,
/// so nothing may iterate a hash order of them.
#[derive(Clone, Copy)]
struct NameKey(Name);

impl PartialEq for NameKey {
    fn eq(&self, o: &NameKey) -> bool {
        std::ptr::eq(self.0.as_str(), o.0.as_str())
    }
}
impl Eq for NameKey {}
impl std::hash::Hash for NameKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_usize(self.0.as_str().as_ptr() as usize)
    }
}

pub struct Options {
    /// `-w`: drop warnings.
    pub no_warnings: bool,
    /// `-W`: warnings are errors.
    pub warnings_are_errors: bool,
}

/// Where a local lives: a probe or a function.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Owner {
    Probe(Id<Probe>),
    Function(Id<Function>),
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    Unknown,
    Scalar(Span),
    Array(usize, Span),
}

/// A function as declared: a tapset's borrowed (the driver keeps the tapsets), the script's
/// owned, its body taken out when lowered so that its syntax tree is freed as its IR is made.
struct FnDecl<'a> {
    decl: std::borrow::Cow<'a, ast::FunctionDecl>,
    origin: FnOrigin,
}

struct Elab<'a> {
    m: Module,
    diags: &'a mut Diags,
    /// By name; their order is `m.globals`'s.
    globals: NameTable<Id<Global>>,
    shapes: Vec<Shape>,
    /// By name, `NAME/ARITY` for a tapset's overload, or a private function's file-scoped key.
    decls: Interned<FnDecl<'a>>,
    fn_ids: NameTable<Id<Function>>,
    /// By function id: its `decls` key (the name, `NAME/ARITY` for an overload, or a
    /// private function's file-scoped key).
    fn_keys: Vec<Name>,
    /// The names some tapset's private function has (only those calls look for one).
    private_names: rustc_hash::FxHashSet<NameKey>,
    /// Each printf format parsed so far, shared by the calls that use it; and the empty one.
    formats: rustc_hash::FxHashMap<Name, std::rc::Rc<[ir::FmtPiece]>>,
    no_format: std::rc::Rc<[ir::FmtPiece]>,
    /// Functions allocated but whose bodies are not lowered yet.
    pending: Vec<Id<Function>>,
    /// Which functions each probe or function calls, for the data-context check.
    calls: Vec<(Owner, Id<Function>, Span)>,
    watch_index: probes::WatchIndex,
    /// Named watchpoints, and the watch each `probe NAME = ...` declares (by the probe's span).
    named: probes::NamedWatches,
    declared: rustc_hash::FxHashMap<Span, Id<ir::Watch>>,
    /// Named watches some `enable` names.
    enabled: rustc_hash::FxHashSet<Id<ir::Watch>>,
    /// The probe being lowered runs only as the session ends (`end`, `error`): an `enable`
    /// there is ignored at run time, so it is warned about.
    ending_probe: bool,
    /// Names whose watchpoint declaration was refused (no follow-on errors for their uses).
    bad_watches: rustc_hash::FxHashSet<String>,
    /// Per global: whether it is a statistic, and what it keeps so far.
    stats: Vec<stats::StatDecl>,
    /// Above 0 while lowering code a constant condition never runs (`if (@defined($x))`):
    /// a target variable there is not reported.
    dead: u32,
    /// What the scope of the body lowered last allocated, empty again, for the next.
    spare: Spare,
}

/// A `Scope`'s tables and stacks, kept from one body to the next: every body has names and
/// most have a loop, and each would otherwise grow its own from nothing.
#[derive(Default)]
struct Spare {
    names: NameTable<Id<Local>>,
    iterating: Vec<(Id<Global>, Sort, Span)>,
    iterating_aggs: Vec<(Id<Global>, Option<ast::StatFn>, Span)>,
    assigned: Vec<bool>,
}

/// How a foreach orders its array, if at all.
type Sort = Option<(ast::SortBy, ast::SortDir)>;

/// Lowering state of one body.
struct Scope {
    owner: Owner,
    names: NameTable<Id<Local>>,
    locals: ir::Arena<Local>,
    loop_depth: usize,
    returns_value: bool,
    /// Enclosing foreach loops: (array, sort, where), for the nested-iteration check.
    iterating: Vec<(Id<Global>, Sort, Span)>,
    /// The extractors enclosing loops over arrays of statistics sort by (same check).
    iterating_aggs: Vec<(Id<Global>, Option<ast::StatFn>, Span)>,
    /// By local index: whether anything gives the local a value (an assignment, `++`, a
    /// `foreach` or `catch` binding, a parameter). One nothing does is a warning.
    assigned: Vec<bool>,
}

impl Scope {
    fn assign(&mut self, lv: &LValue) {
        if let LValue::Local(l) = lv {
            let i = l.index();
            if self.assigned.len() <= i {
                self.assigned.resize(i + 1, false);
            }
            self.assigned[i] = true;
        }
    }
}

/// Consumes the script: each probe's syntax tree is dropped as soon as it is lowered, and each
/// script function's body when its own is, so that the allocator reuses their memory for the
/// IR rather than holding both whole at once.
pub fn elaborate(
    script: ast::Script,
    tapset_scripts: &[ast::Script],
    arch: crate::target::Arch,
    diags: &mut Diags,
) -> Module {
    let (mut script, rewritten) = aliases::expand(script, tapset_scripts, diags);
    let mut e = Elab {
        m: Module {
            arch,
            ..Module::default()
        },
        diags,
        globals: NameTable::default(),
        shapes: vec![],
        decls: Interned::default(),
        fn_ids: NameTable::default(),
        fn_keys: vec![],
        private_names: Default::default(),
        formats: Default::default(),
        no_format: std::rc::Rc::new([]),
        pending: vec![],
        calls: vec![],
        watch_index: probes::WatchIndex::new(),
        named: probes::NamedWatches::new(),
        declared: Default::default(),
        enabled: Default::default(),
        ending_probe: false,
        bad_watches: Default::default(),
        stats: vec![],
        dead: 0,
        spare: Spare::default(),
    };
    // Tapset functions first, so that script functions with the same name replace them. A
    // tapset may overload a name by arity, as SystemTap's do (`ctime()`, `ctime(secs)`): the
    // first arity seen is the name's entry, the others are `NAME/ARITY` (see `call`).
    for ts in tapset_scripts {
        for it in &ts.items {
            if let Item::Function(f) = it {
                let name = &f.name.name;
                let key = if f.private {
                    e.private_names.insert(NameKey(*name));
                    Name::from_string(private_key(f.name.span.file, name))
                } else {
                    match e.decls.get(name) {
                        Some(prev) if prev.decl.params.len() != f.params.len() => {
                            Name::from_string(overload_key(name, f.params.len()))
                        }
                        _ => *name,
                    }
                };
                e.decls.insert(
                    key,
                    FnDecl {
                        decl: std::borrow::Cow::Borrowed(f),
                        origin: FnOrigin::Tapset,
                    },
                );
            }
        }
    }
    let linked = linkage::link(&script, tapset_scripts);
    let nglobals = linked.globals.len()
        + (script.items.iter())
            .filter(|it| matches!(it, Item::Global(_)))
            .count();
    e.m.globals.reserve(nglobals);
    e.globals.reserve(nglobals);
    e.shapes.reserve_exact(nglobals);
    let mut script_fns: NameTable<Span> = NameTable::default();
    // Per script function, in order: whether it is declared (not a duplicate, not a built-in).
    // The declarations move into `decls` once the scans below no longer borrow the script.
    let mut accepted: Vec<bool> = vec![];
    for it in &script.items {
        match it {
            Item::Global(g) => e.declare_global(g),
            Item::Function(f) => {
                accepted.push(false);
                if let Some(prev) = script_fns.get(&NameKey(f.name.name)) {
                    e.diags.push(
                        Diag::error(
                            codes::DUPLICATE,
                            f.name.span,
                            format!("function `{}` is defined twice", f.name.name),
                        )
                        .secondary(*prev, "first defined here"),
                    );
                    continue;
                }
                if builtin(&f.name.name).is_some() {
                    e.diags.push(Diag::error(
                        codes::DUPLICATE,
                        f.name.span,
                        format!(
                            "`{}` is a built-in function and cannot be redefined",
                            f.name.name
                        ),
                    ));
                    continue;
                }
                script_fns.insert(NameKey(f.name.name), f.name.span);
                *accepted.last_mut().expect("pushed") = true;
            }
            Item::Embedded(c, sp) => e.m.embedded.push((*c, *sp)),
            Item::Probe(_) => {}
        }
    }
    for g in &linked.globals {
        e.declare_global(g);
    }
    let extra: Vec<Item> = linked
        .functions
        .iter()
        .map(|f| Item::Function((*f).clone()))
        .collect();
    let items: Vec<&Item> = script.items.iter().chain(&extra).collect();
    // Without aliases or linked tapset functions, each item's uses lie within its own text,
    // after the previous item's: they can be decided item by item.
    let adds = e.scan_shapes(&items, !rewritten && extra.is_empty());
    e.scan_stats(adds);
    e.declare_watches(&script);
    drop(items);
    // Everything but the probes leaves the items, in order; the script's functions join the
    // declarations (after the tapsets', whose same names they replace).
    let mut accepted = accepted.into_iter();
    for it in script
        .items
        .extract_if(.., |it| !matches!(it, Item::Probe(_)))
    {
        if let Item::Function(f) = it {
            if accepted.next() == Some(true) {
                e.decls.insert(
                    f.name.name,
                    FnDecl {
                        decl: std::borrow::Cow::Owned(f),
                        origin: FnOrigin::Script,
                    },
                );
            }
        }
    }
    // One at a time, in order, each dropped once lowered; the vector that held them shrinks
    // as it empties (in place), so that its memory goes to the IR too.
    // At most one function per declaration: room for them at once, rather than tables
    // grown by doubling (a large script's are mapped anew, and faulted in, at each step).
    e.fn_ids.reserve(e.decls.len());
    e.fn_keys.reserve_exact(e.decls.len());
    let mut probes = script.items;
    probes.reverse();
    e.m.probes.reserve(probes.len());
    while let Some(it) = probes.pop() {
        if let Item::Probe(p) = it {
            e.probe(&p);
        }
        if probes.len() < probes.capacity() / 2 {
            probes.shrink_to_fit();
        }
    }
    while let Some(f) = e.pending.pop() {
        e.function_body(f);
    }
    e.mark_overloads();
    // After the functions: an `enable` in one counts too.
    e.check_watches();
    e.finish_globals();
    e.finish_stats();
    e.check_data_context();
    foreach::check(&e.m, e.diags);
    let mut m = e.m;
    // Grown by doubling while the bodies were lowered; nothing is added from here on.
    m.functions.shrink_to_fit();
    types::infer(&mut m, e.diags);
    if !e.diags.has_errors() {
        let startup: Vec<&ir::Watch> = m
            .watches
            .iter()
            .map(|(_, w)| w)
            .filter(|w| w.name.is_none())
            .collect();
        let n = startup.len();
        let regs = arch.watch_registers();
        if n > regs {
            let w = startup[regs];
            e.diags.push(
                Diag::warning(
                    codes::WARN_WATCH_COUNT,
                    w.span,
                    match arch {
                        crate::target::Arch::X86_64 => {
                            format!("{n} watchpoints are armed at start, but x86 has {regs} debug registers")
                        }
                        crate::target::Arch::Arm64 => format!(
                            "{n} watchpoints are armed at start, but arm64 has {regs} watchpoint registers"
                        ),
                    },
                )
                .label("the fifth watchpoint")
                .note("arming will fail with ENOSPC at load time unless they are shared")
                .help("watch fewer addresses, or share one address/length/access between probes"),
            );
        }
    }
    m
}

/// Whether a condition is a constant (`@defined(...)` folds to one): `Some(truth)`.
fn const_truth(e: &ast::Expr) -> Option<bool> {
    match &e.kind {
        ast::ExprKind::Lit(ast::Lit {
            value: LitValue::Int(v),
            ..
        }) => Some(*v != 0),
        ast::ExprKind::Unary {
            op: ast::UnOp::Not,
            e,
        } => const_truth(e).map(|t| !t),
        _ => None,
    }
}

/// The `decls` key of a tapset function that overloads an earlier one by arity.
fn overload_key(name: &str, arity: usize) -> String {
    format!("{name}/{arity}")
}

fn builtin(name: &str) -> Option<Builtin> {
    Some(match name {
        "printf" => Builtin::Printf,
        "sprintf" => Builtin::Sprintf,
        "print" => Builtin::Print,
        "println" => Builtin::Println,
        "sprint" => Builtin::Sprint,
        "sprintln" => Builtin::Sprintln,
        "printd" => Builtin::Printd,
        "printdln" => Builtin::Printdln,
        "sprintd" => Builtin::Sprintd,
        "sprintdln" => Builtin::Sprintdln,
        _ => return None,
    })
}

impl<'a> Elab<'a> {
    /// Marks the functions that share their name with another (overloads by arity).
    fn mark_overloads(&mut self) {
        let mut count: rustc_hash::FxHashMap<NameKey, usize> = Default::default();
        for (_, f) in self.m.functions.iter() {
            *count.entry(NameKey(f.name)).or_default() += 1;
        }
        for f in self.m.functions.values_mut() {
            f.overloaded = count[&NameKey(f.name)] > 1;
        }
    }

    /// Lowers with `dead` raised when the code can never run.
    fn lower_maybe_dead<R>(&mut self, dead: bool, f: impl FnOnce(&mut Self) -> R) -> R {
        self.dead += u32::from(dead);
        let r = f(self);
        self.dead -= u32::from(dead);
        r
    }

    fn probe(&mut self, p: &ast::ProbeDecl) {
        let id = self.m.probes.alloc(Probe {
            points: vec![],
            param: None,
            cond: None,
            locals: ir::Arena::default(),
            body: ir::Block { stmts: vec![] },
            span: p.span,
        });
        let mut points = Vec::with_capacity(p.points.len());
        if p.watch.is_some() {
            // `probe NAME = POINT { hit handler }`: declared before any probe was resolved.
            let Some(&w) = self.declared.get(&p.span) else {
                return;
            };
            let wt = &mut self.m.watches[w];
            wt.users.push((id, 0));
            points.push(ir::Point {
                text: probes_text(&p.points[0]),
                kind: if wt.change {
                    ir::PointKind::Change(w)
                } else {
                    ir::PointKind::Data(w)
                },
                span: p.points[0].span,
            });
        } else {
            let mut left_out = 0;
            for pp in &p.points {
                // A probe of a watchpoint whose declaration was refused (and said why).
                if pp.components.len() <= 2
                    && self
                        .bad_watches
                        .contains(pp.components[0].name.name.as_str())
                {
                    continue;
                }
                // An optional point's diagnostics wait until it is known whether it is
                // merely of a kind stp-hwbp does not have.
                let optional = pp.optional || pp.sufficient;
                let mut own = Diags::default();
                let diags = if optional { &mut own } else { &mut *self.diags };
                // The point's index is its place among the points kept.
                let idx = points.len();
                let at = (&mut self.m, &mut self.watch_index, &self.named);
                match probes::resolve(pp, at.0, at.1, at.2, id, idx, diags) {
                    Some(pt) => points.push(pt),
                    None if optional && probes::only_unknown(&own) => {
                        let why = &own.list[0];
                        let why = if why.label.is_empty() {
                            why.message.clone()
                        } else {
                            why.label.clone()
                        };
                        let text = probes_text(pp);
                        self.m.left_out.push((text, why));
                        left_out += 1;
                    }
                    None => self.diags.extend(own),
                }
            }
            // As in SystemTap, a probe whose every point was left out is dropped, its body
            // unchecked.
            if left_out == p.points.len() {
                self.m.probes.pop_last(id);
                return;
            }
        }
        let mut sc = self.new_scope(Owner::Probe(id), ir::Arena::default());
        // A parametric watchpoint's parameter is bound, as a long, in all its probes.
        let param = self.watch_param(&points).map(|name| {
            let l = sc.locals.alloc(Local {
                name,
                ty: Ty::Long,
                span: p.span,
            });
            sc.names.insert(NameKey(name), l);
            sc.assign(&LValue::Local(l));
            l
        });
        self.ending_probe = !points.is_empty()
            && points
                .iter()
                .all(|pt| matches!(pt.kind, ir::PointKind::End(_) | ir::PointKind::Error(_)));
        let cond = p.cond.as_ref().map(|c| self.expr(c, &mut sc));
        let body = self.block(&p.body, &mut sc);
        self.ending_probe = false;
        // A probe whose points were all refused may have been meant as a SystemTap tapset
        // alias, which would have given its locals values: not warned about.
        if !points.is_empty() {
            self.never_assigned(&sc);
        }
        let locals = self.end_scope(sc);
        let probe = &mut self.m.probes[id];
        probe.param = param;
        probe.points = points;
        probe.cond = cond;
        probe.body = body;
        probe.locals = locals;
    }

    /// A fresh scope for a body, with what the last body's allocated (`spare`).
    fn new_scope(&mut self, owner: Owner, locals: ir::Arena<Local>) -> Scope {
        let spare = std::mem::take(&mut self.spare);
        Scope {
            owner,
            names: spare.names,
            locals,
            loop_depth: 0,
            returns_value: false,
            iterating: spare.iterating,
            iterating_aggs: spare.iterating_aggs,
            assigned: spare.assigned,
        }
    }

    /// Ends a body's scope: returns its locals, and keeps the rest, emptied, for the next.
    fn end_scope(&mut self, sc: Scope) -> ir::Arena<Local> {
        let Scope {
            mut names,
            locals,
            mut iterating,
            mut iterating_aggs,
            mut assigned,
            ..
        } = sc;
        names.clear();
        iterating.clear();
        iterating_aggs.clear();
        assigned.clear();
        self.spare = Spare {
            names,
            iterating,
            iterating_aggs,
            assigned,
        };
        locals
    }

    /// The id of a function by name, allocating it (and queueing its body) on first use.
    fn function_id(&mut self, name: Name) -> Option<Id<Function>> {
        if let Some(&id) = self.fn_ids.get(&NameKey(name)) {
            return Some(id);
        }
        let fd = self.decls.get(&name)?;
        let d: &ast::FunctionDecl = &fd.decl;
        let mut locals = ir::Arena::default();
        let params = d
            .params
            .iter()
            .map(|p| {
                locals.alloc(Local {
                    name: p.name.name,
                    ty: p.ty.map(ty_of).unwrap_or(Ty::Unknown),
                    span: p.name.span,
                })
            })
            .collect();
        let needs = match &d.body {
            FunctionBody::Embedded(c, _) => ir::CtxNeed::ALL
                .into_iter()
                .find(|n| c.contains(n.pragma())),
            FunctionBody::Script(_) => None,
        };
        let ret = match (d.ret, &d.body) {
            (Some(t), _) => ty_of(t),
            (None, FunctionBody::Embedded(..)) => Ty::Void,
            (None, FunctionBody::Script(b)) => {
                let mut has = false;
                let mut fs =
                    |s: &ast::Stmt| has |= matches!(s.kind, ast::StmtKind::Return(Some(_)));
                b.stmts
                    .iter()
                    .for_each(|s| walk_stmt(s, &mut |_| {}, &mut fs));
                if has { Ty::Unknown } else { Ty::Void }
            }
        };
        let id = self.m.functions.alloc(Function {
            // An overload (`NAME/ARITY`) keeps its name, and the back end adds the arity when
            // the module has more than one; a private function keeps its file-scoped key.
            name: if name.contains('/') {
                d.name.name
            } else {
                name
            },
            ret,
            params,
            locals,
            body: Body::Script(ir::Block { stmts: vec![] }),
            origin: fd.origin,
            span: d.name.span,
            needs,
            overloaded: false,
        });
        self.fn_ids.insert(NameKey(name), id);
        self.fn_keys.push(name);
        self.pending.push(id);
        Some(id)
    }

    fn function_body(&mut self, id: Id<Function>) {
        let key = self.fn_keys[id.index()];
        let fd = &mut self.decls[&key];
        // A script function's body leaves its declaration (the rest stays for arity checks).
        let body: std::borrow::Cow<'a, FunctionBody> = match &mut fd.decl {
            std::borrow::Cow::Borrowed(d) => {
                let d: &'a ast::FunctionDecl = d;
                std::borrow::Cow::Borrowed(&d.body)
            }
            std::borrow::Cow::Owned(d) => {
                let empty = FunctionBody::Script(ast::Block {
                    stmts: vec![],
                    span: d.span,
                });
                std::borrow::Cow::Owned(std::mem::replace(&mut d.body, empty))
            }
        };
        match &*body {
            FunctionBody::Embedded(c, sp) => self.m.functions[id].body = Body::Embedded(*c, *sp),
            FunctionBody::Script(b) => {
                let locals = std::mem::take(&mut self.m.functions[id].locals);
                let mut sc = self.new_scope(Owner::Function(id), locals);
                for &p in &self.m.functions[id].params {
                    sc.names.insert(NameKey(sc.locals[p].name), p);
                    sc.assign(&LValue::Local(p));
                }
                let body = self.block(b, &mut sc);
                self.never_assigned(&sc);
                let locals = self.end_scope(sc);
                let f = &mut self.m.functions[id];
                f.body = Body::Script(body);
                f.locals = locals;
            }
        }
    }

    /// Functions that read a watchpoint probe's context (`data_value()`, `data_old()`,
    /// `end_reason()`, `unavailable_reason()`) may only be reached from probes whose every point
    /// offers it. Each function remembers the context function it reaches (itself, for those),
    /// so the error can name it.
    fn check_data_context(&mut self) {
        let mut needs: Vec<Option<ir::CtxNeed>> = vec![None; self.m.functions.len()];
        for need in ir::CtxNeed::ALL {
            // Most scripts reach no function of most needs: nothing to propagate or report.
            if !self.m.functions.iter().any(|(_, f)| f.needs == Some(need)) {
                continue;
            }
            let mut reaches: Vec<Option<Id<Function>>> = self
                .m
                .functions
                .iter()
                .map(|(id, f)| (f.needs == Some(need)).then_some(id))
                .collect();
            loop {
                let mut changed = false;
                for (owner, callee, _) in &self.calls {
                    if let Owner::Function(f) = owner {
                        if let (Some(d), None) = (reaches[callee.index()], reaches[f.index()]) {
                            reaches[f.index()] = Some(d);
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
            for (owner, callee, span) in &self.calls {
                let Owner::Probe(p) = owner else { continue };
                let Some(data_fn) = reaches[callee.index()] else {
                    continue;
                };
                let probe = &self.m.probes[*p];
                if let Some(pt) = probe
                    .points
                    .iter()
                    .find(|pt| !need.allows(&pt.kind, &self.m))
                {
                    let via = if data_fn == *callee {
                        String::new()
                    } else {
                        format!(" (through `{}`)", self.m.functions[*callee].name)
                    };
                    let name = &self.m.functions[data_fn].name;
                    let help = match need {
                        ir::CtxNeed::Data => {
                            "data_addr() and data_value() are only available in kernel.data(...) probes and their sub-probes"
                        }
                        ir::CtxNeed::Change => {
                            "data_old() is only available in kernel.data(...).change probes"
                        }
                        ir::CtxNeed::End => {
                            "end_reason() is only available in the .end sub-probe of a watchpoint"
                        }
                        ir::CtxNeed::Unavailable => {
                            "unavailable_reason() is only available in the .unavailable sub-probe of a watchpoint"
                        }
                        ir::CtxNeed::Args => {
                            "function arguments are only available in kprobe.function(...) and kernel.function(...) entry probes"
                        }
                        ir::CtxNeed::Return => {
                            "returnval() is only available in kprobe.function(...).return probes"
                        }
                        ir::CtxNeed::Regs => {
                            "registers are only available in probes that interrupt kernel code: function probes and data watchpoint hits"
                        }
                        ir::CtxNeed::Mmap => {
                            "it reads the process's memory map under its lock, which a data watchpoint hit (NMI-like) must not take; call it from a timer, function or begin/end probe (usymname() and ubacktrace() work anywhere)"
                        }
                    };
                    // SystemTap decides these three at run time (a probe without them raises
                    // an error when it calls one), and shared functions rely on that: warn.
                    let diag = if need.run_time() {
                        Diag::warning(
                            codes::WARN_CONTEXT_FN,
                            *span,
                            format!(
                                "`{name}` is only available in {}{via}: here it raises an error at run time",
                                need.probes()
                            ),
                        )
                    } else {
                        Diag::error(
                            codes::CONTEXT_FN,
                            *span,
                            format!("`{name}` is only available in {}{via}", need.probes()),
                        )
                    };
                    self.diags.push(
                        diag.label("called here")
                            .secondary(pt.span, format!("but this probe point is `{}`", pt.text))
                            .help(help),
                    );
                }
            }
            for (n, r) in needs.iter_mut().zip(reaches) {
                if n.is_none() && r.is_some() {
                    *n = Some(need);
                }
            }
        }
        for (f, n) in self.m.functions.values_mut().zip(needs) {
            f.needs = n;
        }
    }

    // ---- statements ----

    fn block(&mut self, b: &ast::Block, sc: &mut Scope) -> ir::Block {
        ir::Block {
            stmts: b.stmts.iter().map(|s| self.stmt(s, sc)).collect(),
        }
    }

    fn stmt(&mut self, s: &ast::Stmt, sc: &mut Scope) -> ir::Stmt {
        use ast::StmtKind as A;
        use ir::StmtKind as K;
        let span = s.span;
        let kind = match &s.kind {
            A::Expr(ast::Expr {
                kind: ast::ExprKind::StatAdd { target, value },
                ..
            }) => self.lower_stat_add(target, value, sc),
            A::Expr(e) => match self.lower_print_hist(e, sc) {
                Some(k) => k,
                None => K::Expr(self.expr(e, sc)),
            },
            A::Block(b) => K::Block(self.block(b, sc)),
            A::If { cond, then, els } => {
                let known = const_truth(cond);
                K::If {
                    cond: self.expr(cond, sc),
                    then: Box::new(
                        self.lower_maybe_dead(known == Some(false), |s| s.stmt(then, sc)),
                    ),
                    els: els.as_ref().map(|e| {
                        Box::new(self.lower_maybe_dead(known == Some(true), |s| s.stmt(e, sc)))
                    }),
                }
            }
            A::While { cond, body } => {
                let cond = self.expr(cond, sc);
                K::While {
                    cond,
                    body: Box::new(self.loop_body(body, sc)),
                }
            }
            A::For {
                init,
                cond,
                step,
                body,
            } => {
                let init = init.as_ref().map(|e| Box::new(self.expr(e, sc)));
                let cond = cond.as_ref().map(|e| Box::new(self.expr(e, sc)));
                let step = step.as_ref().map(|e| Box::new(self.expr(e, sc)));
                K::For {
                    init,
                    cond,
                    step,
                    body: Box::new(self.loop_body(body, sc)),
                }
            }
            A::ForeachHist { key, hist, body } => self.lower_foreach_hist(key, hist, body, sc),
            A::Foreach(f) => {
                let ast::Foreach {
                    value,
                    keys,
                    array,
                    agg,
                    slice,
                    sort,
                    limit,
                    body,
                } = &**f;
                let nkeys = keys.len();
                let Some(g) = self.array_global(array.name, array.span, keys.len()) else {
                    return ir::Stmt {
                        kind: K::Empty,
                        span,
                    };
                };
                let is_stat = self.is_stat(g);
                let agg = self
                    .foreach_agg(g, *agg, value.as_ref())
                    .filter(|_| matches!(sort, Some((ast::SortBy::Value, _))));
                let value = if is_stat { &None } else { value };
                if let Some((ast::SortBy::Key(k), _)) = sort {
                    if *k >= keys.len() {
                        self.diags.push(Diag::error(
                            codes::PARSE,
                            array.span,
                            "sort column out of range",
                        ));
                    }
                }
                // An array keeps one sorted order for iteration: an inner loop over the same
                // array may only re-sort it the same way, or the outer loop's order changes
                // under it.
                if let Some((_, outer, at)) =
                    sc.iterating.iter().find(|(a, o, _)| *a == g && o != sort)
                {
                    let describe = |s: &Sort| match s {
                        None => "unsorted".to_string(),
                        Some((ast::SortBy::Value, d)) => format!(
                            "sorted by value {}",
                            if *d == ast::SortDir::Asc {
                                "ascending"
                            } else {
                                "descending"
                            }
                        ),
                        Some((ast::SortBy::Key(k), d)) => format!(
                            "sorted by key {} {}",
                            k + 1,
                            if *d == ast::SortDir::Asc {
                                "ascending"
                            } else {
                                "descending"
                            }
                        ),
                    };
                    self.diags.push(
                        Diag::error(codes::MISPLACED, array.span, format!("nested foreach over `{}` in a different order", array.name))
                            .label(describe(sort))
                            .secondary(*at, format!("the enclosing loop iterates it {}", describe(outer)))
                            .help("iterate the inner loop in the same order, or copy the array into another one first"),
                    );
                }
                let keys = keys.iter().map(|k| self.local_for(k, sc)).collect();
                let value = value.as_ref().map(|v| self.local_for(v, sc));
                let limit = limit.as_ref().map(|e| Box::new(self.expr(e, sc)));
                if let Some((_, outer, at)) = sc
                    .iterating_aggs
                    .iter()
                    .find(|(a, o, _)| *a == g && *o != agg)
                {
                    let by = |f: &Option<ast::StatFn>| {
                        f.map(|f| format!("sorted by @{}", f.name()))
                            .unwrap_or_else(|| "not sorted by value".into())
                    };
                    self.diags.push(
                        Diag::error(
                            codes::MISPLACED,
                            array.span,
                            format!("nested foreach over `{}` in a different order", array.name),
                        )
                        .label(by(&agg))
                        .secondary(*at, format!("the enclosing loop iterates it {}", by(outer)))
                        .help("sort the inner loop by the same extractor"),
                    );
                }
                sc.iterating_aggs.push((g, agg, array.span));
                let slice = slice.as_ref().map(|ks| {
                    if ks.len() != nkeys {
                        self.diags.push(
                            Diag::error(
                                codes::ARRAY_ARITY,
                                array.span,
                                format!(
                                    "the slice of `{}` has {} key(s) but the loop names {}",
                                    array.name,
                                    ks.len(),
                                    nkeys
                                ),
                            )
                            .help("give one key or `*` per column: foreach ([a, b] in arr[*, 2])"),
                        );
                    }
                    ks.iter().map(|k| self.key_or_wildcard(k, sc)).collect()
                });
                sc.iterating.push((g, *sort, array.span));
                let body = self.loop_body(body, sc);
                sc.iterating.pop();
                sc.iterating_aggs.pop();
                K::Foreach(Box::new(ir::Foreach {
                    value,
                    keys,
                    array: g,
                    agg,
                    slice,
                    sort: *sort,
                    limit,
                    body,
                }))
            }
            A::Break | A::Continue => {
                if sc.loop_depth == 0 {
                    let w = if matches!(s.kind, A::Break) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.diags.push(Diag::error(
                        codes::MISPLACED,
                        span,
                        format!("`{w}` outside a loop"),
                    ));
                }
                if matches!(s.kind, A::Break) {
                    K::Break
                } else {
                    K::Continue
                }
            }
            A::Next => {
                if !matches!(sc.owner, Owner::Probe(_)) {
                    self.diags.push(
                        Diag::error(codes::MISPLACED, span, "`next` outside a probe")
                            .help("`next` ends the probe handler; in a function use `return`"),
                    );
                }
                K::Next
            }
            A::Return(e) => {
                if matches!(sc.owner, Owner::Probe(_)) {
                    self.diags.push(
                        Diag::error(codes::MISPLACED, span, "`return` in a probe")
                            .help("use `next` to leave a probe handler early"),
                    );
                }
                if e.is_some() {
                    sc.returns_value = true;
                }
                K::Return(e.as_ref().map(|e| self.expr(e, sc)))
            }
            A::Delete(e) => match &e.kind {
                ast::ExprKind::Var(v) => match self.globals.get(&NameKey(v.name)) {
                    Some(&g) if matches!(self.shapes[g.index()], Shape::Array(..)) => {
                        K::Delete(LValue::Array(g))
                    }
                    Some(&g)
                        if self.m.globals[g].stat.is_some()
                            && !sc.names.contains_key(&NameKey(v.name)) =>
                    {
                        K::Delete(LValue::Global(g))
                    }
                    _ => match self.lvalue(e, sc) {
                        Some(lv) => {
                            sc.assign(&lv);
                            K::Delete(lv)
                        }
                        None => K::Empty,
                    },
                },
                ast::ExprKind::Index {
                    array,
                    array_span,
                    keys,
                } if keys
                    .iter()
                    .any(|k| matches!(k.kind, ast::ExprKind::Wildcard)) =>
                {
                    let g = self.array_global(*array, *array_span, keys.len());
                    let keys = keys.iter().map(|k| self.key_or_wildcard(k, sc)).collect();
                    match g {
                        Some(array) => K::Delete(LValue::Index { array, keys }),
                        None => K::Empty,
                    }
                }
                ast::ExprKind::Index { array, keys, .. } => {
                    match self.globals.get(&NameKey(*array)) {
                        Some(&g) if self.is_stat(g) => K::Delete(LValue::Index {
                            array: g,
                            keys: keys.iter().map(|k| self.expr(k, sc)).collect(),
                        }),
                        _ => match self.lvalue(e, sc) {
                            Some(lv) => K::Delete(lv),
                            None => K::Empty,
                        },
                    }
                }
                _ => {
                    self.diags.push(Diag::error(
                        codes::NOT_LVALUE,
                        e.span,
                        "`delete` takes an array, an array element or a variable",
                    ));
                    K::Empty
                }
            },
            A::Enable { .. } | A::Disable { .. } => self.lower_enable(&s.kind, sc),
            A::Try { body, var, catch } => {
                let body = self.block(body, sc);
                let var = var.as_ref().and_then(|v| {
                    let lv = self.var(v, sc);
                    if lv.is_none() {
                        self.diags.push(
                            Diag::error(
                                codes::MISPLACED,
                                v.span,
                                format!("`{}` is an array; `catch` needs a variable", v.name),
                            )
                            .label("the error message is a string: it goes into a scalar"),
                        );
                    }
                    lv.map(|lv| {
                        sc.assign(&lv);
                        (lv, v.span)
                    })
                });
                K::Try(Box::new(ir::Try {
                    body,
                    var,
                    catch: self.block(catch, sc),
                }))
            }
            A::Empty => K::Empty,
        };
        ir::Stmt { kind, span }
    }

    /// A key of `in` or `delete`, where `*` matches any value of its column.
    fn key_or_wildcard(&mut self, k: &ast::Expr, sc: &mut Scope) -> ir::Expr {
        match k.kind {
            ast::ExprKind::Wildcard => ir::Expr {
                kind: ExprKind::Wildcard,
                ty: Ty::Unknown,
                span: k.span,
            },
            _ => self.expr(k, sc),
        }
    }

    pub(super) fn loop_body(&mut self, s: &ast::Stmt, sc: &mut Scope) -> ir::Stmt {
        sc.loop_depth += 1;
        let b = self.stmt(s, sc);
        sc.loop_depth -= 1;
        b
    }

    /// Warns about each local of a finished body that is read but given no value anywhere
    /// (it reads as 0 or ""), as SystemTap does: usually a misspelt name.
    fn never_assigned(&mut self, sc: &Scope) {
        for (l, local) in sc.locals.iter() {
            if sc.assigned.get(l.index()).copied().unwrap_or(false) {
                continue;
            }
            let others = (sc.locals.iter())
                .filter(|(o, _)| *o != l)
                .map(|(_, o)| o.name.as_str())
                .chain(self.m.globals.iter().map(|(_, g)| g.name.as_str()));
            let mut d = Diag::warning(
                codes::WARN_NEVER_ASSIGNED,
                local.span,
                format!("local `{}` is never assigned", local.name),
            )
            .label("read here, but nothing gives it a value: it is 0 or \"\"");
            // A one- or two-letter name is near every other short one.
            if let Some(n) = (local.name.len() > 2)
                .then(|| crate::diag::nearest(&local.name, others))
                .flatten()
            {
                d = d.help(format!("did you mean `{n}`?"));
            }
            self.diags.push(d);
        }
    }

    pub(super) fn local_for(&mut self, id: &ast::Ident, sc: &mut Scope) -> Id<Local> {
        if let Some(&g) = self.globals.get(&NameKey(id.name)) {
            self.diags.push(
                Diag::error(
                    codes::MISPLACED,
                    id.span,
                    format!("`{}` is a global; foreach needs fresh local names", id.name),
                )
                .secondary(self.m.globals[g].span, "declared global here"),
            );
        }
        if let Some(&l) = sc.names.get(&NameKey(id.name)) {
            sc.assign(&LValue::Local(l));
            return l;
        }
        let l = sc.locals.alloc(Local {
            name: id.name,
            ty: Ty::Unknown,
            span: id.span,
        });
        sc.names.insert(NameKey(id.name), l);
        sc.assign(&LValue::Local(l));
        l
    }

    /// The global array `a` used with `arity` keys, or an error.
    fn array_global(&mut self, name: Name, span: Span, _arity: usize) -> Option<Id<Global>> {
        match self.globals.get(&NameKey(name)) {
            Some(&g) if matches!(self.shapes[g.index()], Shape::Array(..)) => Some(g),
            Some(_) => None, // reported by scan_shapes
            None => {
                self.diags.push(
                    Diag::error(
                        codes::UNDEFINED,
                        span,
                        format!("array `{name}` is not declared"),
                    )
                    .label("arrays must be global")
                    .help(format!("declare it at the top level: global {name}")),
                );
                None
            }
        }
    }

    // ---- expressions ----

    /// A name without keys: a local, or a scalar global. `None` for an array global used
    /// without keys, which `scan_shapes` has reported.
    fn var(&mut self, v: &ast::Ident, sc: &mut Scope) -> Option<LValue> {
        if let Some(&l) = sc.names.get(&NameKey(v.name)) {
            return Some(LValue::Local(l));
        }
        if let Some(&g) = self.globals.get(&NameKey(v.name)) {
            if self.m.globals[g].stat.is_some() {
                self.stat_as_value(g, v.span);
                return None;
            }
            match self.shapes[g.index()] {
                Shape::Array(..) => return None,
                Shape::Unknown => self.shapes[g.index()] = Shape::Scalar(v.span),
                Shape::Scalar(_) => {}
            }
            return Some(LValue::Global(g));
        }
        let l = sc.locals.alloc(Local {
            name: v.name,
            ty: Ty::Unknown,
            span: v.span,
        });
        sc.names.insert(NameKey(v.name), l);
        Some(LValue::Local(l))
    }

    fn lvalue(&mut self, e: &ast::Expr, sc: &mut Scope) -> Option<LValue> {
        match &e.kind {
            ast::ExprKind::Var(v) => self.var(v, sc),
            ast::ExprKind::Index {
                array,
                array_span,
                keys,
            } => {
                let g = self.array_global(*array, *array_span, keys.len());
                if let Some(g) = g.filter(|g| self.is_stat(*g)) {
                    self.stat_as_value(g, e.span);
                    return None;
                }
                let keys: Box<[ir::Expr]> = keys.iter().map(|k| self.expr(k, sc)).collect();
                Some(LValue::Index { array: g?, keys })
            }
            _ => {
                self.diags.push(
                    Diag::error(
                        codes::NOT_LVALUE,
                        e.span,
                        "cannot assign to this expression",
                    )
                    .label("not a variable or array element"),
                );
                None
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr, sc: &mut Scope) -> ir::Expr {
        use ast::ExprKind as A;
        let span = e.span;
        let mk = |kind| ir::Expr {
            kind,
            ty: Ty::Unknown,
            span,
        };
        // For an expression that could not be lowered, once an error has said why: it has no
        // type, so that inference neither types anything from it nor reports mismatches that
        // only follow from it (the error stops the run before pass 3).
        let err = || ir::Expr {
            kind: ExprKind::Invalid,
            ty: Ty::Unknown,
            span,
        };
        match &e.kind {
            A::Lit(l) => match &l.value {
                LitValue::Int(v) => mk(ExprKind::Long(*v)),
                LitValue::Str(s) => mk(ExprKind::Str(*s)),
            },
            A::Var(_) | A::Index { .. } => match self.lvalue(e, sc) {
                Some(lv) => mk(ExprKind::Var(lv)),
                None => err(),
            },
            A::Call {
                name,
                name_span,
                args,
            } => {
                let name = ast::Ident {
                    name: *name,
                    span: *name_span,
                };
                self.call(&name, args, span, sc)
            }
            A::Unary { op, e } => {
                let e = self.expr(e, sc);
                mk(ExprKind::Unary {
                    op: *op,
                    e: Box::new(e),
                })
            }
            A::Binary { op, l, r } => {
                let dead = match op {
                    ast::BinOp::And => const_truth(l) == Some(false),
                    ast::BinOp::Or => const_truth(l) == Some(true),
                    _ => false,
                };
                let l = self.expr(l, sc);
                let r = self.lower_maybe_dead(dead, |s| s.expr(r, sc));
                mk(ExprKind::Binary {
                    op: *op,
                    l: Box::new(l),
                    r: Box::new(r),
                })
            }
            A::Ternary { cond, then, els } => {
                let known = const_truth(cond);
                let c = self.expr(cond, sc);
                let t = self.lower_maybe_dead(known == Some(false), |s| s.expr(then, sc));
                let f = self.lower_maybe_dead(known == Some(true), |s| s.expr(els, sc));
                mk(ExprKind::Ternary {
                    cond: Box::new(c),
                    then: Box::new(t),
                    els: Box::new(f),
                })
            }
            A::Assign { op, target, value } => {
                let value = self.expr(value, sc);
                // `$x = v` is lowered as `$x` is: reported, or a 0 in dead code (which an
                // lvalue could not stand for).
                if matches!(target.kind, A::TargetVar(_)) {
                    return self.expr(target, sc);
                }
                match self.lvalue(target, sc) {
                    Some(target) => {
                        sc.assign(&target);
                        mk(ExprKind::Assign {
                            op: *op,
                            target,
                            value: Box::new(value),
                        })
                    }
                    None => err(),
                }
            }
            A::IncDec {
                target,
                inc,
                pre,
                op_on_next_line,
            } => {
                if matches!(target.kind, A::TargetVar(_)) {
                    return self.expr(target, sc);
                }
                if !matches!(target.kind, A::Var(_) | A::Index { .. }) {
                    let op = if *inc { "++" } else { "--" };
                    let what = if *inc { "increment" } else { "decrement" };
                    let mut d = Diag::error(
                        codes::NOT_LVALUE,
                        target.span,
                        format!("cannot {what} this expression"),
                    )
                    .label(format!("`{op}` needs a variable or array element"));
                    if *op_on_next_line {
                        d = d.note(format!(
                            "the `{op}` at the start of the next line continues this expression, as in SystemTap"
                        ))
                        .help(format!(
                            "end the previous line with `;` if the `{op}` belongs to the next statement"
                        ));
                    }
                    self.diags.push(d);
                    return err();
                }
                match self.lvalue(target, sc) {
                    Some(target) => {
                        sc.assign(&target);
                        mk(ExprKind::IncDec {
                            target,
                            inc: *inc,
                            pre: *pre,
                        })
                    }
                    None => err(),
                }
            }
            A::TargetVar(v) => {
                if self.dead == 0 {
                    self.diags.push(
                        Diag::error(
                            codes::LEX_UNSUPPORTED,
                            v.span,
                            format!("target variable `{}` is not supported", v.name),
                        )
                        .label("stp-hwbp has no debuginfo-based target variables")
                        .help(
                            "read kernel memory with kernel_long(), kernel_int(), ... or data_value(); `@defined(...)` of one is 0",
                        ),
                    );
                    return err();
                }
                // Not reported in code that never runs, which is still compiled (as `if (0)`
                // is): a 0 there, not a placeholder.
                mk(ExprKind::Long(0))
            }
            A::Wildcard => {
                self.diags.push(
                    Diag::error(codes::MISPLACED, e.span, "`*` stands for any key only in `in` and `delete`")
                        .label("not a value")
                        .help("write `[k, *] in arr` to test for some key whose first column is k, or `delete arr[k, *]` to remove them all"),
                );
                err()
            }
            A::In {
                keys,
                array,
                array_span,
            } => {
                let g = self.array_global(*array, *array_span, keys.len());
                let keys = keys.iter().map(|k| self.key_or_wildcard(k, sc)).collect();
                match g {
                    Some(array) => mk(ExprKind::In { array, keys }),
                    None => err(),
                }
            }
            A::StatAdd { .. } => {
                self.diags.push(stats::misplaced_add(span));
                err()
            }
            A::StatOp {
                op,
                arg,
                params,
                bucket,
            } => self.lower_stat_op(*op, arg, params, bucket.as_deref(), span, sc),
            A::Regex { s, negate, pattern } => {
                let s = self.expr(s, sc);
                match self.regex(pattern) {
                    Some(re) => mk(ExprKind::Regex {
                        s: Box::new(s),
                        re,
                        negate: *negate,
                    }),
                    None => err(),
                }
            }
        }
    }

    /// The compiled regular expression of a `=~`/`!~` literal (one per distinct pattern),
    /// or None after reporting why it cannot be compiled.
    fn regex(&mut self, lit: &ast::Literal) -> Option<Id<ir::Regex>> {
        let LitValue::Str(p) = &lit.value else {
            return None;
        };
        if let Some((id, _)) = self.m.regexes.iter().find(|(_, r)| r.pattern == p.as_str()) {
            return Some(id);
        }
        match regex::compile(p) {
            Ok(r) => Some(self.m.regexes.alloc(r)),
            Err(why) => {
                self.diags.push(
                    Diag::error(
                        codes::REGEX,
                        lit.span,
                        "this regular expression cannot be used",
                    )
                    .label(why)
                    .help("the syntax is POSIX extended regular expressions, as in SystemTap"),
                );
                None
            }
        }
    }

    /// A printd's delimiter, as the one text piece of its format. As in SystemTap, it must
    /// be a literal string, and two or more values follow it.
    fn delimiter(
        &mut self,
        b: Builtin,
        args: &[ast::Expr],
        span: Span,
    ) -> std::rc::Rc<[ir::FmtPiece]> {
        let delim = match args.first().map(|a| &a.kind) {
            Some(ast::ExprKind::Lit(ast::Lit {
                value: LitValue::Str(d),
                ..
            })) => Some(d.to_string()),
            Some(_) => {
                self.diags.push(
                    Diag::error(
                        codes::FORMAT,
                        args[0].span,
                        format!("the delimiter of {} must be a literal string", b.name()),
                    )
                    .help(format!(
                        "write {}(\",\", a, b) to separate the values with a comma",
                        b.name()
                    )),
                );
                None
            }
            None => None,
        };
        if args.len() < 3 {
            self.diags.push(
                Diag::error(
                    codes::CALL_ARITY,
                    span,
                    format!(
                        "{} needs a delimiter and at least two values, {} argument(s) given",
                        b.name(),
                        args.len()
                    ),
                )
                .help(format!(
                    "to print one value, use {}",
                    b.name().replace('d', "")
                )),
            );
        }
        match delim {
            Some(d) => std::rc::Rc::new([ir::FmtPiece::Text(d)]),
            None => self.no_format.clone(),
        }
    }

    /// The function a call of `name` with `nargs` arguments names, allocated on first use.
    fn callee(&mut self, name: &ast::Ident, nargs: usize) -> Option<Id<Function>> {
        let public = !self.private_names.contains(&NameKey(name.name));
        // Most calls name a public function called before with the same arity: the one
        // `decls` gives for its name, found by the name's address (no key, no text hashed).
        if let Some(&f) = self.fn_ids.get(&NameKey(name.name)) {
            if public && self.m.functions[f].params.len() == nargs {
                return Some(f);
            }
        }
        // A tapset's private function, called from that tapset, before any public one; then
        // the overload of this arity, when the name's entry has another one.
        // Most calls name a public function by its name: no key is built for them.
        let private = Some(&name.name)
            .filter(|_| !public)
            .map(|n| private_key(name.span.file, n))
            .filter(|k| self.decls.contains_key(k.as_str()));
        let key = match private {
            Some(k) => Name::from_string(k),
            None => match self.decls.get(&name.name) {
                Some(d) if d.decl.params.len() != nargs => {
                    let k = overload_key(&name.name, nargs);
                    if self.decls.contains_key(k.as_str()) {
                        Name::from_string(k)
                    } else {
                        name.name
                    }
                }
                _ => name.name,
            },
        };
        self.function_id(key)
    }

    fn call(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        sc: &mut Scope,
    ) -> ir::Expr {
        let which = builtin(&name.name);
        // A printf's format is lowered (for what it reports) but not kept: its pieces are;
        // so is a printd's delimiter.
        let formatted = matches!(which, Some(Builtin::Printf | Builtin::Sprintf))
            || which.is_some_and(Builtin::delimited);
        let skip = usize::from(formatted && !args.is_empty());
        args[..skip].iter().for_each(|a| drop(self.expr(a, sc)));
        let lowered: Vec<ir::Expr> = args[skip..].iter().map(|a| self.expr(a, sc)).collect();
        let mk = |kind| ir::Expr {
            kind,
            ty: Ty::Unknown,
            span,
        };
        if let Some(b) = which {
            let mut format = self.no_format.clone();
            if matches!(b, Builtin::Printf | Builtin::Sprintf) {
                match args.first().map(|a| &a.kind) {
                    Some(ast::ExprKind::Lit(ast::Lit {
                        value: LitValue::Str(f),
                        ..
                    })) => {
                        // The literal's span is its expression's.
                        let fsp = &args[0].span;
                        let parsed = match self.formats.get(f) {
                            Some(p) => Ok(p.clone()),
                            // A bad format is reported at each use: it is not kept.
                            None => format::parse(f, *fsp).map(|p| {
                                let p: std::rc::Rc<[ir::FmtPiece]> = p.into();
                                self.formats.insert(*f, p.clone());
                                p
                            }),
                        };
                        match parsed {
                            Ok(p) => {
                                let want = format::arg_types(&p).count();
                                if want != args.len() - 1 {
                                    self.diags.push(
                                    Diag::error(codes::FORMAT, span, format!("{}: the format takes {want} argument(s) but {} given", b.name(), args.len() - 1))
                                        .secondary(*fsp, "the format"),
                                );
                                }
                                format = p;
                            }
                            Err(d) => self.diags.push(d),
                        }
                    }
                    Some(_) => self.diags.push(
                        Diag::error(
                            codes::FORMAT,
                            args[0].span,
                            format!("the format of {} must be a literal string", b.name()),
                        )
                        .help(format!(
                            "write {}(\"%s\", value) to print a computed string",
                            b.name()
                        )),
                    ),
                    None => self.diags.push(Diag::error(
                        codes::CALL_ARITY,
                        span,
                        format!("{} needs a format", b.name()),
                    )),
                }
            } else if b.delimited() {
                format = self.delimiter(b, args, span);
            } else if args.is_empty() && matches!(b, Builtin::Print | Builtin::Sprint) {
                self.diags.push(Diag::error(
                    codes::CALL_ARITY,
                    span,
                    format!("{} needs at least one argument", b.name()),
                ));
            }
            return mk(ExprKind::Builtin {
                which: b,
                format,
                args: lowered.into_boxed_slice(),
            });
        }
        let Some(f) = self.callee(name, args.len()) else {
            let mut cands: Vec<&str> = self
                .decls
                .keys()
                .map(|s| s.as_str())
                .filter(|s| !s.starts_with(PRIVATE_PREFIX) && !s.contains('/'))
                .collect();
            cands.extend([
                "printf",
                "sprintf",
                "print",
                "println",
                "sprint",
                "sprintln",
                "printd",
                "printdln",
                "sprintd",
                "sprintdln",
            ]);
            let mut d = Diag::error(
                codes::UNDEFINED,
                name.span,
                format!("unknown function `{}`", name.name),
            )
            .label("not defined in the script or the tapsets");
            if let Some(s) = crate::diag::nearest(&name.name, cands) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            let hidden = format!("_{}", name.name);
            if let Some((_, fd)) = self
                .decls
                .iter()
                .find(|(k, _)| k.starts_with(PRIVATE_PREFIX) && k.ends_with(&hidden))
            {
                d = d.secondary(
                    fd.decl.name.span,
                    "a private function of this tapset: only its own file may call it",
                );
            }
            self.diags.push(d);
            // Of no type: what the call was meant to be is unknown, so nothing is inferred
            // from it and no mismatch is reported against it.
            return mk(ExprKind::Invalid);
        };
        let nparams = self.m.functions[f].params.len();
        if nparams != args.len() {
            let fspan = self.m.functions[f].span;
            let mut arities: Vec<usize> = std::iter::once(nparams)
                .chain((0..=8).filter(|n| {
                    self.decls
                        .contains_key(overload_key(&name.name, *n).as_str())
                }))
                .collect();
            arities.sort_unstable();
            arities.dedup();
            let takes = match arities.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!(
                    "{} or {last}",
                    rest.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => nparams.to_string(),
            };
            let mut d = Diag::error(
                codes::CALL_ARITY,
                span,
                format!(
                    "`{}` takes {takes} argument(s) but {} given",
                    name.name,
                    args.len()
                ),
            );
            if self.m.functions[f].origin == FnOrigin::Script {
                d = d.secondary(fspan, "defined here");
            }
            self.diags.push(d);
        }
        self.calls.push((sc.owner, f, span));
        mk(ExprKind::Call {
            func: f,
            args: lowered,
        })
    }
}

/// How a tapset's private function is named, so that only its own file finds it (as
/// SystemTap mangles them).
const PRIVATE_PREFIX: &str = "__private_";

fn private_key(file: crate::diag::FileId, name: &str) -> String {
    format!("{PRIVATE_PREFIX}{}_{name}", file.0)
}

pub fn ty_of(t: ast::TypeName) -> Ty {
    match t {
        ast::TypeName::Long => Ty::Long,
        ast::TypeName::String => Ty::Str,
    }
}

/// A probe point's canonical text, as `pp()` returns it.
fn probes_text(pp: &ast::ProbePoint) -> String {
    crate::syntax::print::probe_point(pp)
        .trim_end_matches(['?', '!'])
        .to_string()
}
