//! stp-hwbp: a translator for a SystemTap-style probe language that turns scripts into Linux
//! kernel modules setting hardware watchpoints. The pipeline, one folder per stage:
//! `syntax` (pass 1) -> `sema` (pass 2, producing the `ir`) -> `backend::c` (pass 3) ->
//! `kbuild` (pass 4) -> `run` (pass 5). `driver` wires them together for the CLI.

/// `eprint!` and `eprintln!` for the whole crate, without std's panic when stderr cannot be
/// written: a reader that went away (`stp-hwbp -p2 bad.stp 2>&1 | head -1`) must not turn
/// the run's own exit status into a crash. What cannot be written is dropped; stderr has
/// nowhere else to go. Defined before the modules, so that they all use these.
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stderr(), $($arg)*);
    }};
}
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

pub mod backend;
pub mod cli;
pub mod diag;
pub mod driver;
pub mod heap;
pub mod ir;
pub mod kbuild;
pub mod limits;
pub mod run;
pub mod sema;
pub mod spinner;
pub mod stack;
pub mod syntax;
pub mod target;
