//! The `stp-hwbp` command: parses the command line and hands it to the driver. All real work
//! runs on a thread with a large stack, so that deeply nested (but accepted) scripts cannot
//! overflow it.

use clap::Parser;
use std::process::ExitCode;
use stp_hwbp::cli::Cli;
use stp_hwbp::driver;

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let child = std::thread::Builder::new()
        .stack_size(256 << 20)
        // The run ends the process from this thread: its 256 MiB stack is not unmapped first
        // (a join costs `munmap` of the whole reservation; `exit` flushes stdout as a return
        // from `main` would). `main` only sees a join when the driver panicked.
        .spawn(move || {
            let code = driver::main(cli);
            std::process::exit(code)
        });
    // Only a driver that panicked (or a thread that could not start) comes back here.
    let _ = child.map(|h| h.join());
    eprintln!("stp-hwbp: internal error");
    ExitCode::from(101)
}

/// mimalloc rather than glibc's malloc: pass 1 to 3 make many small, short-lived allocations
/// (tokens' names, AST and IR nodes, expression text), and glibc's free lists, chunk
/// coalescing and `malloc_consolidate` were 30% of `-p3`'s instructions on a generated
/// 3,200-line script; with mimalloc 8% (96 M -> 80 M instructions in all, callgrind).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` (`mi_option_purge_delay` in its `mimalloc.h`; the Rust bindings
/// have no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory a pass frees goes back to the system at once rather than a second later (mimalloc's
/// default delay): each pass's input is dropped when the next has its output, and on a
/// generated 100,000-line script the delay kept every pass's memory resident together (peak
/// RSS 294 MB against 178 MB without it, and more time in page faults).
#[allow(unsafe_code)]
fn tune_malloc() {
    // SAFETY: mi_option_set only stores an option's value, which mimalloc reads when it next
    // decides whether to purge; it is called before any other thread exists, with a value the
    // option documents (0: purge at once).
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}
