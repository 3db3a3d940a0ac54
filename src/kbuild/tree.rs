//! Finding the target kernel's build tree (`-r KVER|DIR`, `-a ARCH`) and reading what the
//! preprocessor and the build need from it: its release string, its `.config` and the
//! architecture that config is for.
//!
//! Trees for the host's architecture are where Debian installs them (`/lib/modules/KVER/build`).
//! Trees for another architecture are unpacked, never installed, by `make setup` under a root
//! per architecture (`/var/cache/stp-hwbp/ARCH`, or `$STP_HWBP_FOREIGN/ARCH`), laid out as the
//! packages lay them out: `lib/modules/KVER/build`, `boot/vmlinuz-KVER`, `bin/busybox`.

use crate::target::Arch;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct KernelTree {
    pub dir: PathBuf,
    pub release: String,
    /// From the tree's `.config` (the host's architecture when it says neither).
    pub arch: Arch,
}

/// The root where `make setup` unpacks another architecture's kernels and userland.
pub fn foreign_root(arch: Arch) -> PathBuf {
    let base = std::env::var_os("STP_HWBP_FOREIGN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/stp-hwbp"));
    base.join(arch.name())
}

/// Where a release's modules directory is: the host's, else another architecture's root.
fn modules_dir(release: &str, arch: Option<Arch>) -> PathBuf {
    let host = Path::new("/lib/modules").join(release);
    if arch.is_none_or(|a| a == Arch::host()) && host.join("build/Makefile").exists() {
        return host;
    }
    for a in [Arch::Arm64, Arch::X86_64] {
        if a == Arch::host() || arch.is_some_and(|r| r != a) {
            continue;
        }
        let d = foreign_root(a).join("lib/modules").join(release);
        if d.join("build/Makefile").exists() {
            return d;
        }
    }
    host
}

/// Resolves `-r` and `-a`: a release name (under /lib/modules, or under the root `make setup`
/// fills for another architecture), or a directory. Without `-r`, the running kernel's tree
/// if it has one, else the newest installed tree (of the `-a` architecture when that is not
/// the host's). A tree for another architecture than `-a` names is an error.
pub fn find(r: Option<&str>, arch: Option<Arch>) -> Result<KernelTree, String> {
    let foreign = arch.filter(|a| *a != Arch::host());
    let dir = match (r, foreign) {
        (Some(r), _) if r.contains('/') => PathBuf::from(r),
        (Some(r), _) => modules_dir(r, arch).join("build"),
        (None, Some(a)) => newest(
            &installed_in(&foreign_root(a).join("lib/modules")),
            &foreign_root(a).join("lib/modules"),
        )
        .ok_or_else(|| {
            format!(
                "no {} kernel build tree found under {} (run `make setup`, or name one with -r)",
                a.name(),
                foreign_root(a).display()
            )
        })?,
        (None, None) => default_dir()?,
    };
    if !dir.join("Makefile").exists() {
        return Err(match r {
            Some(r) if !r.contains('/') => match foreign {
                Some(a) => format!(
                    "no {} kernel build tree for {r} under {} (run `make setup`, which unpacks linux-headers-{r})",
                    a.name(),
                    foreign_root(a).display()
                ),
                None => format!(
                    "no kernel build tree for {r} at {} (install linux-headers-{r})",
                    dir.display()
                ),
            },
            _ => format!("{} is not a kernel build tree (no Makefile)", dir.display()),
        });
    }
    let release = read_release(&dir)
        .ok_or_else(|| format!("{} has no include/generated/utsrelease.h", dir.display()))?;
    let mut tree = KernelTree {
        dir,
        release,
        arch: Arch::host(),
    };
    if let Some(a) = config_arch(&tree.dir) {
        tree.arch = a;
    }
    if let Some(a) = arch
        && a != tree.arch
    {
        return Err(format!(
            "the kernel tree {} is for {}, not {} (name an {} tree with -r, or drop -a)",
            tree.dir.display(),
            tree.arch.name(),
            a.name(),
            a.name()
        ));
    }
    Ok(tree)
}

fn default_dir() -> Result<PathBuf, String> {
    if let Ok(u) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        let d = Path::new("/lib/modules").join(u.trim()).join("build");
        if d.join("Makefile").exists() {
            return Ok(d);
        }
    }
    newest_installed().ok_or_else(|| "no kernel build tree found in /lib/modules (install linux-headers-amd64, or name one with -r)".to_string())
}

/// Every installed release with a build tree for the host's architecture, oldest first.
pub fn installed() -> Vec<String> {
    installed_in(Path::new("/lib/modules"))
}

/// The releases `make setup` unpacked for another architecture, oldest first.
pub fn foreign(arch: Arch) -> Vec<String> {
    if arch == Arch::host() {
        return vec![];
    }
    installed_in(&foreign_root(arch).join("lib/modules"))
}

fn installed_in(modules: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(modules)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.retain(|r| modules.join(r).join("build/Makefile").exists());
    v.sort_by(|a, b| crate::syntax::version::version_cmp(a, b).then(a.cmp(b)));
    v
}

fn newest(releases: &[String], modules: &Path) -> Option<PathBuf> {
    releases.last().map(|r| modules.join(r).join("build"))
}

pub fn newest_installed() -> Option<PathBuf> {
    newest(&installed(), Path::new("/lib/modules"))
}

fn read_release(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("include/generated/utsrelease.h")).ok()?;
    let start = text.find('"')? + 1;
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_string())
}

/// The architecture a tree's `.config` names, read a block at a time only as far as the line
/// that says it. Only two lines of the file matter here: a scan for them, not a map of its
/// ten thousand lines (which was 12.6 M of the 109 M instructions of `-p3 -r` on a generated
/// 3,200-line script). The host's option is near the top of a native tree's file (line 301 of
/// Debian's amd64 one, 10 KB in); reading the whole quarter megabyte into a fresh buffer cost
/// a one-probe `-p3 -r` some 60 page faults besides the copy.
fn config_arch(dir: &Path) -> Option<Arch> {
    use std::io::Read;
    let mut f = std::fs::File::open(dir.join(".config")).ok()?;
    let mut buf = vec![0u8; 16 << 10];
    // The bytes in `buf`: a line carried over from the block before, then what was read.
    let mut have = 0;
    loop {
        if have == buf.len() {
            // A line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match f.read(&mut buf[have..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let end = have + n;
        let lines = match n {
            0 => end,
            _ => memchr::memrchr(b'\n', &buf[..end]).map_or(0, |i| i + 1),
        };
        if let Some(a) = Arch::from_config(&buf[..lines]) {
            return Some(a);
        }
        if n == 0 {
            return None;
        }
        buf.copy_within(lines..end, 0);
        have = end - lines;
    }
}

impl KernelTree {
    /// The bytes of the tree's `.config`; `config_get` reads an option from it. Only the
    /// values asked for are checked as UTF-8, not the whole quarter megabyte.
    pub fn config(&self) -> Result<Vec<u8>, String> {
        std::fs::read(self.dir.join(".config"))
            .map_err(|e| format!("cannot read {}/.config: {e}", self.dir.display()))
    }
}

/// The value of option `name` in a `.config` (quotes kept): the rest of the first line that
/// starts with `name=`, if that is UTF-8.
pub fn config_get<'a>(config: &'a [u8], name: &str) -> Option<&'a str> {
    let key = format!("{name}=");
    let at = memchr::memmem::find_iter(config, key.as_bytes())
        .find(|&at| at == 0 || config[at - 1] == b'\n')?;
    let rest = &config[at + key.len()..];
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    std::str::from_utf8(line.strip_suffix(b"\r").unwrap_or(line)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_arch_reads_as_far_as_the_option() {
        let d = tempfile::tempdir().unwrap();
        let config = d.path().join(".config");
        assert_eq!(config_arch(d.path()), None, "no .config");
        let host = Arch::host().config_option();
        // The option past the first block, after a line longer than the buffer.
        let text = format!(
            "# comment\n{}\nCONFIG_A=y\n{}=y\nCONFIG_B=y",
            "C".repeat(40 << 10),
            host
        );
        std::fs::write(&config, &text).unwrap();
        assert_eq!(config_arch(d.path()), Some(Arch::host()));
        // The last line without a newline.
        std::fs::write(&config, format!("CONFIG_A=y\n{host}=y")).unwrap();
        assert_eq!(config_arch(d.path()), Some(Arch::host()));
        // The option's line cut by the end of the first block.
        let straddle = format!("{}\n{host}=y\n", "#".repeat((16 << 10) - 6));
        std::fs::write(&config, straddle).unwrap();
        assert_eq!(config_arch(d.path()), Some(Arch::host()));
        // A line that only starts like the option, split across blocks.
        let split = format!("{}\nX{host}=y\n", "#".repeat((16 << 10) - 3));
        std::fs::write(&config, split).unwrap();
        assert_eq!(config_arch(d.path()), None);
        std::fs::write(&config, format!("# {host} is not set\n")).unwrap();
        assert_eq!(config_arch(d.path()), None);
    }
}
