//! End-to-end tests: every `tests/e2e/cases/NAME.stp` runs with `stp-hwbp --vm` in a QEMU guest
//! of every installed kernel (with CI set, fewer than two kernels, or no QEMU, fails). A case is
//! a small file set next to the script:
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
//! - `NAME.out`: the exact stdout; `NAME.contains`: lines stdout must contain;
//!   `NAME.contains_err`: lines stderr must contain; `NAME.status`: exit status (default 0).
//!
//! The test module `tests/e2e/testmod` (a variable it writes and reads on request) is built for
//! each kernel and loaded in the guest before the script starts.

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    for f in ["stphwbp_testmod.c", "Kbuild"] {
        std::fs::copy(root().join("tests/e2e/testmod").join(f), tmp.path().join(f))
            .map_err(|e| e.to_string())?;
    }
    let out = Command::new("make")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .arg("-C")
        .arg(format!("/lib/modules/{kver}/build"))
        .arg(format!("M={}", tmp.path().display()))
        .arg("modules")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "building the test module for {kver} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
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
    // A TCG guest on a loaded 2-core host now and then stalls in early boot, before init
    // runs (seen once in 100 boots): nothing of the script ran, so the case is run again,
    // once, and says so. A guest that booted and then failed is never retried.
    if String::from_utf8_lossy(&out.stderr).contains(GUEST_NEVER_BOOTED) {
        eprintln!("e2e {kver} {stem}: the guest stalled before init; running the case again");
        out = cmd
            .output()
            .map_err(|e| format!("cannot run stp-hwbp: {e}"))?;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want_status: i32 = read(&side("status"))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let ctx = || format!("\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}");
    if out.status.code() != Some(want_status) {
        return Err(format!(
            "exit status {:?}, expected {want_status}{}",
            out.status.code(),
            ctx()
        )
        .into());
    }
    if let Some(want) = read(&side("out")) {
        if stdout != want {
            return Err(format!(
                "stdout differs from {stem}.out:\n--- expected ---\n{want}{}",
                ctx()
            )
            .into());
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
            return Err(format!("torn or interleaved line: {bad:?}{}", ctx()).into());
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
            )
            .into());
        }
    }
    for (ext, text) in [("contains", &stdout), ("contains_err", &stderr)] {
        if let Some(want) = read(&side(ext)) {
            for l in want.lines().filter(|l| !l.is_empty()) {
                if !text.contains(l) {
                    return Err(format!("missing `{l}` (from {stem}.{ext}){}", ctx()).into());
                }
            }
        }
    }
    eprintln!("e2e {kver} {stem}: {} ms", t.elapsed().as_millis());
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let ci = std::env::var_os("CI").is_some();
    let mut trials = vec![];
    let ks = kernels();
    let qemu = Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ci && (ks.len() < 2 || !qemu) {
        let why = format!(
            "CI needs QEMU and two kernels with headers and images; found QEMU: {qemu}, kernels: {ks:?}"
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
    for k in &ks {
        for c in &cases {
            let name = c
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let (k2, script) = (k.clone(), c.with_extension("stp"));
            trials.push(Trial::test(format!("e2e::{k}::{name}"), move || {
                run_case(&k2, &script)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
