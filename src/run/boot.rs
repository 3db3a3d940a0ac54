//! What makes a `--vm` guest boot sooner, kept apart from the runner (`vm.rs`) that uses it:
//! - the kernel booted uncompressed through its PVH entry point: QEMU loads the ELF `vmlinux`
//!   and jumps into it in 32-bit mode, skipping the firmware's real-mode setup and, above all,
//!   the kernel decompressing itself under TCG (an xz or zstd `vmlinuz`: about a second). The
//!   `vmlinux` is extracted once per image (`$XDG_CACHE_HOME/stp-hwbp/kernels/`), and only
//!   when the image's config says `CONFIG_PVH=y`; otherwise the `vmlinuz` boots as before;
//! - this program copied into the guest without its debug sections (a test build is ~90 MB,
//!   most of it DWARF, which the guest kernel would otherwise unpack from the initramfs);
//! - kernel arguments: `lpj=` from the host's clock (the second CPU's delay-loop calibration
//!   fails under TCG and falls back to a slow one), `loglevel=5` (the console, a UART emulated
//!   byte by byte, carries warnings and worse, which is all `detect_kernel_problems` reads).
//!
//! Every step falls back to the slower way when a tool or a file is missing: a guest always
//! boots.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where extracted kernels and slimmed binaries live.
fn cache_dir() -> Option<PathBuf> {
    crate::kbuild::cache::root().map(|r| r.join("kernels"))
}

/// A stamp for a host file: its size and modification time, so a reinstalled file is seen.
fn stamp(p: &Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let t = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!("{}-{}", m.len(), t.as_nanos()))
}

/// The image QEMU should boot for `/boot/vmlinuz-KVER`: its extracted `vmlinux` when the
/// kernel has a PVH entry and the extraction works, else the image itself.
pub fn kernel_image(vmlinuz: &Path) -> PathBuf {
    fast_kernel(vmlinuz).unwrap_or_else(|| vmlinuz.to_path_buf())
}

fn fast_kernel(vmlinuz: &Path) -> Option<PathBuf> {
    let name = vmlinuz.file_name()?.to_string_lossy().into_owned();
    let release = name.strip_prefix("vmlinuz-")?;
    let config = std::fs::read_to_string(vmlinuz.with_file_name(format!("config-{release}")));
    if !config.ok()?.lines().any(|l| l == "CONFIG_PVH=y") {
        return None;
    }
    let dir = cache_dir()?;
    let dest = dir.join(format!("vmlinux-{release}-{}", stamp(vmlinuz)?));
    if dest.is_file() {
        return Some(dest);
    }
    let elf = extract(&std::fs::read(vmlinuz).ok()?)?;
    std::fs::create_dir_all(&dir).ok()?;
    // Earlier extractions of this release (a reinstalled image) go.
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let prefix = format!("vmlinux-{release}-");
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    put(&dest, &elf)?;
    Some(dest)
}

/// Writes under a temporary name and renames, so concurrent runs never boot half a file.
fn put(dest: &Path, bytes: &[u8]) -> Option<()> {
    let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).ok()?;
    std::fs::rename(&tmp, dest).ok()
}

/// The ELF inside a bzImage: the setup header names the compressed payload (boot protocol
/// 2.08+), which the host's `xz`, `zstd` or `gzip` decompresses. None unless the result is a
/// whole 64-bit ELF (every program header's bytes present).
fn extract(image: &[u8]) -> Option<Vec<u8>> {
    let u32_at = |o: usize| Some(u32::from_le_bytes(image.get(o..o + 4)?.try_into().ok()?));
    if image.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let setup_sects = match *image.get(0x1f1)? {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512 + u32_at(0x248)? as usize;
    let payload = image.get(start..start + u32_at(0x24c)? as usize)?;
    let tool: &[&str] = if payload.starts_with(b"\xfd7zXZ\0") {
        &["xz", "-dc"]
    } else if payload.starts_with(b"\x28\xb5\x2f\xfd") {
        &["zstd", "-dcq"]
    } else if payload.starts_with(b"\x1f\x8b") {
        &["gzip", "-dc"]
    } else {
        return None;
    };
    // The payload ends with the uncompressed size, which the tools take for trailing garbage
    // and report: the output is judged by itself, not by their status.
    let mut child = Command::new(tool[0])
        .args(&tool[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = payload.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &data);
    });
    let out = child.wait_with_output().ok()?;
    let _ = feeder.join();
    whole_elf(&out.stdout).then_some(out.stdout)
}

/// A 64-bit little-endian ELF executable whose program headers all lie within the bytes.
fn whole_elf(b: &[u8]) -> bool {
    let u16_at = |o: usize| {
        b.get(o..o + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as u64)
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8)
            .and_then(|s| s.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if !b.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    phnum > 0
        && (0..phnum).all(|i| {
            let ph = (phoff + i * phentsize) as usize;
            match (u64_at(ph + 8), u64_at(ph + 32)) {
                (Some(off), Some(filesz)) => off
                    .checked_add(filesz)
                    .is_some_and(|end| end <= b.len() as u64),
                _ => false,
            }
        })
}

/// This program as the guest gets it: without debug sections (`strip --strip-debug`, kept
/// beside the extracted kernels), or as it is when that fails.
pub fn guest_exe(exe: &Path) -> PathBuf {
    slim(exe).unwrap_or_else(|| exe.to_path_buf())
}

fn slim(exe: &Path) -> Option<PathBuf> {
    let dir = cache_dir()?;
    let dest = dir.join(format!("stp-hwbp-{}", stamp(exe)?));
    if dest.is_file() {
        return Some(dest);
    }
    std::fs::create_dir_all(&dir).ok()?;
    let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&tmp)
        .arg(exe)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok || std::fs::rename(&tmp, &dest).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return None;
    }
    // Slimmed copies of earlier builds of this program go.
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.filter_map(|e| e.ok()) {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("stp-hwbp-") && e.path() != dest {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Some(dest)
}

/// Kernel arguments that shorten the boot (see the top of this file).
pub fn kernel_args() -> Vec<String> {
    let mut v = vec!["loglevel=5".to_string()];
    if let Some(lpj) = host_lpj() {
        v.push(format!("lpj={lpj}"));
    }
    v
}

/// Loops per jiffy for the guest's delay loop: the host's clock in kHz times 1000 over the
/// guest's HZ (250 in Debian's kernels), which is what the guest's boot CPU computes from its
/// timer.
fn host_lpj() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("cpu MHz"))?
        .trim_start_matches([' ', '\t', ':'])
        .trim()
        .parse()
        .ok()?;
    let lpj = (mhz * 1_000_000.0 / 250.0) as u64;
    (lpj > 0).then_some(lpj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_elf_is_not_whole() {
        let mut elf = vec![0u8; 0x100];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        // One segment at 0x80, 0x80 bytes long: exactly the file.
        elf[0x48..0x50].copy_from_slice(&0x80u64.to_le_bytes());
        elf[0x60..0x68].copy_from_slice(&0x80u64.to_le_bytes());
        assert!(whole_elf(&elf));
        assert!(!whole_elf(&elf[..0xff]));
        assert!(!whole_elf(b"not an elf"));
    }

    #[test]
    fn installed_kernels_extract_to_whole_elves() {
        for k in crate::kbuild::tree::installed() {
            let image = PathBuf::from(format!("/boot/vmlinuz-{k}"));
            let Ok(bytes) = std::fs::read(&image) else {
                continue;
            };
            let elf = extract(&bytes).unwrap_or_else(|| panic!("{k}: no ELF extracted"));
            assert!(elf.len() > bytes.len(), "{k}");
        }
    }
}
