//! Statistics in the C back end: each statistic global is a `struct stp_stat *` (per-CPU
//! records, `runtime-c/stp_stat.h`), made at load with only the fields its extractors need;
//! `<<<` writes this CPU's record with no lock, extractors and histogram printing merge
//! the records under the global's read lock (taken by the body, see `uses_of`), and
//! `delete` empties it under the write lock.

use super::body::BodyGen;
use super::names;
use super::writer::{CWriter, c_string, cline};
use crate::diag::Span;
use crate::ir::*;
use crate::syntax::ast::StatFn;

impl BodyGen<'_> {
    /// The C name of a statistic's `struct stp_stat *`: the global itself for a scalar, a
    /// companion of the key map for an array.
    fn stat_name(&self, stat: Id<Global>) -> String {
        stat_c(&self.m.globals[stat])
    }

    fn is_array(&self, stat: Id<Global>) -> bool {
        self.m.globals[stat].array.is_some()
    }

    /// `stat <<< value`, `stat[keys] <<< value`.
    pub(super) fn stat_add(&mut self, stat: Id<Global>, keys: &[Expr], value: &Expr, span: Span) {
        let g = self.stat_name(stat);
        if !self.is_array(stat) {
            let v = self.long(value);
            cline!(self.w; "stp_stat_add(", g, ", smp_processor_id(), 0, ", v, ");");
            return;
        }
        let k = self.key(stat, keys, Some(value));
        let v = self.long(value);
        let name = &self.m.globals[stat].name;
        let (map, ins) = (names::global(name), names::insert_lock(name));
        let wh = self.where_(span);
        cline!(self.w; "if (stp_stat_add_key(c, ", map, ", ", g, ", &", ins, ", &", k, ", ", v, ", ", c_string(name), ", ", wh, "))");
        self.w.line("\tgoto stp_out;");
    }

    /// An extractor, or a histogram bucket, as a C expression (a temporary).
    pub(super) fn stat_get(
        &mut self,
        stat: Id<Global>,
        keys: &[Expr],
        op: StatFn,
        bucket: Option<&Expr>,
        span: Span,
    ) -> String {
        let g = self.stat_name(stat);
        let wh = self.where_(span);
        let key = self
            .is_array(stat)
            .then(|| self.key(stat, keys, bucket))
            .map(|k| (names::global(&self.m.globals[stat].name), k));
        let call = match (bucket, &key) {
            (Some(b), None) => {
                let i = self.long(b);
                format!("stp_stat_bucket(c, {g}, 0, {i}, {wh})")
            }
            (Some(b), Some((map, k))) => {
                let i = self.long(b);
                format!("stp_stat_bucket_key(c, {map}, {g}, &{k}, {i}, {wh})")
            }
            (None, None) => format!("stp_stat_extract(c, {g}, 0, {}, {wh})", op_c(op)),
            (None, Some((map, k))) => format!(
                "stp_stat_extract_key(c, {map}, {g}, &{k}, {}, {wh})",
                op_c(op)
            ),
        };
        let t = self.temp_long();
        cline!(self.w; t, " = ", call, ";");
        self.fail_check();
        t
    }

    /// `print(@hist_*(stat))`, `println(...)`.
    pub(super) fn print_hist(
        &mut self,
        stat: Id<Global>,
        keys: &[Expr],
        newline: bool,
        span: Span,
    ) {
        let g = self.stat_name(stat);
        let wh = self.where_(span);
        if self.is_array(stat) {
            let k = self.key(stat, keys, None);
            let map = names::global(&self.m.globals[stat].name);
            cline!(self.w; "if (stp_stat_print_key(c, ", map, ", ", g, ", &", k, ", ", newline, ", ", wh, "))");
        } else {
            cline!(self.w; "if (stp_stat_print(c, ", g, ", 0, ", newline, ", ", wh, "))");
        }
        self.w.line("\tgoto stp_out;");
    }

    /// `delete stat`.
    pub(super) fn stat_clear(&mut self, stat: Id<Global>) {
        let g = self.stat_name(stat);
        cline!(self.w; "stp_stat_clear(", g, ");");
    }

    /// `delete a[keys]`, or `delete a` (no keys), of an array of statistics.
    pub(super) fn stat_delete(&mut self, stat: Id<Global>, keys: &[Expr]) {
        let g = self.stat_name(stat);
        let name = self.m.globals[stat].name;
        let map = names::global(&name);
        if keys.is_empty() {
            self.charge_work(&(&"stp_map_clear_work(", &map, &")"), &["delete ", &name]);
            cline!(self.w; "stp_stat_delete_all(", map, ", ", g, ");");
        } else {
            let k = self.key(stat, keys, None);
            cline!(self.w; "stp_stat_delete_key(", map, ", ", g, ", &", k, ");");
        }
    }

    /// Before a foreach over an array of statistics sorts by value: each entry's extractor
    /// into the map's value column.
    pub(super) fn stat_sort_values(&mut self, stat: Id<Global>, op: StatFn, span: Span) {
        let g = self.stat_name(stat);
        let name = self.m.globals[stat].name;
        let map = names::global(&name);
        self.charge_work(
            &(&"stp_stat_sort_work(", &map, &")"),
            &["foreach over ", &name],
        );
        let wh = self.where_(span);
        cline!(self.w; "if (stp_stat_sort_values(c, ", map, ", ", g, ", ", op_c(op), ", ", wh, "))");
        self.w.line("\tgoto stp_out;");
    }
}

fn op_c(op: StatFn) -> &'static str {
    match op {
        StatFn::Count => "STP_STAT_GET_COUNT",
        StatFn::Sum => "STP_STAT_GET_SUM",
        StatFn::Min => "STP_STAT_GET_MIN",
        StatFn::Max => "STP_STAT_GET_MAX",
        StatFn::Avg => "STP_STAT_GET_AVG",
        StatFn::Variance => "STP_STAT_GET_VARIANCE",
        StatFn::HistLinear | StatFn::HistLog => {
            unreachable!("pass 2 lets a histogram through only with a bucket")
        }
    }
}

fn stat_c(g: &Global) -> String {
    if g.array.is_some() {
        names::stat_records(&g.name)
    } else {
        names::global(&g.name)
    }
}

/// The declarations an array of statistics adds to its key map: its records and the lock
/// that orders the CPUs adding new keys.
pub(super) fn decl(g: &Global, w: &mut CWriter) {
    if g.array.is_some() {
        cline!(w; "static struct stp_stat *", stat_c(g), ";");
        cline!(w; "static stp_rwlock_t __maybe_unused ", names::insert_lock(&g.name), " = STP_RWLOCK_INIT;");
    }
}

/// The C arguments of `stp_stat_new` for what a statistic keeps.
fn new_args(st: &Stat) -> String {
    let mut ops = vec![];
    for (on, f) in [
        (st.sum, "STP_STAT_SUM"),
        (st.min, "STP_STAT_MIN"),
        (st.max, "STP_STAT_MAX"),
        (st.variance, "STP_STAT_VARIANCE"),
    ] {
        if on {
            ops.push(f);
        }
    }
    let ops = if ops.is_empty() {
        "0".to_string()
    } else {
        ops.join(" | ")
    };
    let (kind, lo, hi, step) = match st.hist {
        None => ("STP_HIST_NONE", 0, 0, 0),
        Some(Hist::Log) => ("STP_HIST_LOG", 0, 0, 0),
        Some(Hist::Linear { lo, hi, step }) => ("STP_HIST_LINEAR", lo, hi, step),
    };
    format!(
        "{ops}, {kind}, {}, {}, {}, {}",
        super::writer::c_long(lo),
        super::writer::c_long(hi),
        super::writer::c_long(step),
        st.shift
    )
}

/// Module init: makes the statistic (process context), or fails the load. An array's key
/// map is made before, as any array's; its records are one per map entry.
pub(super) fn init(g: &Global, st: &Stat, w: &mut CWriter) {
    let n = stat_c(g);
    let slots = match &g.array {
        Some(a) => a
            .max
            .map(|m| m.to_string())
            .unwrap_or_else(|| "STP_MAXMAPENTRIES".into()),
        None => "1".into(),
    };
    cline!(w; n, " = stp_stat_new(", new_args(st), ", ", slots, ");");
    super::alloc_check(w, &n, &g.name);
}

/// Module exit and failed init.
pub(super) fn free(g: &Global, w: &mut CWriter) {
    let n = stat_c(g);
    cline!(w; "stp_stat_free(", n, ");");
    cline!(w; n, " = NULL;");
}
