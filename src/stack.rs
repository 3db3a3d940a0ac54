//! The main thread's stack while passes 1-3 run on it.
//!
//! The passes recurse once per level of the script's nesting, which the parser caps at
//! `syntax::parser::MAX_DEPTH`. At that cap the constructs that use the most stack per level
//! (nested calls, `sprintf` in `sprintf`, nested indexes) took at most 3.5 MiB in the release
//! build and 2.4 MiB in the test build. [`PASSES`] is many times that. The usual soft limit is
//! 8 MiB, so [`raise`] lifts it to [`PASSES`] for the passes; the kernel checks the limit
//! when the stack grows, so the new limit holds from then on. The kernel also keeps at least
//! 128 MiB below the stack's top free of other mappings, so 64 MiB can always grow.
//!
//! Running on the main thread, rather than on a thread with its own large stack, saves the
//! thread's start (a 256 MiB mapping, the clone, its TLS and stack pages): 0.02-0.04 ms of a
//! one-probe `-p3` run's 0.7 ms. When the hard limit forbids [`PASSES`], the caller falls back
//! to that thread.
//!
//! Children (make, gcc, insmod, QEMU, the `-c` command) inherit resource limits, so the
//! driver calls [`restore`] once translation is over: a command run with `-c` sees the user's
//! own `ulimit -s`.
//!
//! Context: user space, the main thread, before any other thread exists ([`raise`]) and
//! before any child is started ([`restore`]).

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};

/// The stack the passes may use on the main thread.
pub const PASSES: libc::rlim_t = 64 << 20;

/// The soft limit [`raise`] replaced, to be put back; `u64::MAX` when there is none.
static SAVED: AtomicU64 = AtomicU64::new(u64::MAX);

/// Makes sure the main thread's stack may grow to [`PASSES`]: true when it already may or
/// the soft limit could be raised to it, false (nothing changed) when the hard limit is
/// lower or the limit cannot be read or set.
pub fn raise() -> bool {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into the struct passed, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut r) } != 0 {
        return false;
    }
    let enough = |v: libc::rlim_t| v == libc::RLIM_INFINITY || v >= PASSES;
    if enough(r.rlim_cur) {
        return true;
    }
    if !enough(r.rlim_max) {
        return false;
    }
    let old = r.rlim_cur;
    r.rlim_cur = PASSES;
    // SAFETY: setrlimit reads the struct passed; the soft limit stays within the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_STACK, &r) } != 0 {
        return false;
    }
    SAVED.store(old, Ordering::Relaxed);
    true
}

/// Puts back the soft limit [`raise`] replaced, if it replaced one. The stack already grown
/// stays usable; only further growth is bounded again. Idempotent.
pub fn restore() {
    let old = SAVED.swap(u64::MAX, Ordering::Relaxed);
    if old == u64::MAX {
        return;
    }
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as in `raise`; the soft limit put back was valid under the same hard limit
    // (which only root can raise, and this program never does).
    unsafe {
        if libc::getrlimit(libc::RLIMIT_STACK, &mut r) == 0 {
            r.rlim_cur = old.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_STACK, &r);
        }
    }
}
