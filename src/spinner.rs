//! A one-line progress indicator for the slow steps (kbuild, booting a guest), shown only when
//! stderr is a terminal. It runs on its own thread and erases its line when stopped, so it
//! never mixes with the script's output.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts showing `what`; does nothing when stderr is not a terminal.
    pub fn start(what: &str) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Spinner { stop, thread: None };
        }
        let flag = stop.clone();
        let text = what.to_string();
        let thread = std::thread::spawn(move || {
            let frames = ['|', '/', '-', '\\'];
            let start = std::time::Instant::now();
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                let _ = write!(
                    std::io::stderr(),
                    "\r{} {text} ({:.1} s)",
                    frames[i % 4],
                    start.elapsed().as_secs_f32()
                );
                let _ = std::io::stderr().flush();
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
        });
        Spinner {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A writer that stops a spinner before the first byte goes through it.
pub struct StopOnWrite<'a, W: Write> {
    pub inner: W,
    pub spinner: &'a std::sync::Mutex<Spinner>,
    /// A write or flush of `inner` failed: the error a run returns is this writer's (`-o`
    /// on a full disk), not the run's own.
    pub failed: bool,
}

impl<W: Write> Write for StopOnWrite<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut s) = self.spinner.lock() {
            s.stop();
        }
        let r = self.inner.write(buf);
        self.failed |= r.is_err();
        r
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.failed |= r.is_err();
        r
    }
}
