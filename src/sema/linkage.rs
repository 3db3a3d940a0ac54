//! Tapset globals: a `global` declared in a tapset file (the stopwatches' table, the queue
//! statistics, `@this1`'s per-thread slots) joins a module only when the script, or a tapset
//! function the script reaches, names it, as SystemTap links tapset files by need. A script
//! global of the same name wins: the tapset's is then not linked.
//!
//! Reachability is by name over the syntax trees, before elaboration, so that the shape and
//! statistics scans (which run before any function body is lowered) see the linked globals
//! and the tapset functions that use them.

use crate::syntax::ast::{self, FunctionBody, Item, walk_expr, walk_stmt};
use crate::syntax::name::Name;
// Sets of names, hashed with FxHash: SipHash's resistance to chosen keys buys nothing on a
// script's names, and it was most of the cost of these scans.
use rustc_hash::{FxHashMap, FxHashSet};

/// What a script links from the tapsets.
#[derive(Default)]
pub(super) struct Linked<'t> {
    /// The tapset globals it needs, in tapset order.
    pub globals: Vec<&'t ast::GlobalDecl>,
    /// The tapset functions it reaches that have script bodies and name a linked global: the
    /// scans of array shapes and statistics must see their uses.
    pub functions: Vec<&'t ast::FunctionDecl>,
}

/// The names a body uses: variables, arrays and called functions (one set: a name is looked
/// up as whichever it turns out to be). Interned names: no copy is made.
fn names_in(stmts: &[ast::Stmt], out: &mut FxHashSet<Name>) {
    let mut fe = |e: &ast::Expr| match &e.kind {
        ast::ExprKind::Var(v) => {
            out.insert(v.name);
        }
        ast::ExprKind::Index { array, .. } | ast::ExprKind::In { array, .. } => {
            out.insert(*array);
        }
        ast::ExprKind::Call { name, .. } => {
            out.insert(*name);
        }
        _ => {}
    };
    let mut arrays: Vec<Name> = vec![];
    let mut fs = |s: &ast::Stmt| {
        if let ast::StmtKind::Foreach(f) = &s.kind {
            arrays.push(f.array.name);
        }
    };
    for s in stmts {
        walk_stmt(s, &mut fe, &mut fs);
    }
    out.extend(arrays);
}

/// Every name a script's probes (their conditions included) and functions use.
pub(super) fn used_names(script: &ast::Script) -> FxHashSet<Name> {
    let mut names: FxHashSet<Name> = FxHashSet::default();
    for it in &script.items {
        match it {
            Item::Function(f) => names.extend(body_names(f)),
            Item::Probe(p) => {
                names_in(&p.body.stmts, &mut names);
                if let Some(c) = &p.cond {
                    walk_expr(c, &mut |e| match &e.kind {
                        ast::ExprKind::Var(v) => {
                            names.insert(v.name);
                        }
                        ast::ExprKind::Call { name, .. } => {
                            names.insert(*name);
                        }
                        ast::ExprKind::Index { array, .. } | ast::ExprKind::In { array, .. } => {
                            names.insert(*array);
                        }
                        _ => {}
                    });
                }
            }
            Item::Global(g) => {
                if let Some(e) = &g.init {
                    walk_expr(e, &mut |e| {
                        if let ast::ExprKind::Var(v) = &e.kind {
                            names.insert(v.name);
                        }
                    });
                }
            }
            Item::Embedded(..) => {}
        }
    }
    names
}

fn body_names(f: &ast::FunctionDecl) -> FxHashSet<Name> {
    let mut names = FxHashSet::default();
    if let FunctionBody::Script(b) = &f.body {
        names_in(&b.stmts, &mut names);
        for p in &f.params {
            names.remove(&p.name.name);
        }
    }
    names
}

pub(super) fn link<'t>(script: &ast::Script, tapsets: &'t [ast::Script]) -> Linked<'t> {
    let mut globals: FxHashMap<Name, &ast::GlobalDecl> = FxHashMap::default();
    let mut order: Vec<Name> = vec![];
    let mut functions: FxHashMap<Name, Vec<&ast::FunctionDecl>> = FxHashMap::default();
    for ts in tapsets {
        for it in &ts.items {
            match it {
                Item::Global(g) if globals.insert(g.name.name, g).is_none() => {
                    order.push(g.name.name);
                }
                Item::Function(f) => functions.entry(f.name.name).or_default().push(f),
                _ => {}
            }
        }
    }
    if globals.is_empty() {
        return Linked::default();
    }
    let script_names = used_names(script);
    let mut script_globals: FxHashSet<Name> = FxHashSet::default();
    let mut script_fns: FxHashSet<Name> = FxHashSet::default();
    for it in &script.items {
        match it {
            Item::Global(g) => {
                script_globals.insert(g.name.name);
            }
            Item::Function(f) => {
                script_fns.insert(f.name.name);
            }
            _ => {}
        }
    }
    // Walk the tapset functions the script reaches (a script function hides a tapset one).
    let mut needed: FxHashSet<Name> = FxHashSet::default();
    let mut users: Vec<&ast::FunctionDecl> = vec![];
    let mut seen: FxHashSet<Name> = FxHashSet::default();
    let mut work: Vec<Name> = script_names.iter().copied().collect();
    work.sort_unstable();
    needed.extend(work.iter().filter(|n| globals.contains_key(*n)));
    while let Some(name) = work.pop() {
        if script_fns.contains(&name) || !seen.insert(name) {
            continue;
        }
        for f in functions.get(&name).into_iter().flatten() {
            let names = body_names(f);
            let mut uses_global = false;
            for n in names {
                if globals.contains_key(&n) {
                    needed.insert(n);
                    uses_global = true;
                } else {
                    work.push(n);
                }
            }
            if uses_global {
                users.push(f);
            }
        }
    }
    Linked {
        globals: order
            .into_iter()
            .filter(|n| needed.contains(n) && !script_globals.contains(n))
            .map(|n| globals[&n])
            .collect(),
        functions: users,
    }
}
