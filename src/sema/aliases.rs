//! Probe aliases, first step of pass 2. `probe NAME = POINT, ... { prologue }` and
//! `probe A.B += POINT { epilogue }` (from the script or a tapset) define; a probe that names an
//! alias (`probe NAME`, `probe NAME.SUFFIX`, a wildcard `probe A.*`) is rewritten into one probe
//! per matching definition, whose points are the definition's with the suffix appended and whose
//! body is the prologue, then the probe's body, then the epilogue, in one scope: a local the
//! prologue sets is the body's. The rewritten script is what the rest of pass 2 elaborates.
//!
//! `probe NAME = kernel.data(...)` and `probe NAME(PARAM) = kernel.data(...)` are not aliases:
//! they name a watchpoint (`watches.rs`), so they stay as written.

use crate::diag::{Diag, Diags, Span, codes};
use crate::syntax::ast::{self, Item, ProbeDecl, ProbePoint, Stmt, StmtKind};
use crate::syntax::preprocess::glob;

/// Aliases of aliases nest at most this deep (a deeper chain is taken for a loop). SystemTap
/// sets no depth: this only has to be far above any real chain of tapset aliases.
pub const MAX_ALIAS_DEPTH: usize = 128;

/// Probes the alias uses of one script may expand into, in all. An alias naming another
/// alias twice doubles the probes at every level, so the depth alone does not bound the work.
pub const MAX_ALIAS_EXPANSIONS: usize = 10_000;

struct Alias<'a> {
    names: Vec<&'a str>,
    decl: &'a ProbeDecl,
}

/// Whether `probe NAME... = POINT` is an alias (rather than a named watchpoint).
pub fn is_alias(p: &ProbeDecl) -> bool {
    let Some(w) = &p.watch else { return false };
    if w.param.is_some() {
        // Only watchpoints take a parameter; watches.rs reports a non-kernel.data one.
        return false;
    }
    let data = p.points.first().is_some_and(|pp| {
        let c = &pp.components;
        c.len() >= 2 && c[0].name.name == "kernel" && c[1].name.name == "data"
    });
    w.append || !w.rest.is_empty() || !data
}

/// The script with alias definitions taken out and alias uses expanded, consumed so that
/// its items move rather than being copied, and whether it was rewritten. A script without
/// aliases (in it or in the tapsets) comes back as it is.
pub fn expand(
    mut script: ast::Script,
    tapsets: &[ast::Script],
    diags: &mut Diags,
) -> (ast::Script, bool) {
    let defines = |s: &ast::Script| {
        s.items
            .iter()
            .any(|it| matches!(it, Item::Probe(p) if is_alias(p)))
    };
    if !defines(&script) && !tapsets.iter().any(defines) {
        return (script, false);
    }
    // The script's own definitions leave its items first, in order, so that the rest can be
    // moved while the definitions are borrowed.
    let own: Vec<ProbeDecl> = script
        .items
        .extract_if(.., |it| matches!(it, Item::Probe(p) if is_alias(p)))
        .filter_map(|it| match it {
            Item::Probe(p) => Some(p),
            _ => None,
        })
        .collect();
    let mut defs: Vec<Alias> = vec![];
    let tapset_defs = tapsets
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|it| match it {
            Item::Probe(p) if is_alias(p) => Some(p),
            _ => None,
        });
    for p in tapset_defs.chain(&own) {
        let Some(w) = &p.watch else { continue };
        let mut names = vec![w.name.name.as_str()];
        names.extend(w.rest.iter().map(|r| r.name.as_str()));
        if p.cond.is_some() {
            diags.push(
                Diag::error(
                    codes::PROBE_ALIAS,
                    p.span,
                    format!("alias `{}` cannot have a condition", names.join(".")),
                )
                .help("put the `if (...)` on the probes that use the alias"),
            );
        }
        defs.push(Alias { names, decl: p });
    }
    let mut items = Vec::with_capacity(script.items.len());
    let mut ex = Expander {
        defs: &defs,
        diags,
        expansions: 0,
        over_budget: false,
    };
    for it in script.items {
        match it {
            Item::Probe(p) => {
                let mut out = vec![];
                // A probe whose expansion failed is reported once and left out whole.
                if !ex.over_budget && ex.probe(&p, 0, p.span, &mut out).is_ok() {
                    items.extend(out.into_iter().map(Item::Probe));
                }
            }
            other => items.push(other),
        }
    }
    (ast::Script { items }, true)
}

/// An expansion that failed, already reported: the written probe is dropped.
struct Failed;

struct Expander<'d, 'a> {
    defs: &'d [Alias<'a>],
    diags: &'a mut Diags,
    /// Probes made so far, against `MAX_ALIAS_EXPANSIONS`.
    expansions: usize,
    /// `MAX_ALIAS_EXPANSIONS` was reached (and reported): nothing more is expanded.
    over_budget: bool,
}

/// The definitions a written point names, each with the suffix left after the alias's name.
fn matches<'d, 'a>(pp: &ProbePoint, defs: &'d [Alias<'a>]) -> Vec<(&'d Alias<'a>, usize)> {
    let c = &pp.components;
    defs.iter()
        .filter(|d| {
            d.names.len() <= c.len()
                && d.names.iter().zip(c).all(|(n, comp)| {
                    comp.arg.is_none() && comp.param.is_none() && glob(&comp.name.name, n)
                })
        })
        .map(|d| (d, d.names.len()))
        .collect()
}

impl Expander<'_, '_> {
    /// Expands `p`, written at `origin`, into `out`; `depth` aliases deep.
    fn probe(
        &mut self,
        p: &ProbeDecl,
        depth: usize,
        origin: Span,
        out: &mut Vec<ProbeDecl>,
    ) -> Result<(), Failed> {
        let mut plain = vec![];
        let mut expanded = vec![];
        for pp in &p.points {
            let found = matches(pp, self.defs);
            if found.is_empty() {
                plain.push(pp.clone());
                continue;
            }
            if depth >= MAX_ALIAS_DEPTH {
                let d = found[0].0;
                self.diags.push(
                    Diag::error(
                        codes::PROBE_ALIAS,
                        origin,
                        format!(
                            "alias `{}` expands more than {MAX_ALIAS_DEPTH} levels deep: do aliases name each other?",
                            d.names.join(".")
                        ),
                    )
                    .label("in the expansion of this probe")
                    .secondary(d.decl.span, "this alias is still expanding"),
                );
                return Err(Failed);
            }
            for (def, k) in found {
                if self.expansions >= MAX_ALIAS_EXPANSIONS {
                    self.over_budget = true;
                    self.diags.push(
                        Diag::error(
                            codes::PROBE_ALIAS,
                            origin,
                            format!(
                                "the aliases this probe uses expand into more than {MAX_ALIAS_EXPANSIONS} probes"
                            ),
                        )
                        .label("in the expansion of this probe")
                        .secondary(def.decl.span, "still expanding this alias")
                        .help(
                            "each point that names an alias becomes a probe of its own, so an \
                             alias that names another alias twice doubles the probes at every \
                             level: name each alias once",
                        ),
                    );
                    return Err(Failed);
                }
                self.expansions += 1;
                let suffix = &pp.components[k..];
                let points = def
                    .decl
                    .points
                    .iter()
                    .map(|t| {
                        let mut t = t.clone();
                        t.components.extend(suffix.iter().cloned());
                        t.optional |= pp.optional;
                        t.sufficient |= pp.sufficient;
                        t.span = pp.span;
                        t
                    })
                    .collect();
                let (first, last) = if def.decl.watch.as_ref().is_some_and(|w| w.append) {
                    (&p.body, &def.decl.body)
                } else {
                    (&def.decl.body, &p.body)
                };
                let block = |b: &ast::Block| Stmt {
                    kind: StmtKind::Block(b.clone()),
                    span: b.span,
                };
                expanded.push(ProbeDecl {
                    watch: None,
                    points,
                    cond: p.cond.clone(),
                    body: ast::Block {
                        stmts: vec![block(first), block(last)],
                        span: p.body.span,
                    },
                    span: p.span,
                });
            }
        }
        if !plain.is_empty() {
            out.push(ProbeDecl {
                points: plain,
                ..p.clone()
            });
        }
        for e in expanded {
            self.probe(&e, depth + 1, origin, out)?;
        }
        Ok(())
    }
}
