//! End-to-end tests: every `tests/e2e/cases/NAME.stp` runs in a QEMU guest of every installed
//! kernel (with CI set, fewer than three kernels, or no QEMU, fails): alone with `stp-hwbp --vm`,
//! or, when it needs nothing else than its script, options and command (see `shareable`), in a
//! guest it shares with up to five other cases. A case is a small file set next to the script:
//! - `NAME.cmd`: the `-c` command that causes the accesses; `NAME.flags`: more options;
//!   `NAME.args`: script arguments, one per line; `NAME.source`: run this script file instead;
//! - `NAME.setup`: a shell snippet run in the guest before the script (after the test module
//!   is loaded), e.g. `echo "hold 4 2000" > /proc/stphwbp_testmod` to take every debug register;
//! - `NAME.kernel_args`: words added to the guest kernel's command line (e.g. `no5lvl`);
//! - `NAME.first`: a script (path relative to the case) built and run first in the same guest,
//!   its exit status printed as `first run exit N`;
//! - `NAME.first_flags`: options for building that first script (e.g. `-D`);
//!   `NAME.first_args`: options for running it; `NAME.first_run`: a shell snippet that runs
//!   /root/stphwbp_first.ko instead (by hand, with insmod);
//! - `NAME.whole_lines`: `PREFIX LEN COUNT`: every stdout line whole and of that shape, and
//!   COUNT of them, less the probe runs reported as skipped;
//! - `NAME.own_guest`: the case changes the guest for good (a CPU offline...): never share;
//! - `NAME.out`: the exact stdout; `NAME.contains`: lines stdout must contain;
//!   `NAME.contains_err`: lines stderr must contain; `NAME.status`: exit status (default 0).
//!
//! The test module `tests/e2e/testmod` (a variable it writes and reads on request) is built for
//! each kernel and loaded in the guest before the script starts.
//!
//! arm64: the cases `tests/e2e/arm64.cases` names run in one guest of each arm64 tree `make
//! setup` unpacked (with CI set, none fails), each by the busybox loader `--vm` uses there
//! (`src/run/shloader.rs`), with its `.setup`, `.first` and `.source`; `NAME.arm64.EXT` (`out`,
//! `contains_err`, ...) replaces `NAME.EXT` on arm64 where the two differ.

#[allow(dead_code)]
mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::Command;
use stp_hwbp::target::Arch;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kernels() -> Vec<String> {
    let mut v = stp_hwbp::kbuild::tree::installed();
    v.retain(|k| Path::new(&format!("/boot/vmlinuz-{k}")).exists());
    v
}

/// Builds the test module for one kernel once; concurrent test processes race benignly
/// (each builds in its own directory and renames the result into place).
fn testmod(kver: &str) -> Result<PathBuf, String> {
    let dest = root()
        .join("target/e2e-testmod")
        .join(kver)
        .join("stphwbp_testmod.ko");
    if dest.exists() {
        return Ok(dest);
    }
    let tmp = common::build_external(
        kver,
        &root().join("tests/e2e/testmod"),
        &["stphwbp_testmod.c", "Kbuild"],
        &[],
    )
    .map_err(|e| format!("building the test module for {kver} failed:\n{e}"))?;
    std::fs::create_dir_all(dest.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
    let staged = dest.with_extension(format!("ko.{}", std::process::id()));
    std::fs::copy(tmp.path().join("stphwbp_testmod.ko"), &staged).map_err(|e| e.to_string())?;
    std::fs::rename(&staged, &dest).map_err(|e| e.to_string())?;
    Ok(dest)
}

/// What `--vm` says when the guest never reached its init (src/driver.rs).
const GUEST_NEVER_BOOTED: &str = "the guest did not finish in time (boot took 0 ms)";

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn run_case(kver: &str, script: &Path) -> Result<(), Failed> {
    let dir = script.parent().unwrap_or(Path::new("."));
    let stem = script
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let side = |ext: &str| dir.join(format!("{stem}.{ext}"));
    let ko = testmod(kver)?;
    // The cases share a cache of their own (never the user's): modules (every case's first
    // run is a miss that stores), and what --vm boots (the extracted vmlinux, the slimmed
    // binary), made once for the whole suite.
    let cache = root().join("target/e2e-cache");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"));
    cmd.current_dir(dir).arg("--vm").arg("-r").arg(kver);
    cmd.env("XDG_CACHE_HOME", &cache)
        .env_remove("STP_HWBP_CACHE_MAX");
    cmd.arg("--vm-file")
        .arg(format!("{}:/root/stphwbp_testmod.ko", ko.display()));
    let mut setup = String::from("insmod /root/stphwbp_testmod.ko");
    if let Some(extra) = read(&side("setup")) {
        setup.push('\n');
        setup.push_str(extra.trim_end());
    }
    // `NAME.first`: another script, built here and run first in the same guest.
    let first_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    if let Some(first) = read(&side("first")) {
        let b = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .current_dir(first_dir.path())
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("STP_HWBP_CACHE_MAX")
            .args(["-p4", "-r", kver, "-m", "stphwbp_first"])
            .args(
                read(&side("first_flags"))
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .arg(dir.join(first.trim()))
            .output()
            .map_err(|e| e.to_string())?;
        let ko1 = first_dir.path().join("stphwbp_first.ko");
        if !b.status.success() || !ko1.exists() {
            let err = String::from_utf8_lossy(&b.stderr);
            return Err(format!("building {} failed: {err}", first.trim()).into());
        }
        cmd.arg("--vm-file")
            .arg(format!("{}:/root/stphwbp_first.ko", ko1.display()));
        // `NAME.first_run`: how to run it instead (a shell snippet), e.g. insmod by hand.
        match read(&side("first_run")) {
            Some(run) => {
                setup.push('\n');
                setup.push_str(run.trim_end());
            }
            None => {
                let extra = read(&side("first_args")).unwrap_or_default();
                setup.push_str(&format!(
                    "\n/bin/stp-hwbp --run-module /root/stphwbp_first.ko {}; echo \"first run exit $?\"",
                    extra.trim()
                ));
            }
        }
        // A module left loaded (its loader died) must have stopped by itself within a second.
        setup.push_str(
            "\nsleep 1; if [ -e /proc/stp_hwbp/stphwbp_first/ctl ]; then \
             echo \"first module $(cut -d' ' -f1 /proc/stp_hwbp/stphwbp_first/ctl)\"; fi",
        );
    }
    cmd.arg("--vm-setup").arg(setup);
    for a in read(&side("kernel_args"))
        .unwrap_or_default()
        .split_whitespace()
    {
        cmd.arg("--vm-kernel-arg").arg(a);
    }
    if let Some(c) = read(&side("cmd")) {
        cmd.arg("-c").arg(c.trim_end());
    }
    let flags = read(&side("flags")).unwrap_or_default();
    cmd.args(flags.split_whitespace());
    if !flags.contains("-T") {
        // A case that never ends (a lost `.cmd`, a script without exit) fails in a minute
        // with its output, rather than hitting the guest's timeout with none.
        cmd.args(["-T", "60"]);
    }
    match read(&side("source")) {
        Some(src) => cmd.arg(src.trim()),
        None => cmd.arg(format!("{stem}.stp")),
    };
    if let Some(a) = read(&side("args")) {
        cmd.args(a.lines());
    }
    let t = std::time::Instant::now();
    let mut out = cmd
        .output()
        .map_err(|e| format!("cannot run stp-hwbp: {e}"))?;
    if String::from_utf8_lossy(&out.stderr).contains(GUEST_NEVER_BOOTED) {
        eprintln!("e2e {kver} {stem}: the guest stalled before init; running the case again");
        out = cmd
            .output()
            .map_err(|e| format!("cannot run stp-hwbp: {e}"))?;
    }
    let ran = Ran {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    check(dir, &stem, &ran, Arch::X86_64)?;
    eprintln!("e2e {kver} {stem}: {} ms", t.elapsed().as_millis());
    Ok(())
}

/// What one run of a case gave: its exit status, stdout and stderr.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Checks a case's run against its side files (`.status`, `.out`, `.whole_lines`, `.contains`,
/// `.contains_err`); on arm64 a `NAME.arm64.EXT` replaces `NAME.EXT` where the two differ.
fn check(dir: &Path, stem: &str, ran: &Ran, arch: Arch) -> Result<(), String> {
    let side = |ext: &str| {
        let arm = dir.join(format!("{stem}.arm64.{ext}"));
        if arch == Arch::Arm64 && arm.exists() {
            arm
        } else {
            dir.join(format!("{stem}.{ext}"))
        }
    };
    let (stdout, stderr) = (&ran.stdout, &ran.stderr);
    let want_status: i32 = read(&side("status"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let ctx = || format!("\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    if ran.status != Some(want_status) {
        return Err(format!(
            "exit status {:?}, expected {want_status}{}",
            ran.status,
            ctx()
        ));
    }
    if let Some(want) = read(&side("out")) {
        if *stdout != want {
            return Err(format!(
                "stdout differs from {stem}.out:\n--- expected ---\n{want}{}",
                ctx()
            ));
        }
    }
    if let Some(spec) = read(&side("whole_lines")) {
        // "PREFIX LEN COUNT": COUNT lines, each LEN bytes long and starting with PREFIX.
        let mut f = spec.trim_end().rsplitn(3, ' ');
        let (count, len, prefix) = (f.next(), f.next(), f.next().unwrap_or(""));
        let count: usize = count
            .and_then(|c| c.parse().ok())
            .ok_or("bad .whole_lines")?;
        let len: usize = len.and_then(|c| c.parse().ok()).ok_or("bad .whole_lines")?;
        let lines: Vec<&str> = stdout.lines().collect();
        if let Some(bad) = lines
            .iter()
            .find(|l| l.len() != len || !l.starts_with(prefix))
        {
            return Err(format!("torn or interleaved line: {bad:?}{}", ctx()));
        }
        // Every hit is printed or counted: a probe run skipped for lock contention (a guest's
        // vCPU can be descheduled while holding the lock) is reported, never silently lost.
        let skipped: usize = stderr
            .lines()
            .find_map(|l| l.strip_prefix("WARNING: Number of skipped probes: "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if lines.len() + skipped != count {
            return Err(format!(
                "{} lines and {skipped} skipped, expected {count}{}",
                lines.len(),
                ctx()
            ));
        }
    }
    for (ext, text) in [("contains", &stdout), ("contains_err", &stderr)] {
        if let Some(want) = read(&side(ext)) {
            for l in want.lines().filter(|l| !l.is_empty()) {
                if !text.contains(l) {
                    return Err(format!("missing `{l}` (from {stem}.{ext}){}", ctx()));
                }
            }
        }
    }
    Ok(())
}

/// A case shares a guest with others unless it needs one of its own: a `.setup` (it may leave
/// debug registers held), a first module (`.first`), kernel arguments, another script
/// (`.source`), options other than `-D`/`-G`/`-T`, or an `.own_guest` file (a case that changes
/// the guest for good, such as taking a CPU offline).
fn shareable(script: &Path) -> bool {
    let own = ["setup", "first", "kernel_args", "source", "own_guest"];
    if own.iter().any(|e| script.with_extension(e).exists()) {
        return false;
    }
    let flags = read(&script.with_extension("flags")).unwrap_or_default();
    let mut f = flags.split_whitespace();
    while let Some(opt) = f.next() {
        if !matches!(opt, "-D" | "-G" | "-T") || f.next().is_none() {
            return false;
        }
    }
    true
}

/// Cases in one shared guest: enough to save most boots, few enough that a failure is cheap
/// to rerun by itself (`cargo nextest run -E 'binary(e2e)' -- NAME` runs the group).
const SHARED_GROUP: usize = 6;

/// Runs several shareable cases in one guest, one after the other, each as `--vm` would: built
/// on the host with its `-D` options and arguments (its warnings first on stderr), run in the
/// guest by the loader with `-T 60` unless it says otherwise, `-G` and its `-c` command, after
/// the test module is loaded afresh (and the case's `.setup`, which arm64 cases may have). On
/// arm64 the loader is the busybox script `--vm` runs there. Each case is checked by itself;
/// the trial fails with every case that failed.
fn run_shared(kver: &str, scripts: &[PathBuf], arch: Arch) -> Result<(), Failed> {
    let t = std::time::Instant::now();
    let testko = testmod(kver)?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut files = vec![(testko, "/root/stphwbp_testmod.ko".to_string())];
    if arch == Arch::X86_64 {
        files.push((
            stp_hwbp::run::boot::guest_exe(Path::new(env!("CARGO_BIN_EXE_stp-hwbp"))),
            "/bin/stp-hwbp".to_string(),
        ));
    }
    let mut shell = String::new();
    let mut built: Vec<Option<Ran>> = vec![];
    let mut build_err: Vec<String> = vec![];
    let mut timeout = 120.0;
    // Each case's build (its command, run options and directory), then all of them at once.
    let mut plans: Vec<(Command, Vec<String>, PathBuf)> = vec![];
    for (i, script) in scripts.iter().enumerate() {
        let flags = read(&script.with_extension("flags")).unwrap_or_default();
        let words: Vec<&str> = flags.split_whitespace().collect();
        let out_dir = work.path().join(format!("m{i}"));
        std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
        // Built from a copy with a bare name, as run_case runs scripts, so that diagnostics
        // and run-time errors name `NAME.stp` alone; a `.source` is copied under that name.
        let file = script.file_name().unwrap_or_default();
        let src = read(&script.with_extension("source"))
            .map(|s| PathBuf::from(s.trim()))
            .unwrap_or_else(|| script.clone());
        std::fs::copy(&src, out_dir.join(file)).map_err(|e| format!("{}: {e}", src.display()))?;
        let mut b = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"));
        b.current_dir(&out_dir)
            .args(["-p4", "-r", kver, "-a", arch.name()]);
        let mut run_opts: Vec<String> = vec![];
        let mut case_t = 60.0;
        let mut w = words.iter();
        while let Some(&o) = w.next() {
            match o {
                "-v" => run_opts.push(o.to_string()),
                "-D" => {
                    b.args(["-D", w.next().ok_or("-D without a value")?]);
                }
                "-T" => {
                    let v = w.next().ok_or("-T without a value")?;
                    case_t = v.parse().map_err(|_| format!("bad -T {v}"))?;
                }
                _ => run_opts.extend([o.to_string(), w.next().unwrap_or(&"").to_string()]),
            }
        }
        run_opts.extend(["-T".to_string(), case_t.to_string()]);
        timeout += case_t + 10.0;
        b.arg(file);
        if let Some(a) = read(&script.with_extension("args")) {
            b.args(a.lines());
        }
        plans.push((b, run_opts, out_dir));
    }
    let outputs = build_all(plans.iter_mut().map(|p| &mut p.0).collect());
    for (i, (script, ((_, run_opts, out_dir), o))) in scripts
        .iter()
        .zip(plans.into_iter().zip(outputs))
        .enumerate()
    {
        let o = o.map_err(|e| format!("cannot run stp-hwbp: {e}"))?;
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let ko = std::fs::read_dir(&out_dir)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "ko"));
        let Some(ko) = ko.filter(|_| o.status.success()) else {
            // A script that does not build ends as `--vm` would end: before any guest.
            built.push(Some(Ran {
                status: o.status.code(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: err,
            }));
            build_err.push(String::new());
            continue;
        };
        let name = ko
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        files.push((ko.clone(), format!("/root/m{i}/{name}")));
        let cmd = read(&script.with_extension("cmd")).map(|c| c.trim_end().to_string());
        let run = match arch {
            Arch::X86_64 => {
                let mut argv = vec![
                    "/bin/stp-hwbp".to_string(),
                    "--run-module".to_string(),
                    format!("/root/m{i}/{name}"),
                ];
                argv.extend(run_opts);
                if let Some(c) = cmd {
                    argv.extend(["-c".to_string(), c]);
                }
                let argv: Vec<String> =
                    argv.iter().map(|a| stp_hwbp::run::shell_quote(a)).collect();
                argv.join(" ")
            }
            Arch::Arm64 => {
                let loader = arm64_loader(&ko, &format!("/root/m{i}/{name}"), &run_opts, cmd)?;
                let path = out_dir.join("run.sh");
                std::fs::write(&path, loader).map_err(|e| e.to_string())?;
                files.push((path, format!("/root/m{i}/run.sh")));
                format!("sh /root/m{i}/run.sh")
            }
        };
        let setup = read(&script.with_extension("setup")).unwrap_or_default();
        let first = match read(&script.with_extension("first")) {
            Some(f) => shared_first(script, f.trim(), kver, arch, &out_dir, i, &mut files)?,
            None => String::new(),
        };
        shell.push_str(&format!(
            "rmmod stphwbp_first 2>/dev/null; rmmod stphwbp_testmod 2>/dev/null\n\
             insmod /root/stphwbp_testmod.ko\n\
             {setup}\n\
             {{ {first}:; }} >/tmp/o{i} 2>/tmp/e{i}\n\
             {run} >>/tmp/o{i} 2>>/tmp/e{i}; s=$?\n\
             printf '\\n@@STPHWBP-E2E-CASE {i} %s %s %s %s\\n' $s $(wc -c </tmp/o{i}) $(wc -c </tmp/e{i}) $(tr -d . </proc/uptime | cut -d' ' -f1)\n\
             cat /tmp/o{i} /tmp/e{i}\n"
        ));
        built.push(None);
        build_err.push(err);
    }
    let image = match arch {
        Arch::X86_64 => PathBuf::from(format!("/boot/vmlinuz-{kver}")),
        Arch::Arm64 => stp_hwbp::run::vm_arm64::image(kver),
    };
    let mut spec = stp_hwbp::run::vm::GuestSpec::new(image, ["/bin/sh"]);
    spec.arch = arch;
    spec.files = files;
    spec.shell = Some(shell);
    spec.timeout = std::time::Duration::from_secs_f64(timeout);
    let mut attempt = 0;
    let (outcome, stdout) = loop {
        let mut so: Vec<u8> = vec![];
        let mut se: Vec<u8> = vec![];
        let o = stp_hwbp::run::vm::run_guest(&spec, &mut so, &mut se)
            .map_err(|e| format!("cannot run the guest: {e}"))?;
        attempt += 1;
        if o.status.is_none() && o.boot_ms == 0 && attempt < 2 {
            eprintln!("e2e {kver} shared: the guest stalled before init; running it again");
            continue;
        }
        break (o, so);
    };
    if !outcome.kernel_problems.is_empty() || outcome.status.is_none() {
        let tail: Vec<&str> = outcome.kernel_log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "the shared guest {} (status {:?}); kernel problems: {:?}\n--- kernel log tail ---\n{}\n--- stdout ---\n{}",
            if outcome.timed_out { "timed out" } else { "failed" },
            outcome.status,
            outcome.kernel_problems,
            tail.join("\n"),
            String::from_utf8_lossy(&stdout)
        )
        .into());
    }
    // Split the guest's stdout: per case a marker line with its status, the byte counts of its
    // stdout and stderr and the guest's uptime in centiseconds, then those bytes.
    let mut rest: &[u8] = &stdout;
    let mut ran: Vec<Option<Ran>> = built;
    let mut took: Vec<(usize, String)> = vec![];
    let mut last_cs = None;
    let marker = b"\n@@STPHWBP-E2E-CASE ";
    while let Some(at) = rest.windows(marker.len()).position(|w| w == marker) {
        let line_end = rest[at + 1..]
            .iter()
            .position(|&c| c == b'\n')
            .map(|p| at + 1 + p)
            .ok_or("a truncated case marker")?;
        let line = String::from_utf8_lossy(&rest[at + marker.len()..line_end]).into_owned();
        let n: Vec<usize> = line
            .split_whitespace()
            .map(|x| x.parse().map_err(|_| format!("bad case marker {line:?}")))
            .collect::<Result<_, _>>()?;
        let [i, st, ol, el, cs] = n[..] else {
            return Err(format!("bad case marker {line:?}").into());
        };
        if let (Some(l), Some(s)) = (last_cs, scripts.get(i)) {
            let stem = s.file_stem().unwrap_or_default().to_string_lossy();
            took.push((cs.saturating_sub(l), stem.into_owned()));
        }
        last_cs = Some(cs);
        let body = &rest[line_end + 1..];
        if body.len() < ol + el || i >= ran.len() {
            return Err(format!("case marker {line:?} does not fit the output").into());
        }
        ran[i] = Some(Ran {
            status: Some(st as i32),
            stdout: String::from_utf8_lossy(&body[..ol]).into_owned(),
            stderr: build_err[i].clone() + &String::from_utf8_lossy(&body[ol..ol + el]),
        });
        rest = &body[ol + el..];
    }
    let mut failures = vec![];
    for (script, r) in scripts.iter().zip(&ran) {
        let dir = script.parent().unwrap_or(Path::new("."));
        let stem = script.file_stem().unwrap_or_default().to_string_lossy();
        let res = match r {
            Some(r) => check(dir, &stem, r, arch),
            None => Err("the shared guest never reported this case".to_string()),
        };
        if let Err(e) = res {
            failures.push(format!("=== {stem} ===\n{e}"));
        }
    }
    took.sort_by_key(|b| std::cmp::Reverse(b.0));
    let slowest: Vec<String> = took
        .iter()
        .take(8)
        .map(|(cs, n)| format!("{n} {}.{:02} s", cs / 100, cs % 100))
        .collect();
    eprintln!(
        "e2e {kver} shared ({} cases): {} ms (boot {} ms); slowest after the first: {}",
        scripts.len(),
        t.elapsed().as_millis(),
        outcome.boot_ms,
        slowest.join(", ")
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

/// Runs the builds of a shared guest's cases two at a time (the machines this runs on have two
/// cores; a cross build spends most of its time in gcc), each output in its command's place.
fn build_all(cmds: Vec<&mut Command>) -> Vec<std::io::Result<std::process::Output>> {
    let n = cmds.len();
    let queue = std::sync::Mutex::new(cmds.into_iter().enumerate().collect::<Vec<_>>());
    let done = std::sync::Mutex::new((0..n).map(|_| None).collect::<Vec<_>>());
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| {
                loop {
                    let Some((i, cmd)) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let o = cmd.output();
                    done.lock().unwrap()[i] = Some(o);
                }
            });
        }
    });
    done.into_inner()
        .unwrap()
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(std::io::Error::other("not built"))))
        .collect()
}

/// A shared case's `.first` (arm64 only: on x86 such a case has a guest of its own): the
/// script built here as `stphwbp_first` with its `.first_flags` (`-D` only), put into the
/// guest, and the shell that runs it before the case: its `.first_run` snippet (with the
/// modules copied to /root), or the loader with `.first_args` (`-T`, `-G`) and then `first run
/// exit N`; a second later, the state of a first module still loaded.
fn shared_first(
    script: &Path,
    first: &str,
    kver: &str,
    arch: Arch,
    out_dir: &Path,
    i: usize,
    files: &mut Vec<(PathBuf, String)>,
) -> Result<String, String> {
    if arch != Arch::Arm64 {
        return Err("a case with a .first runs in a guest of its own on x86".into());
    }
    let dir = out_dir.join("first");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let b = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .current_dir(&dir)
        .args(["-p4", "-r", kver, "-a", arch.name(), "-m", "stphwbp_first"])
        .args(
            read(&script.with_extension("first_flags"))
                .unwrap_or_default()
                .split_whitespace(),
        )
        .arg(script.parent().unwrap_or(Path::new(".")).join(first))
        .output()
        .map_err(|e| e.to_string())?;
    let ko = dir.join("stphwbp_first.ko");
    if !b.status.success() || !ko.exists() {
        return Err(format!(
            "building {first} failed: {}",
            String::from_utf8_lossy(&b.stderr)
        ));
    }
    let guest_ko = format!("/root/m{i}/stphwbp_first.ko");
    let run = match read(&script.with_extension("first_run")) {
        // By hand: the snippet finds the modules in /root, as with `--vm`.
        Some(snippet) => format!("cp /root/m{i}/*.ko /root/\n{}\n", snippet.trim_end()),
        None => {
            let args = read(&script.with_extension("first_args")).unwrap_or_default();
            let mut args = shell_words(&args);
            let command = match args.iter().position(|a| a == "-c") {
                Some(at) if at + 1 < args.len() => Some(args.drain(at..at + 2).nth(1).unwrap()),
                _ => None,
            };
            let loader = arm64_loader(&ko, &guest_ko, &args, command)?;
            let path = dir.join("run.sh");
            std::fs::write(&path, loader).map_err(|e| e.to_string())?;
            files.push((path, format!("/root/m{i}/first.sh")));
            format!("sh /root/m{i}/first.sh; echo \"first run exit $?\"; ")
        }
    };
    files.push((ko, guest_ko));
    Ok(format!(
        "{run}sleep 1; \
         if [ -e /proc/stp_hwbp/stphwbp_first/ctl ]; then \
         echo \"first module $(cut -d' ' -f1 /proc/stp_hwbp/stphwbp_first/ctl)\"; fi; "
    ))
}

/// A side file's options split as the shell splits them: blanks between words, single and
/// double quotes around a word's parts (`-c 'kill -KILL $PPID'`).
fn shell_words(s: &str) -> Vec<String> {
    let mut words = vec![];
    let mut w: Option<String> = None;
    let mut quote = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => w.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                w.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(w.take()),
            (None, c) => w.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(w);
    words
}

/// The busybox loader script `--vm` runs in an arm64 guest, for one case's module.
fn arm64_loader(
    ko: &Path,
    guest_ko: &str,
    run_opts: &[String],
    command: Option<String>,
) -> Result<String, String> {
    let info = stp_hwbp::run::modinfo::ModInfo::from_file(ko)?;
    let mut opts = stp_hwbp::run::loader::RunOptions {
        module: ko.to_path_buf(),
        command,
        ..Default::default()
    };
    let mut w = run_opts.iter();
    while let Some(o) = w.next() {
        match (o.as_str(), w.clone().next()) {
            ("-v", _) => opts.verbose += 1,
            ("-T", Some(v)) => {
                let t: f64 = v.parse().map_err(|_| format!("bad -T {v}"))?;
                opts.timeout = Some(std::time::Duration::from_secs_f64(t));
                w.next();
            }
            ("-G", Some(v)) => {
                let (k, x) = v.split_once('=').ok_or(format!("bad -G {v}"))?;
                opts.globals.push((k.to_string(), x.to_string()));
                w.next();
            }
            _ => return Err(format!("option {o} has no arm64 loader equivalent")),
        }
    }
    stp_hwbp::run::shloader::script(&info, guest_ko, &opts)
}

/// The cases that also run on arm64 (`tests/e2e/arm64.cases`, one name a line, `#` comments),
/// all in one guest: those that change the guest for good (`.own_guest`) last.
fn arm64_cases() -> Vec<PathBuf> {
    let list = read(&root().join("tests/e2e/arm64.cases")).unwrap_or_default();
    let mut cases: Vec<PathBuf> = list
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|n| root().join(format!("tests/e2e/cases/{n}.stp")))
        .collect();
    cases.sort_by_key(|c| c.with_extension("own_guest").exists());
    cases
}

#[allow(unsafe_code)]
fn main() {
    // The cases share a cache of their own, never the user's: the modules, and what a guest
    // boots (the extracted vmlinux, the slimmed binary). Set before any thread starts, so
    // that the guests this process runs itself (shared ones) use it too.
    // SAFETY: no other thread exists yet.
    unsafe {
        std::env::set_var("XDG_CACHE_HOME", root().join("target/e2e-cache"));
        std::env::remove_var("STP_HWBP_CACHE_MAX");
    }
    let args = Arguments::from_args();
    let ci = std::env::var_os("CI").is_some();
    let mut trials = vec![];
    let ks = kernels();
    let qemu = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ci && (ks.len() < 3 || !qemu) {
        let why = format!(
            "CI needs QEMU and three kernels (6.1, 6.12, 6.1-rt: `make setup`) with headers and \
             images; found QEMU: {qemu}, kernels: {ks:?}"
        );
        trials.push(Trial::test("e2e::environment", move || {
            Err(why.clone().into())
        }));
    }
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("tests/e2e/cases"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    cases.retain(|p| {
        p.extension().is_some_and(|x| x == "stp") || p.extension().is_some_and(|x| x == "source")
    });
    cases.sort();
    let (shared, own): (Vec<PathBuf>, Vec<PathBuf>) = cases
        .iter()
        .map(|c| c.with_extension("stp"))
        .partition(|c| shareable(c));
    let stem = |c: &PathBuf| {
        c.file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    };
    for k in &ks {
        // Groups of at most SHARED_GROUP, as even as they can be.
        let per = shared
            .len()
            .div_ceil(shared.len().div_ceil(SHARED_GROUP).max(1))
            .max(1);
        for group in shared.chunks(per) {
            let names: Vec<String> = group.iter().map(stem).collect();
            let (k2, group) = (k.clone(), group.to_vec());
            trials.push(Trial::test(
                format!("e2e::{k}::shared::{}", names.join("+")),
                move || run_shared(&k2, &group, Arch::X86_64),
            ));
        }
        for c in &own {
            let (k2, script) = (k.clone(), c.clone());
            trials.push(Trial::test(format!("e2e::{k}::{}", stem(c)), move || {
                run_case(&k2, &script)
            }));
        }
    }
    // arm64: the listed cases in one guest per arm64 tree `make setup` unpacked with its image,
    // whose kallsyms lists data symbols (the cases watch symbols by name; Debian's 6.1 arm64
    // kernel, which `STP_HWBP_ARM64_RELEASES` can add to the setup, has no CONFIG_KALLSYMS_ALL).
    let arm64: Vec<String> = common::arm64_trees()
        .into_iter()
        .filter(|k| {
            let image = stp_hwbp::run::vm_arm64::image(k);
            let config = image.with_file_name(format!("config-{k}"));
            image.exists()
                && read(&config).is_some_and(|c| c.lines().any(|l| l == "CONFIG_KALLSYMS_ALL=y"))
        })
        .collect();
    if ci && arm64.is_empty() {
        trials.push(Trial::test("e2e::arm64_environment", || {
            Err("CI needs the arm64 6.12 kernel tree and image (`make setup`)".into())
        }));
    }
    for k in arm64 {
        let group = arm64_cases();
        trials.push(Trial::test(
            format!("e2e::{k}::shared::arm64_cases"),
            move || run_shared(&k, &group, Arch::Arm64),
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
