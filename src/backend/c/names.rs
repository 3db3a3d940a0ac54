//! The names generated C uses. Every identifier derived from the script carries a prefix, so
//! no script name can collide with a C keyword, a kernel symbol or the runtime's own names,
//! and goes through `c_ident` (script identifiers are `[A-Za-z_][A-Za-z0-9_]*`, already valid
//! C, so it changes nothing they can spell).

use super::writer::{c_ident, push_ident};

/// `prefix` and the name as an identifier, in one allocation: pass 3 names something at
/// almost every line it writes.
fn prefixed(prefix: &str, name: &str) -> String {
    let mut o = String::with_capacity(prefix.len() + name.len());
    o.push_str(prefix);
    push_ident(&mut o, name);
    o
}

pub fn global(name: &str) -> String {
    prefixed("stp_g_", name)
}
/// `global`, appended to `o`.
pub fn push_global(o: &mut String, name: &str) {
    o.push_str("stp_g_");
    push_ident(o, name);
}
/// A counter global's per-CPU shares.
pub fn counter(name: &str) -> String {
    prefixed("stp_pc_", name)
}
pub fn global_lock(name: &str) -> String {
    prefixed("stp_lock_", name)
}
/// An array of statistics' records, beside its key map (`global`). A prefix of its own, not
/// a suffix on `global`'s name: a global `lat_stat` beside a statistics array `lat` would
/// have had the same C name.
pub fn stat_records(name: &str) -> String {
    prefixed("stp_gstat_", name)
}
/// The lock that orders the CPUs adding new keys to an array of statistics.
pub fn insert_lock(name: &str) -> String {
    prefixed("stp_inslock_", name)
}
pub fn global_param(name: &str) -> String {
    prefixed("g_", name)
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
pub fn local(name: &str) -> String {
    prefixed("l_", name)
}
/// A function parameter as the C function receives it (`STAP_ARG_x` in embedded C).
pub fn param(name: &str) -> String {
    prefixed("a_", name)
}
/// `STAP_ARG_x`, SystemTap's name for a parameter in embedded C.
pub fn stap_arg(name: &str) -> String {
    prefixed("STAP_ARG_", name)
}
pub fn regex(i: usize) -> String {
    format!("stp_re_{i}")
}
pub fn probe(i: usize) -> String {
    format!("stp_probe_{i}")
}
pub fn frame(kind: &str, i: usize) -> String {
    format!("stp_frame_{kind}{i}")
}
/// The table of watchpoint declarations (`struct stp_wdecl`), indexed like `Module::watches`.
pub const WDECLS: &str = "stp_wdecl_table";
pub fn hit(i: usize) -> String {
    format!("stp_hit_{i}")
}
pub fn sub(i: usize) -> String {
    format!("stp_sub_{i}")
}
pub fn sym_addr(i: usize) -> String {
    format!("stp_sym_addr_{i}")
}
/// The table of function probe points (`struct stp_kp`), indexed like `Module::kprobes`.
pub const KPROBES: &str = "stp_kp_table";
pub fn kp_handler(i: usize) -> String {
    format!("stp_kp_handler_{i}")
}
pub fn kp_list(i: usize) -> String {
    format!("stp_kp_list_{i}")
}
/// How many names the loader passed in `kp_list(i)`.
pub fn kp_nlist(i: usize) -> String {
    format!("stp_kp_nlist_{i}")
}
pub fn cond(i: usize) -> String {
    format!("stp_cond_{i}")
}
