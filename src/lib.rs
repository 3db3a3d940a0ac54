//! stp-hwbp: a translator for a SystemTap-style probe language that turns scripts into Linux
//! kernel modules setting hardware watchpoints. The pipeline, one folder per stage:
//! `syntax` (pass 1) -> `sema` (pass 2, producing the `ir`) -> `backend::c` (pass 3) ->
//! `kbuild` (pass 4) -> `run` (pass 5). `driver` wires them together for the CLI.

pub mod backend;
pub mod cli;
pub mod diag;
pub mod driver;
pub mod ir;
pub mod kbuild;
pub mod limits;
pub mod run;
pub mod sema;
pub mod spinner;
pub mod syntax;
pub mod target;
