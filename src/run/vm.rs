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
//!   writers it is given (flushed after every chunk) and returns a [`GuestOutcome`]: the exit
//!   status (`None` if the command never finished: timeout, panic, ...), the kernel console log
//!   (`\r\n` turned into `\n`), the kernel problems found in it ([`detect_kernel_problems`]),
//!   and timings. It returns `Err` only when the guest could not be set up or QEMU could not be
//!   started (the message then carries QEMU's stderr).
//!
//! # The guest
//!
//! * initramfs: an uncompressed newc cpio written here: `/bin/busybox` (the host's
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

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
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

const INIT_SCRIPT: &str = r#"#!/bin/sh
# stp-hwbp guest init (generated)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
echo 0 > /proc/sys/kernel/kptr_restrict
echo 0 > /proc/sys/kernel/dmesg_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid
hostname stphwbp-guest
ifconfig lo 127.0.0.1 up 2>/dev/null
@MODULES@for t in @OUT@ @ERR@ @CTL@; do stty -F $t raw -echo -ixon -ixoff -crtscts 2>/dev/null; done
echo "STPHWBP-READY $(cut -d' ' -f1 /proc/uptime)" > @CTL@
cd /root
/bin/sh /.stphwbp/cmd < /dev/null > @OUT@ 2> @ERR@
rc=$?
cd /
# stty sets the attributes with TCSADRAIN: it returns once all output has been sent.
stty -F @OUT@ raw -echo 2>/dev/null
stty -F @ERR@ raw -echo 2>/dev/null
echo "STPHWBP-EXIT $rc" > @CTL@
stty -F @CTL@ raw -echo 2>/dev/null
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 1000
"#;

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
        write_initramfs(spec, &mut w)?;
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

    loop {
        if timed_out {
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
                    && let Err(e) = stdout.write_all(&d).and_then(|_| stdout.flush())
                {
                    write_err = Some(e);
                }
            }
            Ok(Msg::Data(2, d)) => {
                if write_err.is_none()
                    && let Err(e) = stderr.write_all(&d).and_then(|_| stderr.flush())
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
    if timed_out {
        let _ = child.kill();
    }
    let _ = child.wait();
    // Whatever is still queued (the readers end once QEMU's sockets close).
    while let Ok(m) = rx.recv_timeout(Duration::from_millis(200)) {
        match m {
            Msg::Data(0, d) => console.extend_from_slice(&d),
            Msg::Data(1, d) if write_err.is_none() => {
                let _ = stdout.write_all(&d).and_then(|_| stdout.flush());
            }
            Msg::Data(2, d) if write_err.is_none() => {
                let _ = stderr.write_all(&d).and_then(|_| stderr.flush());
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

// ---------------------------------------------------------------------------------------------
// initramfs

/// Write the guest's initramfs (uncompressed newc cpio) for `spec` to `w`.
pub fn write_initramfs(spec: &GuestSpec, w: &mut dyn Write) -> io::Result<()> {
    let busybox: PathBuf = std::env::var_os("STPHWBP_BUSYBOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| match spec.arch {
            crate::target::Arch::Arm64 => super::vm_arm64::busybox(),
            crate::target::Arch::X86_64 => PathBuf::from("/bin/busybox"),
        });
    let mut cpio = Cpio::new(w);
    for d in [
        "dev", "proc", "sys", "tmp", "run", "root", "etc", "mnt", "var", ".stphwbp",
    ] {
        cpio.dir(d)?;
    }
    cpio.node("dev/console", 0o020600, 5, 1)?;
    cpio.node("dev/null", 0o020666, 1, 3)?;
    cpio.node("dev/ttyS0", 0o020600, 4, 64)?;
    cpio.node("dev/ttyS1", 0o020600, 4, 65)?;
    cpio.node("dev/ttyS2", 0o020600, 4, 66)?;
    cpio.node("dev/ttyS3", 0o020600, 4, 67)?;

    let user_paths: BTreeSet<String> = spec
        .files
        .iter()
        .map(|(_, g)| g.trim_start_matches('/').to_string())
        .collect();

    cpio.file_from_host("bin/busybox", &busybox, 0o755)?;
    // The applets' names: an arm64 busybox cannot run here, the host's lists the same ones.
    let lister = match spec.arch {
        crate::target::Arch::Arm64 => Path::new("/bin/busybox"),
        crate::target::Arch::X86_64 => busybox.as_path(),
    };
    let list = Command::new(lister).arg("--list-full").output()?;
    if !list.status.success() {
        return Err(io::Error::other(format!(
            "{} --list-full failed",
            busybox.display()
        )));
    }
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim().trim_start_matches('/');
        if applet.is_empty() || applet == "bin/busybox" || user_paths.contains(applet) {
            continue;
        }
        cpio.symlink(applet, "/bin/busybox")?;
    }
    if !user_paths.contains("bin/sh") {
        cpio.symlink("bin/sh", "/bin/busybox")?; // in case the list lacks it
    }
    let [out, err, ctl] = match spec.arch {
        crate::target::Arch::Arm64 => super::vm_arm64::CHANNELS,
        crate::target::Arch::X86_64 => ["/dev/ttyS1", "/dev/ttyS2", "/dev/ttyS3"],
    };
    // Channel drivers built as modules: loaded first, then their devices waited for (5 s).
    let mut modules = String::new();
    if spec.arch == crate::target::Arch::Arm64 {
        let mods = super::vm_arm64::channel_modules(&spec.kernel);
        for (host, guest) in &mods {
            cpio.file_from_host(guest.trim_start_matches('/'), host, 0o644)?;
            modules.push_str(&format!("insmod {guest}\n"));
        }
        if !mods.is_empty() {
            modules.push_str(&format!(
                "n=0; while [ ! -e {ctl} ] && [ $n -lt 500 ]; do usleep 10000; n=$((n + 1)); done\n"
            ));
        }
    }
    let init = INIT_SCRIPT
        .replace("@MODULES@", &modules)
        .replace("@OUT@", out)
        .replace("@ERR@", err)
        .replace("@CTL@", ctl);
    cpio.data("init", 0o755, init.as_bytes())?;
    cpio.data("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n")?;
    cpio.data("etc/group", 0o644, b"root:x:0:\n")?;

    let script = match &spec.shell {
        Some(s) => s.clone(),
        None => format!(
            "exec {}\n",
            spec.command
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    cpio.data(".stphwbp/cmd", 0o755, script.as_bytes())?;

    let mut libs = BTreeSet::new();
    for (host, guest) in &spec.files {
        if !guest.starts_with('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("guest path {guest:?} is not absolute"),
            ));
        }
        let meta = fs::metadata(host)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
        let mode = meta.permissions().mode() & 0o7777;
        cpio.file_from_host(guest.trim_start_matches('/'), host, mode)?;
        if is_dynamic_elf(host)? {
            for lib in ldd(host)? {
                libs.insert(lib);
            }
        }
    }
    for lib in libs {
        let g = lib.to_string_lossy().trim_start_matches('/').to_string();
        if !user_paths.contains(&g) {
            cpio.file_from_host(&g, &lib, 0o755)?;
        }
    }
    cpio.finish()
}

/// Quote for /bin/sh: 'a'\''b'.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// True for ELF executables and shared objects (`ET_EXEC`, `ET_DYN`), false for anything
/// else (kernel modules are `ET_REL`).
fn is_dynamic_elf(path: &Path) -> io::Result<bool> {
    let mut f = fs::File::open(path)?;
    let mut h = [0u8; 18];
    let mut n = 0;
    while n < h.len() {
        match f.read(&mut h[n..])? {
            0 => return Ok(false),
            k => n += k,
        }
    }
    if &h[..4] != b"\x7fELF" {
        return Ok(false);
    }
    let e_type = if h[5] == 2 {
        u16::from_be_bytes([h[16], h[17]])
    } else {
        u16::from_le_bytes([h[16], h[17]])
    };
    Ok(e_type == 2 || e_type == 3)
}

/// The shared libraries and loader `ldd` lists for `path` (none for static binaries).
fn ldd(path: &Path) -> io::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(path)
        .stderr(Stdio::null())
        .output()?;
    if !out.status.success() {
        // "not a dynamic executable" (static binaries) exits with 1.
        return Ok(Vec::new());
    }
    parse_ldd(&String::from_utf8_lossy(&out.stdout), path)
}

fn parse_ldd(text: &str, path: &Path) -> io::Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let target = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{}: library {} not found", path.display(), name.trim()),
                    ));
                }
                rest
            }
            None => line,
        };
        let p = target.split(" (").next().unwrap_or("").trim();
        if p.starts_with('/') {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}

/// Minimal writer of "newc" cpio archives, as the kernel's initramfs unpacker reads them.
struct Cpio<'a> {
    w: &'a mut dyn Write,
    ino: u32,
    offset: u64,
    dirs: BTreeSet<String>,
}

impl<'a> Cpio<'a> {
    fn new(w: &'a mut dyn Write) -> Self {
        Cpio {
            w,
            ino: 1,
            offset: 0,
            dirs: BTreeSet::new(),
        }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.offset += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = ((4 - self.offset % 4) % 4) as usize;
        self.put(&[0u8; 3][..n])
    }

    fn header(&mut self, name: &str, mode: u32, size: u64, rdev: (u32, u32)) -> io::Result<()> {
        if size > u32::MAX as u64 {
            return Err(io::Error::other(format!("{name}: too large for cpio")));
        }
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let h = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        self.ino += 1;
        self.put(h.as_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[0])?;
        self.pad()
    }

    /// Create the parent directories of `name` that were not emitted yet.
    fn parents(&mut self, name: &str) -> io::Result<()> {
        let mut acc = String::new();
        let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(p);
            if !self.dirs.contains(&acc) {
                let d = acc.clone();
                self.header(&d, 0o040755, 0, (0, 0))?;
                self.dirs.insert(d);
            }
        }
        Ok(())
    }

    fn dir(&mut self, name: &str) -> io::Result<()> {
        self.parents(name)?;
        if self.dirs.insert(name.to_string()) {
            self.header(name, 0o040755, 0, (0, 0))?;
        }
        Ok(())
    }

    fn node(&mut self, name: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        self.parents(name)?;
        self.header(name, mode, 0, (major, minor))
    }

    fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        self.parents(name)?;
        self.header(name, 0o120777, target.len() as u64, (0, 0))?;
        self.put(target.as_bytes())?;
        self.pad()
    }

    fn data(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        self.parents(name)?;
        self.header(name, 0o100000 | (perm & 0o7777), data.len() as u64, (0, 0))?;
        self.put(data)?;
        self.pad()
    }

    fn file_from_host(&mut self, name: &str, host: &Path, perm: u32) -> io::Result<()> {
        let mut f = fs::File::open(host)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
        let len = f.metadata()?.len();
        self.parents(name)?;
        self.header(name, 0o100000 | (perm & 0o7777), len, (0, 0))?;
        let copied = io::copy(&mut (&mut f).take(len), &mut self.w)?;
        if copied != len {
            return Err(io::Error::other(format!(
                "{}: file changed while read",
                host.display()
            )));
        }
        self.offset += len;
        self.pad()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header("TRAILER!!!", 0, 0, (0, 0))?;
        // Pad the archive to a multiple of 512 bytes, as cpio(1) does.
        let n = ((512 - self.offset % 512) % 512) as usize;
        self.put(&vec![0u8; n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_layout() {
        let mut v = Vec::new();
        {
            let mut c = Cpio::new(&mut v);
            c.data("a/b/c", 0o644, b"hello").unwrap();
            c.finish().unwrap();
        }
        let s = String::from_utf8_lossy(&v);
        assert!(s.starts_with("070701"));
        // a, a/b, a/b/c, TRAILER!!!
        assert_eq!(s.matches("070701").count(), 4);
        assert!(s.contains("a/b/c\0"));
        assert!(s.contains("hello"));
        assert!(s.contains("TRAILER!!!\0"));
        assert_eq!(v.len() % 512, 0);
        // every header starts 4-aligned
        for (i, _) in s.match_indices("070701") {
            assert_eq!(i % 4, 0);
        }
    }

    #[test]
    fn ldd_parsing() {
        let t = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let v = parse_ldd(t, Path::new("x")).unwrap();
        assert_eq!(
            v,
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(parse_ldd("\tlibfoo.so => not found\n", Path::new("x")).is_err());
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

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
