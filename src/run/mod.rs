//! Pass 5: running a built module. `loader` loads it on the running kernel and streams its
//! output (needs root); `vm` boots a kernel in QEMU so that `--vm` and the tests run the same
//! loader inside a guest (`vm_arm64` for arm64 guests, where `shloader`'s busybox script stands
//! in for the loader); `modinfo` reads what the loader needs from the `.ko`.

pub mod boot;
pub mod functions;
pub mod initramfs;
pub mod loader;
pub mod modinfo;
pub mod services;
pub mod shloader;
pub mod stream;
pub mod vm;
pub mod vm_arm64;

/// A word quoted for /bin/sh: `it's` -> `'it'\''s'`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
