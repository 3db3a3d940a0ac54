//! The guest's initramfs for `vm.rs`: an uncompressed newc cpio with busybox and its applet
//! links, the generated `/init`, the channel drivers an arm64 kernel has as modules, the
//! command (`/.stphwbp/cmd`), the requested files and, for every dynamic ELF among them, the
//! libraries `ldd` reports on the host.

use super::vm::GuestSpec;
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
                .map(|a| super::shell_quote(a))
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
    fn quoting() {
        assert_eq!(crate::run::shell_quote("it's"), r"'it'\''s'");
    }
}
