//! The module cache: pass 4's `.ko` kept under a key that covers everything that changes it, so
//! that running the same script again (edit, run, read, rerun) skips kbuild.
//!
//! Where: `$XDG_CACHE_HOME/stp-hwbp`, else `~/.cache/stp-hwbp`.
//! One directory per key (the SHA-256 of the key's fields, in hex) holding `NAME.ko` and `entry`,
//! a short text naming the module with the `.ko`'s size and SHA-256, so that a truncated or
//! damaged entry is noticed and rebuilt. An entry is written under a temporary name and renamed
//! into place whole: concurrent runs never see half an entry, and of two runs that build the
//! same key at once, the first rename wins and the second keeps its own build. `entry`'s
//! modification time is the entry's last use: past the size bound (`STP_HWBP_CACHE_MAX`, bytes
//! with an optional K, M or G suffix, default 256M; 0 turns the cache off), the least recently
//! used entries are dropped after each store.

use super::tree::KernelTree;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The default size bound: about 250 modules of 1 MB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// The first line of every `entry` file; a change of format changes it.
const ENTRY_MAGIC: &str = "stp-hwbp module cache entry 1";

/// Environment variables that make (and so kbuild) reads as variables, and that change the
/// module it builds: part of the key. `PATH` is covered by the compiler's version string.
const KBUILD_ENV: &[&str] = &[
    "ARCH",
    "CROSS_COMPILE",
    "CC",
    "LD",
    "LLVM",
    "LLVM_IAS",
    "KCFLAGS",
    "KCPPFLAGS",
    "KAFLAGS",
    "CFLAGS_MODULE",
    "LDFLAGS_MODULE",
    "KBUILD_EXTRA_SYMBOLS",
    "KBUILD_MODPOST_WARN",
    "KBUILD_BUILD_TIMESTAMP",
    "KBUILD_BUILD_USER",
    "KBUILD_BUILD_HOST",
    "INSTALL_MOD_STRIP",
    "DEBIAN_KERNEL_USE_CCACHE",
    "W",
    "C",
];

pub struct Cache {
    pub dir: PathBuf,
    max_bytes: u64,
}

/// What a lookup found.
pub enum Lookup {
    /// A sound entry: its `.ko`.
    Hit(PathBuf),
    Miss,
    /// An entry that fails its check (why); it has been removed.
    Damaged(String),
}

/// The cache's directory: `$XDG_CACHE_HOME/stp-hwbp`, else `~/.cache/stp-hwbp`. Modules are
/// its entries (named by their key); `kernels/` beside them holds what `--vm` boots
/// (`run/boot.rs`), outside the size bound.
pub fn root() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(x) = non_empty("XDG_CACHE_HOME") {
        Some(Path::new(&x).join("stp-hwbp"))
    } else {
        non_empty("HOME").map(|h| Path::new(&h).join(".cache/stp-hwbp"))
    }
}

fn is_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Cache {
    /// The cache this environment names, or None when it is turned off (`STP_HWBP_CACHE_MAX=0`)
    /// or there is nowhere to put it. A malformed bound is an error the user must fix.
    pub fn from_env() -> Result<Option<Cache>, String> {
        let max_bytes = match std::env::var("STP_HWBP_CACHE_MAX") {
            Ok(v) => parse_size(&v).ok_or_else(|| {
                format!(
                    "STP_HWBP_CACHE_MAX={v}: expected a size in bytes with an optional K, M or G \
                     suffix (such as 512M), or 0 to turn the module cache off"
                )
            })?,
            Err(_) => DEFAULT_MAX_BYTES,
        };
        if max_bytes == 0 {
            return Ok(None);
        }
        let Some(dir) = root() else {
            return Ok(None);
        };
        Ok(Some(Cache { dir, max_bytes }))
    }

    /// Where kbuild's recorded commands live (`recipe.rs`), one directory per tree and Kbuild
    /// file; not entries, so never evicted (each is a few kilobytes).
    pub fn recipes(&self) -> PathBuf {
        self.dir.join("recipes")
    }

    fn entry_dir(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// Looks `key` up for module `module`. A hit's `entry` is touched (its last use, for LRU).
    pub fn lookup(&self, key: &str, module: &str) -> Lookup {
        let d = self.entry_dir(key);
        let entry = match std::fs::read_to_string(d.join("entry")) {
            Ok(e) => e,
            // Absent, or removed by a concurrent eviction: build it.
            Err(_) if !d.exists() => return Lookup::Miss,
            Err(e) => return self.damaged(&d, format!("cannot read its entry file: {e}")),
        };
        let ko = d.join(format!("{module}.ko"));
        match check(&entry, module, &ko) {
            Ok(()) => {
                let now = std::fs::FileTimes::new().set_modified(SystemTime::now());
                if let Ok(f) = std::fs::File::options().write(true).open(d.join("entry")) {
                    let _ = f.set_times(now);
                }
                Lookup::Hit(ko)
            }
            Err(_) if !d.exists() => Lookup::Miss,
            Err(why) => self.damaged(&d, why),
        }
    }

    fn damaged(&self, d: &Path, why: String) -> Lookup {
        remove_entry(&self.dir, d);
        Lookup::Damaged(why)
    }

    /// Stores a freshly built `.ko` under `key`, then keeps the cache within its bound. Returns
    /// the entry's directory.
    pub fn store(&self, key: &str, module: &str, ko: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = std::fs::read(ko)?;
        let tmp = self.dir.join(format!(".tmp-{}", unique()));
        std::fs::create_dir(&tmp)?;
        let written = (|| {
            std::fs::write(tmp.join(format!("{module}.ko")), &bytes)?;
            std::fs::write(
                tmp.join("entry"),
                format!(
                    "{ENTRY_MAGIC}\nmodule {module}\nbytes {}\nsha256 {}\n",
                    bytes.len(),
                    hex(&Sha256::digest(&bytes))
                ),
            )
        })();
        let dest = self.entry_dir(key);
        let placed = written.and_then(|()| std::fs::rename(&tmp, &dest));
        if placed.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
            // Another run stored the same key first: its entry serves as well as ours.
            if dest.join("entry").exists() {
                return Ok(dest);
            }
            placed?;
        }
        self.evict(key);
        Ok(dest)
    }

    /// Drops the least recently used entries until the cache fits its bound (never `keep`, the
    /// entry just stored), and leftovers of runs that died mid-store.
    fn evict(&self, keep: &str) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries = vec![];
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if name.starts_with(".tmp-") || name.starts_with(".trash-") {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > Duration::from_secs(3600));
                if stale {
                    let _ = std::fs::remove_dir_all(&path);
                }
                continue;
            }
            if !is_key(&name) {
                continue;
            }
            let used = std::fs::metadata(path.join("entry"))
                .or_else(|_| e.metadata())
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            entries.push((used, dir_size(&path), name, path));
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, size, name, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if name != keep {
                remove_entry(&self.dir, &path);
                total -= size;
            }
        }
    }
}

/// Checks an entry's text against its `.ko`: the module's name, size and SHA-256.
fn check(entry: &str, module: &str, ko: &Path) -> Result<(), String> {
    let mut lines = entry.lines();
    if lines.next() != Some(ENTRY_MAGIC) {
        return Err("its entry file is not one this version wrote".into());
    }
    let mut field = |name: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|v| v.strip_prefix(' '))
            .map(str::to_string)
            .ok_or_else(|| format!("its entry file has no {name} line"))
    };
    let (m, size, sum) = (field("module")?, field("bytes")?, field("sha256")?);
    if m != module {
        return Err(format!("it holds {m}, not {module}"));
    }
    let bytes = std::fs::read(ko).map_err(|e| format!("cannot read {}: {e}", ko.display()))?;
    if size != bytes.len().to_string() {
        return Err(format!(
            "{module}.ko has {} bytes where {size} were stored",
            bytes.len()
        ));
    }
    if hex(&Sha256::digest(&bytes)) != sum {
        return Err(format!("{module}.ko does not match its stored checksum"));
    }
    Ok(())
}

/// Removes an entry so that no reader sees it half gone: renamed aside first, then deleted.
fn remove_entry(cache: &Path, d: &Path) {
    let aside = cache.join(format!(".trash-{}", unique()));
    if std::fs::rename(d, &aside).is_ok() {
        let _ = std::fs::remove_dir_all(&aside);
    }
}

fn dir_size(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A name no other run (nor this one, earlier) uses.
fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `512M`, `1G`, `4096`: bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// The key: the SHA-256 of every input that changes the `.ko`, each field named and
/// length-prefixed so that no two different inputs hash the same bytes. The module's name is in
/// it (it is compiled into the `.ko` and names its file): two scripts that differ only in name
/// get two entries.
pub fn key(c: &str, module: &str, tree: &KernelTree, kbuild_file: &str) -> String {
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        for part in [name.as_bytes(), value] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    };
    field("stp-hwbp", env!("CARGO_PKG_VERSION").as_bytes());
    field("module", module.as_bytes());
    field("Kbuild", kbuild_file.as_bytes());
    field("C", c.as_bytes());
    for (name, text) in super::RUNTIME {
        field(name, text.as_bytes());
    }
    field("release", tree.release.as_bytes());
    field("arch", tree.arch.name().as_bytes());
    let dir = std::fs::canonicalize(&tree.dir).unwrap_or_else(|_| tree.dir.clone());
    field("tree", dir.as_os_str().as_encoded_bytes());
    let config = std::fs::read(tree.dir.join(".config")).unwrap_or_default();
    field(".config", &config);
    for f in ["Module.symvers", "Makefile", ".kernelvariables"] {
        field(f, &std::fs::read(tree.dir.join(f)).unwrap_or_default());
    }
    field("compiler", compiler_version(&config).as_bytes());
    for v in KBUILD_ENV {
        let value = std::env::var_os(v);
        let shown = value.as_ref().map(|v| v.as_encoded_bytes());
        field(v, shown.unwrap_or(b"\0unset"));
    }
    hex(&h.finalize())
}

/// The version string of the compiler the tree was configured with (the first word of
/// `CONFIG_CC_VERSION_TEXT`, which is what Debian's trees run), as that compiler reports it now.
fn compiler_version(config: &[u8]) -> String {
    let cc = super::tree::config_get(config, "CONFIG_CC_VERSION_TEXT")
        .and_then(|v| v.trim_matches('"').split_whitespace().next())
        .unwrap_or("gcc")
        .to_string();
    let run = |cc: &str| {
        std::process::Command::new(cc)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let v = run(&cc).or_else(|| run("gcc")).unwrap_or_default();
    format!("{cc}: {v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("M"), None);
    }

    #[test]
    fn a_damaged_entry_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: d.path().to_path_buf(),
            max_bytes: DEFAULT_MAX_BYTES,
        };
        let src = d.path().join("built.ko");
        std::fs::write(&src, b"module bytes").unwrap();
        let e = cache.store("k1", "m", &src).unwrap();
        assert!(matches!(cache.lookup("k1", "m"), Lookup::Hit(_)));
        assert!(matches!(cache.lookup("k2", "m"), Lookup::Miss));
        std::fs::write(e.join("m.ko"), b"module bytez").unwrap();
        match cache.lookup("k1", "m") {
            Lookup::Damaged(why) => assert!(why.contains("checksum"), "{why}"),
            _ => panic!("a changed .ko was accepted"),
        }
        assert!(!e.exists(), "the damaged entry stays");
        assert!(matches!(cache.lookup("k1", "m"), Lookup::Miss));
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn eviction_drops_the_least_recently_used() {
        let d = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: d.path().join("c"),
            max_bytes: 2500,
        };
        let src = d.path().join("built.ko");
        std::fs::write(&src, vec![7u8; 1000]).unwrap();
        let old = SystemTime::now() - Duration::from_secs(100);
        for k in [A, B] {
            let e = cache.store(k, "m", &src).unwrap();
            let f = std::fs::File::options()
                .write(true)
                .open(e.join("entry"))
                .unwrap();
            f.set_times(std::fs::FileTimes::new().set_modified(old))
                .unwrap();
        }
        // `a` used again: `b` is now the least recently used.
        assert!(matches!(cache.lookup(A, "m"), Lookup::Hit(_)));
        cache.store(C, "m", &src).unwrap();
        assert!(matches!(cache.lookup(A, "m"), Lookup::Hit(_)));
        assert!(matches!(cache.lookup(B, "m"), Lookup::Miss));
        assert!(matches!(cache.lookup(C, "m"), Lookup::Hit(_)));
    }
}
