//! Pass 5: load a generated module, run its session, stream its output, unload it.
//!
//! # API
//!
//! ```ignore
//! let opts = RunOptions { module: "stap_foo.ko".into(), command: Some("ls".into()), ..Default::default() };
//! let status = run(&opts)?;          // Ok(0) clean, Ok(1) script/load error; Err: environment
//! ```
//!
//! [`run`] prints the session's diagnostics itself (as `ERROR: ...` lines on stderr) and returns
//! `Ok(1)` for failures that belong to the script or the module (a symbol missing from
//! `/proc/kallsyms`, a bad `-G`, the kernel refusing the module, an `ERROR:` line in the stream);
//! it returns `Err(message)` for environment failures (not root, unreadable or malformed `.ko`,
//! proc files missing, ...). Once the module is loaded it is always removed again, also on `Err`.
//!
//! # Conventions with the module (see `docs/runtime-api.md` and `modinfo.rs`)
//!
//! * Module name: the `name=` entry of `.modinfo`.
//! * `stphwbp_sym=N:SYMBOL` -> parameter `stp_sym_addr_N=0x<hex>` with the address of the first
//!   line of `/proc/kallsyms` whose 3rd column is exactly SYMBOL. A missing symbol passes
//!   nothing: the module decides (a `.unavailable`, or a failed start). Address shown as 0
//!   (`kptr_restrict`), or not a kernel address (a per-CPU variable's offset): the parameter
//!   is not passed (the module looks the symbol up itself, and refuses such an address).
//! * `stphwbp_global=NAME:long|string` -> `-G NAME=VALUE` becomes `g_NAME=VALUE`. A long is
//!   checked here (decimal, or `0x` hex, optional sign) and passed in decimal; a string is passed
//!   as `g_NAME="VALUE"` (the kernel's `next_arg` strips the quotes; a value containing `"`
//!   cannot be expressed and is refused).
//! * `stp_target=PID` (target()): the `-c` child's pid or the `-x` PID; passed only when the
//!   module declares that parameter (`parmtype=stp_target:...`).
//!
//! # Behaviour
//!
//! 1. Must run as root (effective uid 0).
//! 2. `-c CMD`: `/bin/sh -c WRAPPER stp-hwbp-target CMD` is spawned at once (so its pid is known
//!    for `stp_target`); the wrapper blocks reading a pipe (its fd 3) and only then does
//!    `exec /bin/sh -c CMD` (same pid). It keeps the loader's stdin/stdout/stderr and process
//!    group (a terminal's Ctrl-C reaches both, as with SystemTap).
//! 3. Loading is `finit_module(fd, params, 0)`. On failure the kernel log records written during
//!    the attempt (read from `/dev/kmsg`, opened and positioned at its end beforehand) that
//!    mention the module, `stp_hwbp` or one of the parameters are printed as `ERROR: <text>`;
//!    without any, `ERROR: cannot load NAME: <strerror>` (`EEXIST` says a module of that name is
//!    already loaded). The held child is killed; status 1.
//! 4. Opening `/proc/stp_hwbp/NAME/out` starts the session (the start callback runs begin probes
//!    and arms the watchpoints on the module's workqueue, asynchronously). The loader then polls
//!    `ctl` until the state leaves `starting` (reading `out` meanwhile): `running` releases the
//!    child, so the command's accesses happen after begin probes ran and watchpoints are armed;
//!    any other state (begin called exit(), arming failed) kills the held child instead: the
//!    command never runs.
//! 5. `out` is read (non-blocking + `poll`, 100 ms) until EOF. Lines starting with `ERROR: ` or
//!    `WARNING: ` go to stderr (`NOTE: ` too, with `-v`), the rest to stdout or the `-o` file; bytes are written through at
//!    once unless they could still be the start of such a prefix. An `ERROR: ` line makes the
//!    exit status 1.
//! 6. Ending: SIGINT, SIGTERM or SIGHUP (handlers set a flag; `poll` wakes every 100 ms), `-T`
//!    expiry (counted from the session start) or the `-c` child's exit (it is reaped) make the
//!    loader write `exit` to `ctl` and keep reading until EOF (end probes' output). A second
//!    signal after that stops waiting: `out` is closed and the module removed (its exit runs the
//!    end probes, their output is lost). When the script ends by itself (`exit()`), EOF arrives
//!    unasked; a `-c` child still running is then left running, as SystemTap's stapio does.
//! 7. `out` is closed, then the module is removed with `delete_module(NAME, O_NONBLOCK)`, retried
//!    on `EBUSY`/`EAGAIN` for up to 2 s. Exit status: 1 if an `ERROR:` line was seen (or the
//!    removal failed), else 0.
//! 8. `-v` prints the load, session and unload times to stderr; `-vv` also the parameters.
#![allow(unsafe_code)]

use super::modinfo::{GlobalType, ModInfo};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What pass 5 runs, from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The module (`.ko`) to load.
    pub module: PathBuf,
    /// `-c CMD`: run through `/bin/sh -c`; target() is its pid; the session ends when it exits.
    pub command: Option<String>,
    /// `-x PID`: target().
    pub target_pid: Option<i64>,
    /// `-o FILE`: the script's output (diagnostics stay on stderr).
    pub output: Option<PathBuf>,
    /// `-T`: end the session after this long.
    pub timeout: Option<Duration>,
    /// `-G NAME=VALUE`, in order.
    pub globals: Vec<(String, String)>,
    /// `-v` count.
    pub verbose: u8,
}

/// Root of the runtime's proc files.
const PROC_ROOT: &str = "/proc/stp_hwbp";
/// The wrapper the `-c` child runs: wait for the go-ahead on fd 3, then become the command.
const WRAPPER: &str =
    "IFS= read -r stp_go <&3; exec 3<&-; [ \"$stp_go\" = go ] || exit 126; exec /bin/sh -c \"$1\"";

/// Loads the module, runs the session, unloads. See the module documentation.
pub fn run(opts: &RunOptions) -> Result<i32, String> {
    let info = ModInfo::from_file(&opts.module)?;
    let name = info
        .name()
        .ok_or_else(|| format!("{}: no name= entry in .modinfo", opts.module.display()))?
        .to_string();
    if opts.command.is_some() && opts.target_pid.is_some() {
        return Err("-c and -x cannot be used together".into());
    }

    // Parameters that do not depend on the environment first: -G mistakes are the user's.
    let mut params: Vec<String> = Vec::new();
    match global_params(&info, &opts.globals) {
        Ok(p) => params.extend(p),
        Err(msg) => {
            eprintln!("ERROR: {msg}");
            return Ok(1);
        }
    }

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "loading kernel module {name} needs root (run as root, e.g. with sudo; or use --vm to run it in a QEMU guest)"
        ));
    }

    let syms = info.syms()?;
    if !syms.is_empty() {
        let wanted: Vec<&str> = syms.iter().map(|(_, s)| s.as_str()).collect();
        let found = kallsyms_lookup(&wanted)?;
        for (n, sym) in &syms {
            match found.get(sym.as_str()) {
                // Not in /proc/kallsyms, or hidden by kptr_restrict: the module looks it up
                // itself and, if it is missing there too, reports it as the watchpoint's
                // `.unavailable` reason or fails the start naming the point.
                None | Some(0) => {}
                // Not a kernel address (the top bit clear): a per-CPU variable's symbol is
                // an offset into each CPU's area (`runqueues` is 0x31c40). The parameter
                // would refuse it and fail the load; without it the module finds the same
                // value and reports `not a kernel address (EINVAL)` as the watchpoint's
                // `.unavailable` reason, or fails the start naming the point.
                Some(addr) if addr >> 63 == 0 => {}
                Some(addr) => params.push(format!("stp_sym_addr_{n}={addr:#x}")),
            }
        }
    }

    // Function probe wildcards: the matching functions the kernel lets us probe. None
    // matching passes nothing, and the module says so (or leaves an optional point out).
    let globs = info.kpglobs()?;
    if !globs.is_empty() {
        let ks = std::fs::read_to_string("/proc/kallsyms")
            .map_err(|e| format!("cannot read /proc/kallsyms: {e}"))?;
        let ok = super::functions::Probeable::read();
        let max = info.kpmax()?;
        for (n, module, pat) in &globs {
            let fns = super::functions::expand(&ks, pat, module.as_deref(), &ok);
            if opts.verbose > 0 {
                eprintln!("Pass 5: {pat} matches {} functions", fns.len());
            }
            if !fns.is_empty() {
                // The parameter is an array of MAXKPROBES + 1 names: one past the limit
                // makes the module refuse the point naming MAXKPROBES (or leave it out, if
                // optional); more would make the kernel refuse the parameter, naming it.
                let keep = max.map_or(fns.len(), |m| fns.len().min(m.saturating_add(1)));
                params.push(format!("stp_kp_list_{n}={}", fns[..keep].join(",")));
            }
        }
    }

    let mut out = super::stream::Output::new(opts.output.as_deref())?;
    let module_file = File::open(&opts.module)
        .map_err(|e| format!("cannot open {}: {e}", opts.module.display()))?;

    let signals = SignalGuard::install();

    // The -c child, held before exec until the session runs.
    let mut held: Option<HeldChild> = match &opts.command {
        Some(cmd) => Some(HeldChild::spawn(cmd)?),
        None => None,
    };
    let target = held.as_ref().map(|h| h.pid() as i64).or(opts.target_pid);
    if info.param_type("stp_tz_gmtoff").is_some() {
        params.extend(super::services::tz_params());
    }
    if let Some(t) = target {
        if info.param_type("stp_target").is_some() {
            params.push(format!("stp_target={t}"));
        } else if opts.verbose > 0 {
            eprintln!("stp-hwbp: module {name} has no stp_target parameter; target() not passed");
        }
    }
    let param_str = params.join(" ");
    if opts.verbose > 1 {
        eprintln!(
            "Pass 5: loading {} with parameters: {param_str}",
            opts.module.display()
        );
    }

    // Load.
    let t_load = Instant::now();
    let kmsg = Kmsg::open();
    let cparams = CString::new(param_str.clone())
        .map_err(|_| "module parameters contain a NUL byte".to_string())?;
    // SAFETY: a valid fd and a NUL-terminated string that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            module_file.as_raw_fd(),
            cparams.as_ptr(),
            0 as libc::c_int,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if let Some(h) = held.take() {
            h.kill();
        }
        let mut keys: Vec<&str> = params.iter().filter_map(|p| p.split('=').next()).collect();
        keys.push("stp_hwbp");
        keys.push(&name);
        let lines = kmsg.map(|k| k.lines_mentioning(&keys)).unwrap_or_default();
        if err.raw_os_error() == Some(libc::EEXIST) {
            eprintln!(
                "ERROR: cannot load {name}: a module named {name} is already loaded (remove it with `rmmod {name}`)"
            );
        } else if lines.is_empty() {
            eprintln!("ERROR: cannot load {name}: {}", strerror(&err));
        } else {
            for l in lines {
                eprintln!("ERROR: {}", strip_prefixes(&l, &name));
            }
        }
        return Ok(1);
    }
    drop(kmsg);
    drop(module_file);
    if opts.verbose > 0 {
        eprintln!(
            "Pass 5: loaded {name} in {} ms",
            t_load.elapsed().as_millis()
        );
    }

    // Session; whatever happens, unload afterwards.
    let t_sess = Instant::now();
    let sess = session(&name, opts, &mut out, &mut held, &signals);
    if let Some(h) = held.take() {
        h.kill();
    }
    if opts.verbose > 0 {
        eprintln!(
            "Pass 5: session of {name} ran {} ms",
            t_sess.elapsed().as_millis()
        );
    }
    let t_unload = Instant::now();
    let unloaded = unload(&name);
    if opts.verbose > 0 {
        eprintln!(
            "Pass 5: unloaded {name} in {} ms",
            t_unload.elapsed().as_millis()
        );
    }
    drop(signals);
    let saw_error = sess?;
    if let Err(e) = unloaded {
        eprintln!("ERROR: cannot remove module {name}: {e}");
        return Ok(1);
    }
    Ok(if saw_error { 1 } else { 0 })
}

/// The longest string the kernel passes to a `charp` module parameter (`param_set_charp`
/// refuses 1024 bytes or more, naming only the parameter).
pub const MAX_STRING_PARAM: usize = 1023;

/// `-G` settings as module parameters, checked against `stphwbp_global` entries.
pub(crate) fn global_params(
    info: &ModInfo,
    globals: &[(String, String)],
) -> Result<Vec<String>, String> {
    let known = info.globals()?;
    let mut out = Vec::new();
    for (k, v) in globals {
        let Some((_, ty)) = known.iter().find(|(n, _)| n == k) else {
            let list: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
            return Err(if list.is_empty() {
                format!("-G {k}={v}: the script has no global '{k}' that can be set (it has none)")
            } else {
                format!(
                    "-G {k}={v}: the script has no global '{k}' that can be set (settable: {})",
                    list.join(", ")
                )
            });
        };
        match ty {
            GlobalType::Long => {
                let n = parse_long(v).ok_or_else(|| {
                    format!("-G {k}={v}: global '{k}' is a number, and '{v}' is not one")
                })?;
                out.push(format!("g_{k}={n}"));
            }
            GlobalType::String => {
                if v.contains('"') || v.contains('\0') {
                    return Err(format!(
                        "-G {k}={v}: a value for global '{k}' cannot contain '\"' (the kernel's parameter parser cannot pass it)"
                    ));
                }
                if v.len() > MAX_STRING_PARAM {
                    // Not the value itself: it is long, and the length is what is wrong.
                    return Err(format!(
                        "-G {k}=...: the value for global '{k}' is {} bytes; the kernel passes at most {MAX_STRING_PARAM} bytes to a module parameter, so -G cannot set a longer string (set it in a begin probe instead)",
                        v.len()
                    ));
                }
                out.push(format!("g_{k}=\"{v}\""));
            }
        }
    }
    Ok(out)
}

/// A 64-bit number as SystemTap accepts it for -G: decimal or 0x-hex, optional sign.
fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mag: u64 = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()?
    };
    if neg {
        if mag > i64::MAX as u64 + 1 {
            return None;
        }
        Some((mag as i64).wrapping_neg())
    } else {
        i64::try_from(mag).ok()
    }
}

/// Addresses of `names` from /proc/kallsyms (first exact match in the 3rd column).
fn kallsyms_lookup<'a>(
    names: &[&'a str],
) -> Result<std::collections::HashMap<&'a str, u64>, String> {
    let text = std::fs::read_to_string("/proc/kallsyms")
        .map_err(|e| format!("cannot read /proc/kallsyms: {e}"))?;
    let mut found = std::collections::HashMap::new();
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(addr), Some(_), Some(sym)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if let Some(n) = names.iter().find(|n| **n == sym)
            && !found.contains_key(n)
        {
            found.insert(*n, u64::from_str_radix(addr, 16).unwrap_or(0));
            if found.len() == names.len() {
                break;
            }
        }
    }
    Ok(found)
}

fn strerror(e: &io::Error) -> String {
    // io::Error's Display is "Message (os error N)"; keep the message.
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// "stp_hwbp: cannot arm ..." / "NAME: ..." -> "cannot arm ..."; an "ERROR: " prefix too.
fn strip_prefixes<'a>(line: &'a str, name: &str) -> &'a str {
    let mut l = line;
    for p in ["stp_hwbp: ", &format!("{name}: ")] {
        if let Some(r) = l.strip_prefix(p) {
            l = r;
            break;
        }
    }
    l.strip_prefix("ERROR: ").unwrap_or(l)
}

// ---------------------------------------------------------------------------------------------
// The session

/// Runs the session of a loaded module; Ok(an ERROR line was seen).
fn session(
    name: &str,
    opts: &RunOptions,
    out: &mut super::stream::Output,
    held: &mut Option<HeldChild>,
    signals: &SignalGuard,
) -> Result<bool, String> {
    let dir = Path::new(PROC_ROOT).join(name);
    let ctl_path = dir.join("ctl");
    let out_path = dir.join("out");
    if signals.count() > 0 {
        return Ok(false); // interrupted before the session started: begin probes never ran
    }
    let out_file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&out_path)
        .map_err(|e| format!("cannot open {}: {e}", out_path.display()))?;
    let fd = out_file.as_raw_fd();

    let mut splitter = super::stream::Splitter::new(opts.verbose > 0);
    let mut buf = vec![0u8; 65536];
    // `-T` counts from here: opening `out` starts the session, and a session that never
    // leaves `starting` (a begin probe's requests that never run out) still ends on time.
    let attached = Instant::now();
    let mut started: Option<Instant> = None; // the state left `starting`
    let mut running_child: Option<Child> = None;
    let mut exit_requested = false;
    let mut signals_seen = 0;
    let mut out_failed = false;
    let request_exit = |why: &str| {
        if opts.verbose > 1 {
            eprintln!("Pass 5: ending the session ({why})");
        }
        if let Err(e) = OpenOptions::new()
            .write(true)
            .open(&ctl_path)
            .and_then(|mut f| f.write_all(b"exit\n"))
        {
            eprintln!("WARNING: cannot write exit to {}: {e}", ctl_path.display());
        }
    };

    loop {
        // Session start: wait for `starting` to end, then release (or drop) the held child.
        if started.is_none() {
            let state = std::fs::read_to_string(&ctl_path).unwrap_or_default();
            let state = state
                .split_ascii_whitespace()
                .find_map(|w| w.strip_prefix("state="))
                .unwrap_or("")
                .to_string();
            if state != "starting" {
                started = Some(Instant::now());
                if let Some(h) = held.take() {
                    if state == "running" && signals.count() == 0 {
                        running_child = Some(h.release()?);
                    } else {
                        h.kill();
                    }
                }
            }
        }

        // Reasons to end.
        let sigs = signals.count();
        if sigs > signals_seen {
            signals_seen = sigs;
            if exit_requested {
                eprintln!("WARNING: interrupted again: not waiting for the end probes' output");
                break;
            }
        }
        if !exit_requested {
            let mut why = None;
            if sigs > 0 {
                why = Some("signal");
            } else if let Some(t) = opts.timeout
                && attached.elapsed() >= t
            {
                why = Some("timeout");
            }
            if let Some(c) = running_child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                running_child = None;
                why = why.or(Some("command exited"));
            }
            if out_failed {
                why = why.or(Some("output cannot be written"));
            }
            if let Some(w) = why {
                exit_requested = true;
                request_exit(w);
            }
        }

        // Read what is there.
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let wait_ms = if started.is_none() { 5 } else { 100 };
        // SAFETY: one valid pollfd.
        let pr = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if pr < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("poll on {}: {e}", out_path.display()));
        }
        if pr == 0 {
            continue;
        }
        match (&out_file).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = splitter.feed(&buf[..n], out) {
                    // A reader that stopped reading (`| head`) just ends the session.
                    if !out_failed && e.kind() != io::ErrorKind::BrokenPipe {
                        eprintln!("WARNING: cannot write the script's output: {e}");
                    }
                    out_failed = true;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(format!("reading {}: {e}", out_path.display())),
        }
    }
    let _ = splitter.finish(out);
    drop(out_file);
    // A child released and still running is left alone (SystemTap behaviour); one that has
    // exited is reaped already, or is reaped here if it exited in the last moments.
    if let Some(mut c) = running_child {
        let _ = c.try_wait();
    }
    Ok(splitter.saw_error)
}

/// Removes module `name`: delete_module(O_NONBLOCK), retried on EBUSY/EAGAIN for up to 2 s.
fn unload(name: &str) -> Result<(), String> {
    let cname = CString::new(name).map_err(|_| "bad module name".to_string())?;
    let t0 = Instant::now();
    loop {
        // SAFETY: a NUL-terminated string that outlives the call.
        let rc =
            unsafe { libc::syscall(libc::SYS_delete_module, cname.as_ptr(), libc::O_NONBLOCK) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EBUSY) | Some(libc::EAGAIN) if t0.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => return Err(strerror(&e)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The -c child

/// The `-c` child, spawned and blocked in its wrapper until released. Dropped unreleased, it
/// is killed and reaped (it never ran the command).
struct HeldChild {
    child: Option<Child>,
    go: Option<OwnedFd>,
}

impl HeldChild {
    fn spawn(cmd: &str) -> Result<HeldChild, String> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!("pipe: {}", io::Error::last_os_error()));
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let rfd = rd.as_raw_fd();
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg(WRAPPER).arg("stp-hwbp-target").arg(cmd);
        // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
        unsafe {
            c.pre_exec(move || {
                if rfd == 3 {
                    if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                } else if libc::dup2(rfd, 3) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = c
            .spawn()
            .map_err(|e| format!("cannot start /bin/sh for -c: {e}"))?;
        drop(rd);
        Ok(HeldChild {
            child: Some(child),
            go: Some(wr),
        })
    }

    /// Lets the command run.
    fn release(mut self) -> Result<Child, String> {
        let wr = self.go.take().unwrap();
        let mut f = File::from(wr);
        f.write_all(b"go\n")
            .map_err(|e| format!("cannot start the -c command: {e}"))?;
        drop(f);
        Ok(self.child.take().unwrap())
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the held (never released) child and reaps it.
    fn kill(self) {
        drop(self);
    }
}

impl Drop for HeldChild {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            drop(self.go.take());
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

static SIGNALS: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_sig: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// SIGINT/SIGTERM/SIGHUP handlers counting into `SIGNALS`; the old ones come back on drop.
struct SignalGuard {
    old: Vec<(libc::c_int, libc::sigaction)>,
}

impl SignalGuard {
    fn install() -> SignalGuard {
        SIGNALS.store(0, Ordering::SeqCst);
        let mut old = Vec::new();
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: plain sigaction calls with zero-initialised structs; the handler only
            // touches an atomic.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut prev: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut prev) == 0 {
                    old.push((sig, prev));
                }
            }
        }
        SignalGuard { old }
    }

    fn count(&self) -> u32 {
        SIGNALS.load(Ordering::SeqCst)
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restoring a disposition sigaction gave us.
            unsafe {
                libc::sigaction(*sig, prev, std::ptr::null_mut());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// /dev/kmsg

struct Kmsg {
    f: File,
}

impl Kmsg {
    /// /dev/kmsg positioned at its end, non-blocking; None if it cannot be opened.
    fn open() -> Option<Kmsg> {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        // SAFETY: lseek on a descriptor we own.
        unsafe {
            libc::lseek(f.as_raw_fd(), 0, libc::SEEK_END);
        }
        Some(Kmsg { f })
    }

    /// Messages logged since `open` that contain one of `keys`, minus the taint notices.
    fn lines_mentioning(mut self, keys: &[&str]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut buf = vec![0u8; 8192];
        for _ in 0..10_000 {
            match self.f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let Some((_, text)) = rec.split_once(';') else {
                        continue;
                    };
                    let text = text.lines().next().unwrap_or("").trim_end();
                    if text.contains("taints kernel") || text.contains("tainting kernel") {
                        continue;
                    }
                    if keys.iter().any(|k| !k.is_empty() && text.contains(k)) {
                        lines.push(text.to_string());
                    }
                }
                // EPIPE: records were overwritten meanwhile; the next read continues.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_parsing() {
        assert_eq!(parse_long("42"), Some(42));
        assert_eq!(parse_long("-0x10"), Some(-16));
        assert_eq!(parse_long("010"), Some(10));
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("9223372036854775808"), None);
        assert_eq!(parse_long("abc"), None);
        assert_eq!(parse_long(""), None);
    }

    #[test]
    fn globals_to_params() {
        let info =
            ModInfo::from_section(b"stphwbp_global=n:long\0stphwbp_global=s:string\0name=m\0");
        let p = global_params(
            &info,
            &[("n".into(), "0x10".into()), ("s".into(), "a b".into())],
        )
        .unwrap();
        assert_eq!(p, vec!["g_n=16".to_string(), "g_s=\"a b\"".to_string()]);
        assert!(
            global_params(&info, &[("zz".into(), "1".into())])
                .unwrap_err()
                .contains("zz")
        );
        assert!(
            global_params(&info, &[("n".into(), "one".into())])
                .unwrap_err()
                .contains("'n'")
        );
        assert!(global_params(&info, &[("s".into(), "a\"b".into())]).is_err());
        let longest = "x".repeat(MAX_STRING_PARAM);
        assert!(global_params(&info, &[("s".into(), longest.clone())]).is_ok());
        let err = global_params(&info, &[("s".into(), longest + "x")]).unwrap_err();
        assert!(err.contains("'s' is 1024 bytes") && err.contains("at most 1023"));
    }

    #[test]
    fn prefixes_stripped() {
        assert_eq!(
            strip_prefixes("stp_hwbp: cannot arm x", "m"),
            "cannot arm x"
        );
        assert_eq!(
            strip_prefixes("m: Unknown parameter", "m"),
            "Unknown parameter"
        );
    }
}
