//! Run a command inside a throw-away QEMU guest booted from a busybox initramfs.
//!
//! This is the VM runner used by the end-to-end tests (and `run` subcommands) of stp-hwbp:
//! it boots a distribution kernel (`vmlinuz`) with a generated initramfs, runs one command as
//! root and powers the guest off again. Only `std` and `tempfile` are used.
//!
//! # API
//!
//! ```ignore
//! let mut spec = GuestSpec::new("/boot/vmlinuz-6.1.0-56-amd64", ["sh", "-c", "uname -r"]);
//! spec.files.push(("/tmp/m/foo.ko".into(), "/root/foo.ko".into()));
//! let out = run_guest(&spec, &mut std::io::stdout(), &mut std::io::stderr())?;
//! assert_eq!(out.status, Some(0));
//! assert!(out.kernel_problems.is_empty(), "{:?}", out.kernel_problems);
//! ```
//!
//! * [`GuestSpec`]: kernel image, files to copy in (`(host path, absolute guest path)`), the
//!   argv to run (or a `/bin/sh` script in `shell`, which wins over `command`), a timeout for the
//!   whole run (boot included), CPUs, memory and extra kernel command-line arguments.
//! * [`run_guest`] streams the command's stdout and stderr, live and byte-exact, to the two
//!   writers it is given, a line at a time (flushed after each; a line without its newline
//!   goes on after 100 ms), and returns a [`GuestOutcome`]: the exit
//!   status (`None` if the command never finished: timeout, panic, ...), the kernel console log
//!   (`\r\n` turned into `\n`), the kernel problems found in it ([`detect_kernel_problems`]),
//!   and timings. It returns `Err` only when the guest could not be set up or QEMU could not be
//!   started (the message then carries QEMU's stderr).
//!
//! # The guest
//!
//! * initramfs (`initramfs.rs`): an uncompressed newc cpio: `/bin/busybox` (the host's
//!   busybox-static, `STPHWBP_BUSYBOX` overrides the path) with all its applet links, `/init`,
//!   the requested files (mode bits kept, parent directories created) and, for every ELF
//!   executable or shared object among them, the libraries `ldd` reports on the host plus the
//!   dynamic loader, at the same paths as on the host.
//! * `/init` mounts proc, sysfs, devtmpfs, debugfs (`/sys/kernel/debug`), tmpfs on `/tmp` and
//!   `/run`; sets `kernel.kptr_restrict=0`, `kernel.dmesg_restrict=0`,
//!   `kernel.perf_event_paranoid=-1` (so `/proc/kallsyms` shows real addresses), then runs the
//!   command in `/root` with stdin from `/dev/null`, `PATH`, `HOME=/root`; and finally
//!   `poweroff -f`.
//! * Channels: four 16550 serial ports, each wired by QEMU to a unix socket the host listens on:
//!   `ttyS0` kernel console (→ `kernel_log`), `ttyS1` the command's stdout, `ttyS2` its stderr,
//!   `ttyS3` control markers (`STPHWBP-READY`, `STPHWBP-EXIT <status>`). ttyS1..3 are put in raw
//!   mode (`stty raw -echo`), so bytes pass unchanged; before the exit marker is written the
//!   init waits for ttyS1/ttyS2 to drain (`tcsetattr(TCSADRAIN)` via `stty`).
//! * QEMU: `qemu-system-x86_64` (`STPHWBP_QEMU` overrides) `-accel tcg -cpu max -nodefaults
//!   -no-reboot`, kernel arguments `console=ttyS0 panic=-1` (a panic ends QEMU at once), plus
//!   what `boot.rs` adds to boot sooner (the kernel uncompressed through its PVH entry,
//!   `loglevel=5`, `lpj=`, `mitigations=off`: a throw-away guest needs no Spectre defences). On
//!   timeout QEMU is killed. If the exit marker arrived but the guest does not power off within
//!   a few seconds, QEMU is killed too (status kept).
//!
//! Timings: `boot_ms` is from QEMU's start to the `STPHWBP-READY` marker (just before the
//! command starts), `total_ms` from the start of `run_guest` (initramfs build included) to the
//! end of QEMU.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What to run in a guest.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Kernel image (bzImage / vmlinuz) to boot.
    pub kernel: PathBuf,
    /// Files to copy in: (host path, absolute guest path). Symlinks on the host are followed;
    /// the permission bits are kept. ELF executables and shared objects get their libraries.
    pub files: Vec<(PathBuf, String)>,
    /// Argv run in the guest as root with cwd `/root` (looked up in `PATH` if it has no `/`).
    pub command: Vec<String>,
    /// A `/bin/sh` script to run instead of `command` (cwd `/root` too).
    pub shell: Option<String>,
    /// Limit for the whole run, boot included. QEMU is killed when it is reached.
    pub timeout: Duration,
    /// Number of virtual CPUs.
    pub cpus: u32,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Extra kernel command-line arguments (e.g. `nokaslr`).
    pub kernel_args: Vec<String>,
    /// The guest's architecture: x86_64 (the default) or arm64 (`vm_arm64.rs`).
    pub arch: crate::target::Arch,
}

impl GuestSpec {
    /// A spec with the defaults: no files, 60 s timeout, 2 CPUs, 512 MiB.
    pub fn new<I, S>(kernel: impl Into<PathBuf>, command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        GuestSpec {
            kernel: kernel.into(),
            files: Vec::new(),
            command: command.into_iter().map(Into::into).collect(),
            shell: None,
            timeout: Duration::from_secs(60),
            cpus: 2,
            memory_mb: 512,
            kernel_args: Vec::new(),
            arch: crate::target::Arch::X86_64,
        }
    }
}

/// What came out of a guest run.
#[derive(Debug, Clone, Default)]
pub struct GuestOutcome {
    /// Exit status of the command (128+N when killed by signal N), `None` if it never finished.
    pub status: Option<i32>,
    /// Everything the kernel printed on its console (ttyS0), `\r\n` normalised to `\n`.
    pub kernel_log: String,
    /// Lines of `kernel_log` that show a kernel problem (oops, BUG, WARNING with a stack,
    /// lockups, RCU stalls, panics, KASAN/UBSAN/KFENCE reports, ...), timestamps stripped.
    pub kernel_problems: Vec<String>,
    /// Milliseconds from QEMU's start to the moment the command was started (0 if never).
    pub boot_ms: u128,
    /// Milliseconds for the whole run.
    pub total_ms: u128,
    /// True when the run was cut by `timeout`.
    pub timed_out: bool,
    /// What QEMU itself wrote to its stderr (warnings, errors).
    pub qemu_log: String,
}

const READY_MARKER: &str = "STPHWBP-READY";
const EXIT_MARKER: &str = "STPHWBP-EXIT ";
/// How long to wait for the guest to power off once the command's status is known.
const POWEROFF_GRACE: Duration = Duration::from_secs(10);

/// Boot `spec.kernel` in QEMU, run the command, stream its stdout/stderr and collect the rest.
pub fn run_guest(
    spec: &GuestSpec,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<GuestOutcome> {
    let t0 = Instant::now();
    if spec.command.is_empty() && spec.shell.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "GuestSpec has neither a command nor a shell script",
        ));
    }
    if !spec.kernel.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("kernel image {} not found", spec.kernel.display()),
        ));
    }
    let dir = tempfile::Builder::new().prefix("stphwbp-vm-").tempdir()?;
    let initrd = dir.path().join("initramfs.cpio");
    {
        let mut w = io::BufWriter::new(fs::File::create(&initrd)?);
        super::initramfs::write_initramfs(spec, &mut w)?;
        w.flush()?;
    }

    // The four channels, in ttyS order.
    let names = ["console", "stdout", "stderr", "control"];
    let mut listeners = Vec::new();
    for n in names {
        let l = UnixListener::bind(dir.path().join(format!("{n}.sock")))?;
        l.set_nonblocking(true)?;
        listeners.push(l);
    }

    if spec.arch == crate::target::Arch::Arm64 {
        let cmd = super::vm_arm64::qemu(
            spec,
            &initrd,
            &names.map(|n| dir.path().join(format!("{n}.sock"))),
        );
        return spawn_and_run(spec, cmd, listeners, t0, stdout, stderr);
    }
    let mut append = vec![
        "console=ttyS0,115200".to_string(),
        "panic=-1".into(),
        "rdinit=/init".into(),
        "8250.nr_uarts=4".into(),
        "tsc=unstable".into(),
        "no_timer_check".into(),
        "i8042.noaux".into(),
        "i8042.nokbd".into(),
        "random.trust_cpu=on".into(),
        "mitigations=off".into(),
    ];
    append.extend(super::boot::kernel_args());
    append.extend(spec.kernel_args.iter().cloned());

    let qemu = std::env::var_os("STPHWBP_QEMU").unwrap_or_else(|| "qemu-system-x86_64".into());
    let mut cmd = qemu_command(
        &qemu,
        spec,
        &super::boot::kernel_image(&spec.kernel),
        &initrd,
        &append,
    );
    for n in names {
        let path = dir.path().join(format!("{n}.sock"));
        cmd.arg("-chardev")
            .arg(format!("socket,id={n},path={}", path.display()))
            .args(["-serial", &format!("chardev:{n}")]);
    }
    spawn_and_run(spec, cmd, listeners, t0, stdout, stderr)
}

/// QEMU under TCG with `spec`'s CPUs and memory, no default devices, booting `kernel` with
/// `initrd` and the kernel command line `append`; the channels are the caller's to add.
pub(super) fn qemu_command(
    qemu: &std::ffi::OsStr,
    spec: &GuestSpec,
    kernel: &Path,
    initrd: &Path,
    append: &[String],
) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(["-accel", "tcg", "-cpu", "max"])
        .args(["-smp", &spec.cpus.max(1).to_string()])
        .args(["-m", &spec.memory_mb.max(64).to_string()])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-no-reboot",
            "-display",
            "none",
        ])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append.join(" ")]);
    cmd
}

/// Starts QEMU (`cmd`, its channels bound to `listeners`) and runs the guest to its end.
fn spawn_and_run(
    spec: &GuestSpec,
    mut cmd: Command,
    listeners: Vec<UnixListener>,
    t0: Instant,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<GuestOutcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let qemu_start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()),
        )
    })?;
    let guard = ChildGuard(Some(&mut child));
    run_with_child(spec, guard, listeners, t0, qemu_start, stdout, stderr)
}

/// Kills QEMU when dropped while still running (error paths, panics in writers).
struct ChildGuard<'a>(Option<&'a mut Child>);

impl Drop for ChildGuard<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

enum Msg {
    Data(usize, Vec<u8>),
    Eof,
}

fn run_with_child(
    spec: &GuestSpec,
    mut guard: ChildGuard<'_>,
    listeners: Vec<UnixListener>,
    t0: Instant,
    qemu_start: Instant,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> io::Result<GuestOutcome> {
    let deadline = t0 + spec.timeout;
    let child = guard.0.as_mut().expect("child present");

    let qemu_err = child.stderr.take().expect("piped stderr");
    let qemu_err_thread = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = io::BufReader::new(qemu_err).read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });

    // QEMU connects to all four sockets while it starts up.
    let mut streams: Vec<Option<UnixStream>> = (0..listeners.len()).map(|_| None).collect();
    let mut timed_out = false;
    while streams.iter().any(Option::is_none) {
        for (i, l) in listeners.iter().enumerate() {
            if streams[i].is_none() {
                match l.accept() {
                    Ok((s, _)) => streams[i] = Some(s),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if streams.iter().all(Option::is_some) {
            break;
        }
        if let Some(st) = child.try_wait()? {
            let log = qemu_err_thread.join().unwrap_or_default();
            return Err(io::Error::other(format!("QEMU exited early ({st}): {log}")));
        }
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    drop(listeners);

    let (tx, rx) = mpsc::channel::<Msg>();
    let mut open = 0usize;
    for (i, s) in streams.into_iter().enumerate() {
        let Some(mut s) = s else { continue };
        s.set_nonblocking(false)?;
        open += 1;
        let tx = tx.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Msg::Data(i, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(Msg::Eof);
        });
    }
    drop(tx);

    let mut out = GuestOutcome::default();
    let mut console = Vec::new();
    let mut control = Vec::new();
    let mut exited_at: Option<Instant> = None;
    let mut status_at: Option<Instant> = None;
    let mut write_err: Option<io::Error> = None;
    let mut out_lines = LineRelay::default();
    let mut err_lines = LineRelay::default();

    loop {
        // Once the output cannot be written (`--vm ... | head` after its lines), nothing the
        // guest does can be seen any more: stop it now rather than at the session's end.
        if timed_out || write_err.is_some() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        let wait = (deadline - now).min(Duration::from_millis(50));
        match rx.recv_timeout(wait) {
            Ok(Msg::Data(0, d)) => console.extend_from_slice(&d),
            Ok(Msg::Data(1, d)) => {
                if write_err.is_none()
                    && let Err(e) = out_lines.push(&d, stdout)
                {
                    write_err = Some(e);
                }
            }
            Ok(Msg::Data(2, d)) => {
                if write_err.is_none()
                    && let Err(e) = err_lines.push(&d, stderr)
                {
                    write_err = Some(e);
                }
            }
            Ok(Msg::Data(_, d)) => {
                control.extend_from_slice(&d);
                let (ready, status) = parse_control(&control);
                if ready && out.boot_ms == 0 {
                    out.boot_ms = qemu_start.elapsed().as_millis().max(1);
                }
                if status.is_some() && out.status.is_none() {
                    out.status = status;
                    status_at = Some(Instant::now());
                }
            }
            Ok(Msg::Eof) => {
                open -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
        }
        if write_err.is_none()
            && let Err(e) =
                (out_lines.flush_stale(stdout)).and_then(|()| err_lines.flush_stale(stderr))
        {
            write_err = Some(e);
        }
        if exited_at.is_none() && child.try_wait()?.is_some() {
            exited_at = Some(Instant::now());
        }
        if let Some(t) = exited_at {
            // QEMU is gone: its sockets are closed, wait briefly for the readers to finish.
            if open == 0 || t.elapsed() > Duration::from_secs(2) {
                break;
            }
        } else if let Some(t) = status_at
            && t.elapsed() > POWEROFF_GRACE
        {
            // The guest did not power off: stop it, the status is known.
            let _ = child.kill();
        }
    }
    if timed_out || write_err.is_some() {
        let _ = child.kill();
    }
    let _ = child.wait();
    // Whatever is still queued (the readers end once QEMU's sockets close).
    while let Ok(m) = rx.recv_timeout(Duration::from_millis(200)) {
        match m {
            Msg::Data(0, d) => console.extend_from_slice(&d),
            Msg::Data(1, d) if write_err.is_none() => {
                let _ = out_lines.push(&d, stdout);
            }
            Msg::Data(2, d) if write_err.is_none() => {
                let _ = err_lines.push(&d, stderr);
            }
            Msg::Data(3, d) => {
                control.extend_from_slice(&d);
                let (ready, status) = parse_control(&control);
                if ready && out.boot_ms == 0 {
                    out.boot_ms = qemu_start.elapsed().as_millis().max(1);
                }
                if out.status.is_none() {
                    out.status = status;
                }
            }
            _ => {}
        }
    }
    if write_err.is_none() {
        // A last line without its newline.
        let _ = out_lines.finish(stdout);
        let _ = err_lines.finish(stderr);
    }
    drop(guard);
    if let Some(e) = write_err {
        return Err(e);
    }
    out.qemu_log = qemu_err_thread.join().unwrap_or_default();
    out.kernel_log = String::from_utf8_lossy(&console).replace("\r\n", "\n");
    out.kernel_problems = detect_kernel_problems(&out.kernel_log);
    out.timed_out = timed_out;
    out.total_ms = t0.elapsed().as_millis();
    Ok(out)
}

/// Passes one of the guest's streams on a line at a time. A serial port delivers what the
/// guest writes in pieces of a few bytes, and the command's stdout and stderr come on two
/// ports: written through piece by piece, a line of one stream could be cut by a line of the
/// other on a terminal both go to (`2>&1`). A line without its newline (a prompt, `print`
/// without one) is passed on once it has waited `PARTIAL_LINE_WAIT`, or grown past
/// `PARTIAL_LINE_MAX`, so that the output stays live.
#[derive(Default)]
struct LineRelay {
    held: Vec<u8>,
    /// When the held piece started waiting.
    since: Option<Instant>,
}

const PARTIAL_LINE_WAIT: Duration = Duration::from_millis(100);
const PARTIAL_LINE_MAX: usize = 64 << 10;

impl LineRelay {
    fn push(&mut self, d: &[u8], to: &mut dyn Write) -> io::Result<()> {
        let Some(end) = memchr::memrchr(b'\n', d) else {
            self.held.extend_from_slice(d);
            self.since.get_or_insert_with(Instant::now);
            if self.held.len() > PARTIAL_LINE_MAX {
                return self.finish(to);
            }
            return Ok(());
        };
        to.write_all(&self.held)?;
        to.write_all(&d[..=end])?;
        to.flush()?;
        self.held.clear();
        self.held.extend_from_slice(&d[end + 1..]);
        self.since = (!self.held.is_empty()).then(Instant::now);
        Ok(())
    }
    fn flush_stale(&mut self, to: &mut dyn Write) -> io::Result<()> {
        match self.since {
            Some(t) if t.elapsed() >= PARTIAL_LINE_WAIT => self.finish(to),
            _ => Ok(()),
        }
    }
    fn finish(&mut self, to: &mut dyn Write) -> io::Result<()> {
        self.since = None;
        if self.held.is_empty() {
            return Ok(());
        }
        to.write_all(&self.held)?;
        self.held.clear();
        to.flush()
    }
}

/// Scan the control channel: (ready marker seen, exit status if its marker is complete).
fn parse_control(data: &[u8]) -> (bool, Option<i32>) {
    let text = String::from_utf8_lossy(data);
    let mut ready = false;
    let mut status = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with(READY_MARKER) {
            ready = true;
        }
        // Only complete lines count: the last piece may still be arriving.
        if let Some(rest) = line.strip_prefix(EXIT_MARKER)
            && let Ok(n) = rest.trim().parse::<i32>()
            && text.contains(&format!("{line}\n"))
        {
            status = Some(n);
        }
    }
    (ready, status)
}

/// Find kernel problems in a console log: one entry per offending line (timestamp stripped).
///
/// Recognised: `Oops`, `BUG:`, `kernel BUG at`, `WARNING:` followed by a stack trace,
/// general protection faults, invalid opcodes, double faults, soft/hard lockups, RCU stalls,
/// hung tasks, `Kernel panic`, KASAN/UBSAN/KFENCE/KCSAN/KMSAN reports, list corruption,
/// stack-protector failures.
/// Up to `max` lines of the guest's kernel log from the one before its first problem (a
/// `cut here` marker, or the problem line itself) on: the kernel's own report of it.
pub fn first_problem_report(log: &str, max: usize) -> String {
    let first = detect_kernel_problems(log).into_iter().next();
    let Some(first) = first else {
        return String::new();
    };
    let lines: Vec<&str> = log.lines().collect();
    let Some(at) = lines
        .iter()
        .position(|l| strip_timestamp(l).trim() == first)
    else {
        return String::new();
    };
    let from = if at > 0 && lines[at - 1].contains("cut here") {
        at - 1
    } else {
        at
    };
    lines[from..lines.len().min(from + max)].join("\n")
}

pub fn detect_kernel_problems(log: &str) -> Vec<String> {
    let lines: Vec<&str> = log.lines().map(strip_timestamp).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim();
        let hit = if l.starts_with("WARNING:") {
            // A WARN() always dumps a stack; other "WARNING:" lines are not problems.
            l.starts_with("WARNING: CPU:")
                || lines[i + 1..]
                    .iter()
                    .take(60)
                    .any(|n| n.contains("Call Trace:"))
        } else {
            const PATTERNS: &[&str] = &[
                "Oops:",
                "BUG:",
                "kernel BUG at",
                "general protection fault",
                "invalid opcode:",
                "double fault",
                "soft lockup",
                "hard LOCKUP",
                "detected stall",
                "detected stalls",
                "blocked for more than",
                "Kernel panic",
                "KASAN:",
                "UBSAN:",
                "KFENCE:",
                "KCSAN:",
                "KMSAN:",
                "list_add corruption",
                "list_del corruption",
                "stack-protector:",
                "Unable to handle kernel",
                "unable to handle kernel",
            ];
            PATTERNS.iter().any(|p| l.contains(p))
        };
        if hit && !found.iter().any(|f: &String| f == l) {
            found.push(l.to_string());
        }
    }
    found
}

fn strip_timestamp(line: &str) -> &str {
    let t = line.trim_start_matches(['\r', '\0']);
    if let Some(rest) = t.strip_prefix('[')
        && let Some(end) = rest.find(']')
        && rest[..end]
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    {
        return rest[end + 1..]
            .strip_prefix(' ')
            .unwrap_or(&rest[end + 1..]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_pass_whole_lines() {
        let mut r = LineRelay::default();
        let mut out = Vec::new();
        r.push(b"ca", &mut out).unwrap();
        assert!(out.is_empty(), "a piece of a line waits for the rest");
        r.push(b"ught: x\nne", &mut out).unwrap();
        assert_eq!(out, b"caught: x\n");
        r.push(b"xt\nlast", &mut out).unwrap();
        assert_eq!(out, b"caught: x\nnext\n");
        r.flush_stale(&mut out).unwrap();
        assert_eq!(out, b"caught: x\nnext\n", "too soon for the partial line");
        r.since = Some(Instant::now() - PARTIAL_LINE_WAIT);
        r.flush_stale(&mut out).unwrap();
        assert_eq!(
            out, b"caught: x\nnext\nlast",
            "a partial line goes on once it waited"
        );
        r.push(b"!\n", &mut out).unwrap();
        r.push(b"tail", &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert_eq!(out, b"caught: x\nnext\nlast!\ntail");
        let big = vec![b'x'; PARTIAL_LINE_MAX + 1];
        let mut out = Vec::new();
        r.push(&big, &mut out).unwrap();
        assert_eq!(
            out.len(),
            big.len(),
            "a long line without a newline is not held"
        );
    }

    #[test]
    fn control_markers() {
        assert_eq!(parse_control(b"STPHWBP-READY 1.23\n"), (true, None));
        assert_eq!(
            parse_control(b"STPHWBP-READY 1\nSTPHWBP-EXIT 3"),
            (true, None)
        );
        assert_eq!(
            parse_control(b"STPHWBP-READY 1\nSTPHWBP-EXIT 3\n"),
            (true, Some(3))
        );
    }

    #[test]
    fn problems() {
        let log = "[    0.000000] Linux version 6.1\n\
                   [    1.0] WARNING: CPU: 1 PID: 5 at kernel/foo.c:1 bar+0x1/0x2\n\
                   [    1.1] Call Trace:\n\
                   [    2.0] BUG: kernel NULL pointer dereference, address: 0000000000000000\n\
                   [    3.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s!\n\
                   [    4.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n\
                   [    5.0] WARNING: some harmless note\n\
                   [    6.0] general protection fault, probably for non-canonical address\n";
        let p = detect_kernel_problems(log);
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(p[0].starts_with("WARNING: CPU: 1"));
        assert!(detect_kernel_problems("[ 0.1] all good\n").is_empty());
    }

    /// The report starts at the `cut here` marker before the first problem and keeps the
    /// kernel's own lines (timestamps included) up to the limit.
    #[test]
    fn first_problem_report_keeps_the_trace() {
        let log = "[    0.1] booting\n\
                   [    1.0] ------------[ cut here ]------------\n\
                   [    1.0] WARNING: CPU: 0 PID: 31 at arch/x86/kernel/traps.c:1120 f+0x1/0x2\n\
                   [    1.0] Call Trace:\n\
                   [    1.0]  g+0x1/0x2\n\
                   [    2.0] later\n";
        let r = first_problem_report(log, 4);
        assert_eq!(r.lines().count(), 4, "{r}");
        assert!(r.starts_with("[    1.0] ------------[ cut here ]"), "{r}");
        assert!(r.ends_with("g+0x1/0x2"), "{r}");
        assert_eq!(first_problem_report("[ 0.1] all good\n", 10), "");
    }

    /// Boots the first Debian kernel found in /boot: stdout, stderr and the status come back
    /// apart and byte-exact (a few seconds; nextest runs it in the one-at-a-time group).
    #[test]
    fn boots_a_guest() {
        let k = fs::read_dir("/boot")
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().contains("vmlinuz-"))
            .expect("a kernel image in /boot (install linux-image-amd64, or run `make setup`)");
        let mut spec = GuestSpec::new(k, ["sh", "-c", "echo out; echo err >&2; exit 3"]);
        spec.timeout = Duration::from_secs(120);
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let r = run_guest(&spec, &mut o, &mut e).unwrap();
        assert_eq!(r.status, Some(3), "{}", r.kernel_log);
        assert_eq!(o, b"out\n");
        assert_eq!(e, b"err\n");
        assert!(r.kernel_problems.is_empty(), "{:?}", r.kernel_problems);
    }
}
