//! Named watchpoints in pass 2: their declarations (`probe NAME[(PARAM)] = kernel.data(...)`),
//! the `enable`/`disable` statements that name them, the parameter their probes bind, and the
//! checks that tie sub-probes to watches. Probe point resolution itself is in `probes.rs`.

use super::{Elab, Scope, probes};
use crate::diag::{Diag, Span, codes, nearest};
use crate::ir::{self, Id, PointKind, Watch, WatchAddr};
use crate::syntax::ast::{self, Item};

impl Elab<'_> {
    /// Declares every named watchpoint before any probe is resolved, so that sub-probes and
    /// `enable` may name one declared further down.
    pub(super) fn declare_watches(&mut self, script: &ast::Script) {
        let families = probes::family_names();
        for it in &script.items {
            let Item::Probe(p) = it else { continue };
            let Some(w) = &p.watch else { continue };
            let name = &w.name;
            if families.contains(&name.name.as_str()) {
                self.diags.push(
                    Diag::error(
                        codes::WATCH_DECL,
                        name.span,
                        format!(
                            "`{}` is a family of probe points and cannot name a watchpoint",
                            name.name
                        ),
                    )
                    .label("choose another name"),
                );
                self.bad_watches.insert(name.name.to_string());
                continue;
            }
            if let Some(&prev) = self.named.get(name.name.as_str()) {
                self.diags.push(
                    Diag::error(
                        codes::DUPLICATE,
                        name.span,
                        format!("watchpoint `{}` is declared twice", name.name),
                    )
                    .secondary(self.m.watches[prev].span, "first declared here"),
                );
                continue;
            }
            match probes::declare_named(w, &p.points, &mut self.m, self.diags) {
                Some(id) => {
                    self.named.insert(name.name.to_string(), id);
                    self.declared.insert(p.span, id);
                }
                None => {
                    self.bad_watches.insert(name.name.to_string());
                }
            }
        }
    }

    /// The parameter a probe binds: the name the parametric watchpoints' declarations give
    /// it, when every point of the probe is a hit or sub-probe of a parametric watchpoint and
    /// they all give it the same name (the value is the address of whichever instance the
    /// probe runs for). Watchpoints that name it differently sharing one body are an error.
    pub(super) fn watch_param(
        &mut self,
        points: &[ir::Point],
    ) -> Option<crate::syntax::name::Name> {
        let mut names: Vec<(crate::syntax::name::Name, Id<Watch>)> = Vec::new();
        for pt in points {
            let w = match pt.kind {
                PointKind::Data(w) | PointKind::Change(w) | PointKind::WatchSub(w, _) => w,
                _ => return None,
            };
            match &self.m.watches[w].addr {
                WatchAddr::Param(n) => {
                    if !names.iter().any(|(m, _)| m == n) {
                        names.push((*n, w));
                    }
                }
                _ => return None,
            }
        }
        match names.as_slice() {
            [] => None,
            [(n, _)] => Some(*n),
            [(a, wa), (b, wb), ..] => {
                let ta = self.m.watches[*wa].label().to_string();
                let tb = self.m.watches[*wb].label().to_string();
                let span = points[0].span.to(points[points.len() - 1].span);
                self.diags.push(
                    Diag::error(
                        codes::WATCH_SUB,
                        span,
                        format!(
                            "this probe's watchpoints name their parameter differently: `{a}` in `{ta}`, `{b}` in `{tb}`"
                        ),
                    )
                    .help("give the parametric watchpoints whose probes share a body the same parameter name"),
                );
                None
            }
        }
    }

    /// After every probe: a sub-probe needs a watch that some probe reports hits of, and a
    /// named watchpoint nothing enables is a warning.
    pub(super) fn check_watches(&mut self) {
        for (id, w) in self.m.watches.iter() {
            if w.users.is_empty() {
                if let Some(&(_, _, k)) = w.subs.first() {
                    self.diags.push(
                        Diag::error(
                            codes::WATCH_SUB,
                            w.span,
                            format!("`.{}` of a watchpoint that no probe watches", k.name()),
                        )
                        .label(format!("no probe reports the hits of `{}`", w.text))
                        .help(format!(
                            "add the probe whose sub-probe this is: probe {} {{ ... }}",
                            w.text
                        )),
                    );
                }
            }
            if let Some(n) = &w.name {
                // Not with errors: an `enable` the errors hide would make it noise.
                if !self.enabled.contains(&id) && !self.diags.has_errors() {
                    self.diags.push(
                        Diag::warning(
                            codes::WARN_NEVER_ENABLED,
                            w.span,
                            format!("watchpoint `{n}` is never enabled"),
                        )
                        .label("declared here")
                        .note("a named watchpoint is armed only by `enable`")
                        .help(format!(
                            "write `enable {n}{}` in a probe, e.g. probe begin",
                            if matches!(w.addr, WatchAddr::Param(_)) {
                                "(ADDRESS)"
                            } else {
                                ""
                            }
                        )),
                    );
                }
            }
        }
    }

    /// `enable NAME[(ADDR)] [later]` and `disable NAME[(ADDR)]`.
    pub(super) fn lower_enable(&mut self, s: &ast::StmtKind, sc: &mut Scope) -> ir::StmtKind {
        let (name, arg, later, enable) = match s {
            ast::StmtKind::Enable { name, arg, later } => (name, arg, later, true),
            ast::StmtKind::Disable { name, arg, later } => (name, arg, later, false),
            _ => return ir::StmtKind::Empty,
        };
        let verb = if enable { "enable" } else { "disable" };
        let Some(&w) = self.named.get(name.name.as_str()) else {
            if self.bad_watches.contains(name.name.as_str()) {
                // Its declaration was refused and said why.
                return ir::StmtKind::Empty;
            }
            let mut d = Diag::error(
                codes::WATCH_UNKNOWN,
                name.span,
                format!("no watchpoint named `{}`", name.name),
            )
            .label(format!("`{verb}` needs a named watchpoint"));
            d = match nearest(&name.name, self.named.keys().map(|k| k.as_str())) {
                Some(n) => d.help(format!("did you mean `{n}`?")),
                None => d.help(format!(
                    "declare it: probe {} = kernel.data(ADDRESS).length(N).write {{ ... }}",
                    name.name
                )),
            };
            self.diags.push(d);
            return ir::StmtKind::Empty;
        };
        let decl: Span = self.m.watches[w].span;
        let parametric = matches!(self.m.watches[w].addr, WatchAddr::Param(_));
        let mut arg = arg.as_ref();
        match (parametric, arg) {
            (true, None) if enable => {
                self.diags.push(
                    Diag::error(
                        codes::WATCH_ARG,
                        name.span,
                        format!("`{}` is parametric: `enable` needs its address", name.name),
                    )
                    .secondary(decl, "declared with a parameter here")
                    .help(format!("write enable {}(ADDRESS)", name.name)),
                );
            }
            (false, Some(a)) => {
                self.diags.push(
                    Diag::error(
                        codes::WATCH_ARG,
                        a.span,
                        format!("`{}` watches a fixed address and takes none", name.name),
                    )
                    .label("an address given here")
                    .secondary(decl, "declared without a parameter here")
                    .help(format!(
                        "write `{verb} {}`, or declare it as probe {}(loc) = kernel.data(loc)...",
                        name.name, name.name
                    )),
                );
            }
            (_, Some(a))
                if matches!(
                    a.kind,
                    ast::ExprKind::Lit(ast::Lit {
                        value: ast::LitValue::Str(_),
                        ..
                    })
                ) =>
            {
                self.diags.push(
                    Diag::error(
                        codes::WATCH_ARG,
                        a.span,
                        format!("the address of `{}` must be a number", name.name),
                    )
                    .label("a string")
                    .help("for a kernel variable, pass symbol_address(\"name\")"),
                );
                arg = None;
            }
            _ => {}
        }
        if let (false, Some(sp)) = (enable, later) {
            self.diags.push(
                Diag::error(codes::WATCH_ARG, *sp, "`later` applies only to `enable`")
                    .label("`disable` always takes effect at once")
                    .help(format!("write disable {}", name.name)),
            );
        }
        if enable {
            self.enabled.insert(w);
            if self.ending_probe {
                self.diags.push(
                    Diag::warning(
                        codes::WARN_ENABLE_AT_END,
                        name.span,
                        format!(
                            "`enable {}` in an end or error probe does nothing",
                            name.name
                        ),
                    )
                    .label("requests made while the session ends are ignored")
                    .help("enable it from a begin probe, a timer or a hit instead"),
                );
            }
        }
        let arg = arg.map(|a| self.expr(a, sc));
        if enable {
            ir::StmtKind::Enable {
                watch: w,
                arg,
                later: later.is_some(),
            }
        } else {
            ir::StmtKind::Disable { watch: w, arg }
        }
    }
}
