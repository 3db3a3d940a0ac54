//! What the test binaries that run kbuild share: the installed kernel trees, whether this is
//! CI, and the bound on concurrent kbuild runs in one process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex};

/// How many kbuild runs one test process starts at once (nextest runs every trial in its own
/// process; the `heavy` test group in .config/nextest.toml bounds those to one at a time).
pub const KBUILD_JOBS: usize = 2;

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Every installed kernel build tree, by release name (the same discovery `-r` uses).
pub fn kernel_trees() -> Vec<String> {
    stp_hwbp::kbuild::tree::installed()
}

/// The arm64 kernel build trees `make setup` unpacked (cross-built with aarch64-linux-gnu-).
pub fn arm64_trees() -> Vec<String> {
    stp_hwbp::kbuild::tree::foreign(stp_hwbp::target::Arch::Arm64)
}

/// A counting semaphore bounding concurrent kbuild runs inside this process.
pub struct Slots {
    free: Mutex<usize>,
    cv: Condvar,
}

pub static KBUILD_SLOTS: Slots = Slots {
    free: Mutex::new(KBUILD_JOBS),
    cv: Condvar::new(),
};

/// A taken slot, given back when dropped.
pub struct Slot;

impl Slots {
    pub fn take(&'static self) -> Slot {
        let mut n = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *n == 0 {
            n = self.cv.wait(n).unwrap_or_else(|e| e.into_inner());
        }
        *n -= 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *KBUILD_SLOTS.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        KBUILD_SLOTS.cv.notify_one();
    }
}

/// Builds an out-of-tree module folder (`files` copied from `src`, a Kbuild among them) against
/// one kernel tree, in a temporary copy so that the source folder stays clean, with `extra`
/// make arguments (`KCFLAGS=-Werror`). The folder holds the `.ko` files on success; on failure
/// the error is kbuild's stderr.
pub fn build_external(
    kver: &str,
    src: &Path,
    files: &[&str],
    extra: &[&str],
) -> Result<tempfile::TempDir, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    for f in files {
        std::fs::copy(src.join(f), tmp.path().join(f)).map_err(|e| format!("copy {f}: {e}"))?;
    }
    // An arm64 tree that `make setup` unpacked is cross-built.
    let arm64 = stp_hwbp::target::Arch::Arm64;
    let (tree, cross): (PathBuf, &[&str]) = if arm64_trees().iter().any(|t| t == kver) {
        let t = stp_hwbp::kbuild::tree::foreign_root(arm64).join("lib/modules");
        (
            t.join(kver).join("build"),
            &["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-"],
        )
    } else {
        (PathBuf::from(format!("/lib/modules/{kver}/build")), &[])
    };
    let out = Command::new("make")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .arg("-C")
        .arg(tree)
        .arg(format!("M={}", tmp.path().display()))
        .args(cross)
        .args(extra)
        .arg("modules")
        .output()
        .map_err(|e| format!("make: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(tmp)
}
