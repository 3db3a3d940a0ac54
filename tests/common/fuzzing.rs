//! What the deterministic fuzzers (`tests/fuzz_smoke.rs`, `tests/genfuzz.rs`) share: catching a
//! panic quietly, with where it happened.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Where and why the last panic on this thread happened, filled by the panic hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether this thread is fuzzing (its panics are recorded, not printed).
    static QUIET: RefCell<bool> = const { RefCell::new(false) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| *q.borrow()) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic)".into());
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg} at {at}")));
            } else {
                default(info);
            }
        }));
    });
}

/// A panic caught by `quietly`: its message and where it happened (`file:line`).
pub struct Panic {
    pub message: String,
    pub at: String,
}

/// Runs `f`, turning a panic into `Err` without printing it.
pub fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    install_hook();
    QUIET.with(|q| *q.borrow_mut() = true);
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| *q.borrow_mut() = false);
    r.map_err(|_| {
        let p = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "(unknown)".into());
        let at = p.rsplit(" at ").next().unwrap_or(&p).to_string();
        Panic { message: p, at }
    })
}
