//! The arm64 guest for `vm.rs`: `qemu-system-aarch64 -M virt -cpu max` under TCG, booting the
//! uncompressed Image that `make setup` unpacked, with the arm64 busybox from the same place.
//! The virt board has one UART (the PL011, `ttyAMA0`: the kernel console); the command's
//! stdout, stderr and the control markers go through three virtio-serial ports instead
//! (`/dev/vport0p1` to `p3`), which pass bytes unchanged and whose writes return only once
//! QEMU took the data, so nothing is lost before the exit marker.

use super::vm::GuestSpec;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest's devices for the command's stdout, stderr and the control markers.
pub const CHANNELS: [&str; 3] = ["/dev/vport0p1", "/dev/vport0p2", "/dev/vport0p3"];

/// The arm64 kernel image of `release` that `make setup` unpacked beside its tree.
pub fn image(release: &str) -> PathBuf {
    crate::kbuild::tree::foreign_root(crate::target::Arch::Arm64)
        .join(format!("boot/vmlinuz-{release}"))
}

/// The modules the channels need where the kernel has them as modules, in load order, as
/// (host path, guest path): Debian's 6.1 arm64 kernel builds virtio-pci and virtio-console as
/// modules (6.12 builds them in, and gets none). They come from the image package's
/// `lib/modules/RELEASE`, unpacked beside `boot/vmlinuz-RELEASE`.
pub fn channel_modules(kernel: &Path) -> Vec<(PathBuf, String)> {
    let Some(release) = kernel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
    else {
        return vec![];
    };
    let Some(root) = kernel.parent().and_then(Path::parent) else {
        return vec![];
    };
    let dir = root
        .join("lib/modules")
        .join(release)
        .join("kernel/drivers");
    [
        "virtio/virtio_pci_legacy_dev.ko",
        "virtio/virtio_pci_modern_dev.ko",
        "virtio/virtio_pci.ko",
        "char/virtio_console.ko",
    ]
    .iter()
    .map(|m| dir.join(m))
    .filter(|p| p.exists())
    .map(|p| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        (p, format!("/lib/stphwbp-boot/{name}"))
    })
    .collect()
}

/// The arm64 busybox `make setup` unpacked.
pub fn busybox() -> PathBuf {
    crate::kbuild::tree::foreign_root(crate::target::Arch::Arm64).join("bin/busybox")
}

/// QEMU's command line; `socks` are the console, stdout, stderr and control sockets.
pub fn qemu(spec: &GuestSpec, initrd: &Path, socks: &[PathBuf; 4]) -> Command {
    let mut append = vec![
        "console=ttyAMA0".to_string(),
        "panic=-1".into(),
        "rdinit=/init".into(),
        "loglevel=5".into(),
        "mitigations=off".into(),
    ];
    append.extend(spec.kernel_args.iter().cloned());
    let qemu =
        std::env::var_os("STPHWBP_QEMU_ARM64").unwrap_or_else(|| "qemu-system-aarch64".into());
    let mut cmd = super::vm::qemu_command(&qemu, spec, &spec.kernel, initrd, &append);
    cmd.args(["-M", "virt"]);
    let names = ["console", "stdout", "stderr", "control"];
    for (n, p) in names.iter().zip(socks) {
        cmd.arg("-chardev")
            .arg(format!("socket,id={n},path={}", p.display()));
    }
    cmd.args(["-serial", "chardev:console"])
        .args(["-device", "virtio-serial-pci,id=vs"]);
    for (nr, n) in names[1..].iter().enumerate() {
        cmd.args([
            "-device",
            &format!("virtserialport,bus=vs.0,nr={},chardev={n},name={n}", nr + 1),
        ]);
    }
    cmd
}
