//! Reducing a failing script on the generator's tree rather than on its text, so that every
//! candidate still prints in both layouts: greedily drop items, global declarations, probe
//! points and conditions, statements, or replace a compound statement by its body, keeping each
//! change after which the failure is still there (the caller's `fails` decides, and rejects
//! candidates that broke the script some other way).

use super::model::*;

/// Applies edit number `k` (in a fixed walk over the script), if there are that many.
fn apply(s: &Script, k: usize) -> Option<Script> {
    let mut s = s.clone();
    let mut k = k;
    edit_items(&mut s.items, &mut k).then_some(s)
}

/// Counts `k` down through the edits of `v`; makes edit 0 and says so.
fn edit_items(v: &mut Vec<Item>, k: &mut usize) -> bool {
    for i in 0..v.len() {
        if step(k) {
            v.remove(i);
            return true;
        }
        let done = match &mut v[i] {
            Item::Globals(gs) if gs.len() > 1 => {
                let mut hit = false;
                for j in 0..gs.len() {
                    if step(k) {
                        gs.remove(j);
                        hit = true;
                        break;
                    }
                }
                hit
            }
            Item::Globals(_) | Item::Embedded(_) => false,
            Item::Function(f) => edit_stmts(&mut f.body, k),
            Item::Probe(p) => edit_probe(p, k),
        };
        if done {
            return true;
        }
    }
    false
}

fn edit_probe(p: &mut ProbeDecl, k: &mut usize) -> bool {
    if p.cond.is_some() && step(k) {
        p.cond = None;
        return true;
    }
    if p.points.len() > 1 {
        for j in 0..p.points.len() {
            if step(k) {
                p.points.remove(j);
                return true;
            }
        }
    }
    edit_stmts(&mut p.body, k)
}

/// Whether edit `k` is this one; counts down if not.
fn step(k: &mut usize) -> bool {
    if *k == 0 {
        return true;
    }
    *k -= 1;
    false
}

/// The statements a compound statement can be replaced by.
fn inner(s: &Stmt) -> Option<Vec<Stmt>> {
    let one = |b: &Stmt| match b {
        Stmt::Block(v) => v.clone(),
        other => vec![other.clone()],
    };
    match s {
        Stmt::Block(v) => Some(v.clone()),
        Stmt::If(_, t, _) | Stmt::While(_, t) | Stmt::For(.., t) | Stmt::Foreach(_, t) => {
            Some(one(t))
        }
        Stmt::Pp(_, t, _) => Some(t.clone()),
        _ => None,
    }
}

fn edit_stmts(v: &mut Vec<Stmt>, k: &mut usize) -> bool {
    for i in 0..v.len() {
        if step(k) {
            v.remove(i);
            return true;
        }
        if let Some(body) = inner(&v[i]) {
            if step(k) {
                v.splice(i..=i, body);
                return true;
            }
        }
        if edit_children(&mut v[i], k) {
            return true;
        }
    }
    false
}

/// Edits inside one statement: its blocks, or a lone body emptied.
fn edit_children(s: &mut Stmt, k: &mut usize) -> bool {
    let body = |b: &mut Stmt, k: &mut usize| match b {
        Stmt::Block(v) => edit_stmts(v, k),
        other => {
            if step(k) {
                *other = Stmt::Block(vec![]);
                return true;
            }
            edit_children(other, k)
        }
    };
    match s {
        Stmt::Block(v) => edit_stmts(v, k),
        Stmt::If(_, t, e) => {
            if e.is_some() && step(k) {
                *e = None;
                return true;
            }
            body(t, k) || e.as_deref_mut().is_some_and(|e| body(e, k))
        }
        Stmt::While(_, b) | Stmt::For(.., b) | Stmt::Foreach(_, b) => body(b, k),
        Stmt::Pp(_, t, e) => edit_stmts(t, k) || edit_stmts(e, k),
        _ => false,
    }
}

/// Removes chunks of `v`, halving their size, while `fails` holds without them: few tries
/// when most of a list is irrelevant, which matters when one try is a kbuild run.
fn chunks<T: Clone>(v: &[T], fails: &mut dyn FnMut(&[T]) -> bool, tries: &mut usize) -> Vec<T> {
    let mut cur = v.to_vec();
    let mut size = cur.len() / 2;
    while size >= 1 && *tries > 0 {
        let mut at = 0;
        while at < cur.len() && *tries > 0 {
            *tries -= 1;
            let mut cand = cur.clone();
            cand.drain(at..(at + size).min(cur.len()));
            if fails(&cand) {
                cur = cand;
            } else {
                at += size;
            }
        }
        size /= 2;
    }
    cur
}

/// The smallest script reached from `s` by edits after which `fails` still holds, trying at
/// most `budget` candidates: whole items first, then each body's statements in chunks, then
/// single edits anywhere.
pub fn reduce(s: &Script, budget: usize, fails: &mut dyn FnMut(&Script) -> bool) -> Script {
    let mut tries = budget;
    let items = chunks(
        &s.items,
        &mut |items| {
            fails(&Script {
                items: items.to_vec(),
                ..s.clone()
            })
        },
        &mut tries,
    );
    let mut cur = Script { items, ..s.clone() };
    for i in 0..cur.items.len() {
        let body = match &cur.items[i] {
            Item::Function(f) => f.body.clone(),
            Item::Probe(p) => p.body.clone(),
            Item::Globals(_) | Item::Embedded(_) => continue,
        };
        let base = cur.clone();
        let kept = chunks(
            &body,
            &mut |stmts| {
                let mut c = base.clone();
                match &mut c.items[i] {
                    Item::Function(f) => f.body = stmts.to_vec(),
                    Item::Probe(p) => p.body = stmts.to_vec(),
                    Item::Globals(_) | Item::Embedded(_) => {}
                }
                fails(&c)
            },
            &mut tries,
        );
        match &mut cur.items[i] {
            Item::Function(f) => f.body = kept,
            Item::Probe(p) => p.body = kept,
            Item::Globals(_) | Item::Embedded(_) => {}
        }
    }
    loop {
        let mut progress = false;
        let mut k = 0;
        while let Some(cand) = apply(&cur, k) {
            if tries == 0 {
                return cur;
            }
            tries -= 1;
            if fails(&cand) {
                cur = cand;
                progress = true;
            } else {
                k += 1;
            }
        }
        if !progress {
            return cur;
        }
    }
}
