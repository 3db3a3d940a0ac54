//! The names generated C uses. Every identifier derived from the script carries a prefix, so
//! no script name can collide with a C keyword, a kernel symbol or the runtime's own names,
//! and goes through `c_ident` (script identifiers are `[A-Za-z_][A-Za-z0-9_]*`, already valid
//! C, so it changes nothing they can spell).

use super::writer::{Piece, c_ident, push_ident, push_u64};

/// `prefix` and the name as an identifier, in one allocation: pass 3 names something at
/// almost every line it writes.
fn prefixed(prefix: &'static str, name: &str) -> String {
    let mut o = String::with_capacity(prefix.len() + name.len());
    Named(prefix, name).put(&mut o);
    o
}

/// `prefix` and `i` in decimal (`stp_probe_3`).
fn numbered(prefix: &str, i: usize) -> String {
    let mut o = String::with_capacity(prefix.len() + 6);
    o.push_str(prefix);
    push_u64(&mut o, i as u64);
    o
}

/// A prefixed name written where it is used (a `Piece`), with no String of its own: for the
/// names pass 3 writes on many lines (locals, parameters, locks).
#[derive(Clone, Copy)]
pub struct Named<'a>(&'static str, &'a str);

impl Piece for Named<'_> {
    fn put(&self, out: &mut String) {
        out.push_str(self.0);
        push_ident(out, self.1);
    }
}
impl std::fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let mut s = String::with_capacity(self.0.len() + self.1.len());
        self.put(&mut s);
        f.write_str(&s)
    }
}

pub fn global(name: &str) -> String {
    prefixed("stp_g_", name)
}
/// A counter global's per-CPU shares.
pub fn counter(name: &str) -> Named<'_> {
    Named("stp_pc_", name)
}
pub fn global_lock(name: &str) -> Named<'_> {
    Named("stp_lock_", name)
}
/// An array of statistics' records, beside its key map (`global`). A prefix of its own, not
/// a suffix on `global`'s name: a global `lat_stat` beside a statistics array `lat` would
/// have had the same C name.
pub fn stat_records(name: &str) -> String {
    prefixed("stp_gstat_", name)
}
/// The lock that orders the CPUs adding new keys to an array of statistics.
pub fn insert_lock(name: &str) -> Named<'_> {
    Named("stp_inslock_", name)
}
pub fn global_param(name: &str) -> Named<'_> {
    Named("g_", name)
}
pub fn function(name: &str) -> String {
    prefixed("stp_fn_", name)
}
/// A function of the module: its name, with its arity when the tapsets overload the name
/// and the module uses more than one of them (`ctime()` calls `ctime(secs)`).
pub fn function_in(m: &crate::ir::Module, f: crate::ir::Id<crate::ir::Function>) -> String {
    let this = &m.functions[f];
    if this.overloaded {
        format!("stp_fn_{}_{}", c_ident(&this.name), this.params.len())
    } else {
        function(&this.name)
    }
}
pub fn local(name: &str) -> Named<'_> {
    Named("l_", name)
}
/// A function parameter as the C function receives it (`STAP_ARG_x` in embedded C).
pub fn param(name: &str) -> Named<'_> {
    Named("a_", name)
}
/// `STAP_ARG_x`, SystemTap's name for a parameter in embedded C.
pub fn stap_arg(name: &str) -> Named<'_> {
    Named("STAP_ARG_", name)
}
pub fn regex(i: usize) -> String {
    numbered("stp_re_", i)
}
pub fn probe(i: usize) -> String {
    numbered("stp_probe_", i)
}
pub fn frame(kind: &str, i: usize) -> String {
    let mut o = String::with_capacity(16);
    o.push_str("stp_frame_");
    o.push_str(kind);
    push_u64(&mut o, i as u64);
    o
}
/// The table of watchpoint declarations (`struct stp_wdecl`), indexed like `Module::watches`.
pub const WDECLS: &str = "stp_wdecl_table";
pub fn hit(i: usize) -> String {
    numbered("stp_hit_", i)
}
pub fn sub(i: usize) -> String {
    numbered("stp_sub_", i)
}
pub fn sym_addr(i: usize) -> String {
    numbered("stp_sym_addr_", i)
}
/// The table of function probe points (`struct stp_kp`), indexed like `Module::kprobes`.
pub const KPROBES: &str = "stp_kp_table";
pub fn kp_handler(i: usize) -> String {
    numbered("stp_kp_handler_", i)
}
pub fn kp_list(i: usize) -> String {
    numbered("stp_kp_list_", i)
}
/// How many names the loader passed in `kp_list(i)`.
pub fn kp_nlist(i: usize) -> String {
    numbered("stp_kp_nlist_", i)
}
pub fn cond(i: usize) -> String {
    numbered("stp_cond_", i)
}
