//! Statistics in the C back end: each statistic global is a `struct stp_stat *` (per-CPU
//! records, `runtime-c/stp_stat.h`), made at load with only the fields its extractors need;
//! `<<<` writes this CPU's record with no lock, extractors and histogram printing merge
//! the records under the global's read lock (taken by the body, see `uses_of`), and
//! `delete` empties it under the write lock.

use super::body::BodyGen;
use super::names;
use super::writer::CWriter;
use crate::diag::Span;
use crate::ir::*;
use crate::syntax::ast::StatFn;

impl BodyGen<'_> {
    fn stat_name(&self, stat: Id<Global>) -> String {
        names::global(&self.m.globals[stat].name)
    }

    /// `stat <<< value`.
    pub(super) fn stat_add(&mut self, stat: Id<Global>, value: &Expr) {
        let v = self.long(value);
        let g = self.stat_name(stat);
        self.w
            .line(format!("stp_stat_add({g}, smp_processor_id(), {v});"));
    }

    /// An extractor, or a histogram bucket, as a C expression (a temporary).
    pub(super) fn stat_get(
        &mut self,
        stat: Id<Global>,
        op: StatFn,
        bucket: Option<&Expr>,
        span: Span,
    ) -> String {
        let g = self.stat_name(stat);
        let wh = self.where_(span);
        let call = match (op, bucket) {
            (_, Some(b)) => {
                let i = self.long(b);
                format!("stp_stat_bucket(c, {g}, {i}, {wh})")
            }
            (op, None) => {
                let which = match op {
                    StatFn::Count => "COUNT",
                    StatFn::Sum => "SUM",
                    StatFn::Min => "MIN",
                    StatFn::Max => "MAX",
                    StatFn::Avg => "AVG",
                    StatFn::Variance => "VARIANCE",
                    StatFn::HistLinear | StatFn::HistLog => {
                        unreachable!("pass 2 lets a histogram through only with a bucket")
                    }
                };
                format!("stp_stat_extract(c, {g}, STP_STAT_GET_{which}, {wh})")
            }
        };
        let t = self.temp_long();
        self.w.line(format!("{t} = {call};"));
        self.fail_check();
        t
    }

    /// `print(@hist_*(stat))`, `println(...)`.
    pub(super) fn print_hist(&mut self, stat: Id<Global>, newline: bool, span: Span) {
        let g = self.stat_name(stat);
        let wh = self.where_(span);
        self.w
            .line(format!("if (stp_stat_print(c, {g}, {newline}, {wh}))"));
        self.w.line("\tgoto stp_out;");
    }

    /// `delete stat`.
    pub(super) fn stat_clear(&mut self, stat: Id<Global>) {
        let g = self.stat_name(stat);
        self.w.line(format!("stp_stat_clear({g});"));
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

/// Module init: makes the statistic (process context), or fails the load.
pub(super) fn init(g: &Global, st: &Stat, w: &mut CWriter) {
    let n = names::global(&g.name);
    w.line(format!("{n} = stp_stat_new({});", new_args(st)));
    w.line(format!("if (!{n})"));
    w.line("\tgoto fail_maps;");
}

/// Module exit and failed init.
pub(super) fn free(g: &Global, w: &mut CWriter) {
    let n = names::global(&g.name);
    w.line(format!("stp_stat_free({n});"));
    w.line(format!("{n} = NULL;"));
}
