//! The `stp-hwbp` command: parses the command line and hands it to the driver. The passes
//! need a large stack for deeply nested (but accepted) scripts: they run on the main thread
//! once its stack limit allows that much (see `stack`), else on a thread with a stack of its
//! own.
//!
//! The C `main` is ours (`no_main`) rather than std's: std's start-up reads
//! `/proc/self/maps` through glibc to locate the main thread's stack for its overflow
//! message, which was a tenth of a one-probe `-p3` run's instructions, and the kernel's
//! formatting of that file more. What else std's start-up does that this program needs is done
//! in `main` below. (Nesting deeper than the parser's limit is refused before any pass
//! recurses, so the stack overflow message is not what protects a run.)
#![no_main]

use clap::{CommandFactory, FromArgMatches};
use stp_hwbp::cli::Cli;
use stp_hwbp::driver;
use stp_hwbp::heap;

#[global_allocator]
static HEAP: heap::Heap = heap::Heap;

/// Called by glibc's start-up with the arguments, which std reads by itself (glibc hands them
/// to std's own initialiser too).
#[unsafe(no_mangle)]
#[allow(unsafe_code)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    standard_fds();
    // As std does: a closed pipe is an EPIPE error from `write`, which the output paths
    // handle, not a signal that kills the run.
    // SAFETY: setting a signal's disposition to ignore, before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    run()
}

/// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed, as std's start-up does:
/// otherwise the next file opened (a kbuild file, the module) would become the run's stdout or
/// stderr, and its messages would be written into it.
#[allow(unsafe_code)]
fn standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: polls three descriptors without waiting, into the array above.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: opening a path from a C string literal; the descriptor is kept for the run,
        // and it takes the lowest free number, the one that was closed.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != p.fd {
            // Nothing can be reported without these descriptors.
            std::process::abort();
        }
    }
}

fn run() -> libc::c_int {
    tune_malloc();
    let cli = parse_command_line();
    let len = script_len(&cli);
    prefault_heap(len);
    let passes = move || {
        // The passes' small blocks come from the region (see `heap`); the rest from glibc's
        // heap, pre-faulted above.
        let small = if len >= LARGE_SCRIPT {
            len.saturating_mul(SMALL_PER_SCRIPT_BYTE)
        } else {
            0
        };
        heap::claim(usize::try_from(small).unwrap_or(usize::MAX));
        let code = driver::main(cli);
        // `exit` flushes stdout as a return from `main` would.
        std::process::exit(code)
    };
    if stp_hwbp::stack::raise() {
        // A panic unwinding out of the C `main` would abort without a word: it is caught here.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(passes));
    } else {
        let child = std::thread::Builder::new()
            .stack_size(256 << 20)
            // The run ends the process from this thread: its 256 MiB stack is not unmapped
            // first (a join costs `munmap` of the whole reservation). `main` only sees a join
            // when the driver panicked.
            .spawn(passes);
        let _ = child.map(|h| h.join());
    }
    // Only a driver that panicked (or a thread that could not start) comes back here.
    // Not std's eprintln!, which would panic again on a closed stderr.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), b"stp-hwbp: internal error\n");
    101
}

/// The passes may run on a second thread (see `run`), which glibc would give an arena of its
/// own, grown a few pages at a time with `mprotect`: on a generated 3,200-line script that growth was a fifth of
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

/// `Cli::parse()`: the usual lines by hand (see `cli::parse_common`), the rest by clap, whose
/// definition of the command line and matches are then not freed: dropping them was 4% of a
/// one-probe `-p3` run's instructions, for memory the process keeps anyway until it exits.
/// Errors (and --help, --version) exit as `parse` does.
fn parse_command_line() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(cli) = stp_hwbp::cli::parse_common(&args) {
        return cli;
    }
    let mut cmd = Cli::command();
    let mut matches = cmd
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut cmd).exit());
    std::mem::forget((cmd, matches));
    cli
}

/// The script's size in bytes, where it is known before it is read (0 for stdin).
fn script_len(cli: &Cli) -> u64 {
    match (&cli.script, cli.rest.first()) {
        (Some(text), _) => text.len() as u64,
        (None, Some(path)) if path != "-" => std::fs::metadata(path).map_or(0, |m| m.len()),
        _ => 0,
    }
}

/// The script size from which the memory the passes will use is mapped in before they run
/// (glibc's heap here, the region's in huge pages): below it, one 2 MiB page would cost more
/// than the page faults it saves.
const LARGE_SCRIPT: u64 = 64 << 10;

/// Small blocks (see `heap`) the passes surely use per byte of script: 13 bytes on a generated
/// 3,200-line script and 10 on a 100,000-line one, at their high-water mark.
const SMALL_PER_SCRIPT_BYTE: u64 = 8;

/// Memory the passes surely touch in glibc's heap (the larger blocks: token and IR vectors,
/// buffers) per byte of script: the page faults of a 3,200-line script stop falling at 24.
const LARGE_PER_SCRIPT_BYTE: u64 = 24;

/// Maps the part of glibc's heap a large script's translation will touch in one go, instead
/// of one page fault per 4 KiB as the passes first write it: on a 3,200-line script the
/// faults (the kernel's fault path and memory-cgroup charging more than the zeroing) were a
/// quarter of `-p3`'s CPU time. The whole block is populated from its first page, as the
/// allocations after it is freed start there; whole 2 MiB pages inside it are asked to be
/// huge. Only what the translation will fill is asked for, so peak memory is unchanged; a
/// script under LARGE_SCRIPT is left alone. Both `madvise` calls are advice: a kernel without
/// transparent huge pages or `MADV_POPULATE_WRITE` (before 5.14) just faults the pages in as
/// before.
#[allow(unsafe_code)]
fn prefault_heap(script_bytes: u64) {
    const HUGE: usize = 2 << 20;
    const PAGE: usize = 4096;
    // Past the 16 MiB top pad, glibc would give the populated pages back when the block
    // below is freed.
    const MOST: usize = 12 << 20;
    if script_bytes < LARGE_SCRIPT {
        return;
    }
    let want = usize::try_from(script_bytes.saturating_mul(LARGE_PER_SCRIPT_BYTE))
        .unwrap_or(MOST)
        .min(MOST);
    // SAFETY: before any other thread exists. The block is allocated from the heap (the mmap
    // threshold is raised around the call, then set back to glibc's default), advised and
    // populated only inside itself, and freed untouched by anything else; madvise changes
    // no contents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        let p = libc::malloc(want + HUGE) as usize;
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
        if p == 0 {
            return;
        }
        let (lo, hi) = ((p + PAGE - 1) & !(PAGE - 1), (p + want) & !(PAGE - 1));
        let (hlo, hhi) = ((p + HUGE - 1) & !(HUGE - 1), (p + want) & !(HUGE - 1));
        if hhi > hlo {
            libc::madvise(hlo as *mut libc::c_void, hhi - hlo, libc::MADV_HUGEPAGE);
        }
        libc::madvise(lo as *mut libc::c_void, hi - lo, heap::POPULATE_WRITE);
        libc::free(p as *mut libc::c_void);
    }
}
