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

/// The passes run on a second thread, which glibc would give an arena of its own, grown a few
/// pages at a time with `mprotect`: on a generated 3,200-line script that growth was a fifth of
/// `-p3`'s time. One arena (the main one, grown with `brk`) in steps of 16 MiB makes the heap's
/// growth a handful of system calls; freed memory above that pad still goes back to the
/// system (a long pass 5 does not keep the translation's peak).
#[allow(unsafe_code)]
fn tune_malloc() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread
    // exists, and each value is one glibc documents for its parameter.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
    }
}
