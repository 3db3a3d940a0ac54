//! The names generated C uses. Every identifier derived from the script carries a prefix, so
//! no script name can collide with a C keyword, a kernel symbol or the runtime's own names
//! (script identifiers are `[A-Za-z_][A-Za-z0-9_]*`, already valid C).

pub fn global(name: &str) -> String {
    format!("stp_g_{name}")
}
pub fn global_lock(name: &str) -> String {
    format!("stp_lock_{name}")
}
pub fn global_param(name: &str) -> String {
    format!("g_{name}")
}
pub fn function(name: &str) -> String {
    format!("stp_fn_{name}")
}
pub fn local(name: &str) -> String {
    format!("l_{name}")
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
