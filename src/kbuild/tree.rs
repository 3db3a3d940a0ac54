//! Finding the target kernel's build tree (`-r KVER|DIR`) and reading what the preprocessor and
//! the build need from it: its release string and its `.config`.

use indexmap::IndexMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct KernelTree {
    pub dir: PathBuf,
    pub release: String,
}

/// Resolves `-r`: a release name under /lib/modules, or a directory. Without `-r`, the running
/// kernel's tree if it has one, else the newest installed tree.
pub fn find(r: Option<&str>) -> Result<KernelTree, String> {
    let dir = match r {
        Some(r) if r.contains('/') => PathBuf::from(r),
        Some(r) => Path::new("/lib/modules").join(r).join("build"),
        None => default_dir()?,
    };
    if !dir.join("Makefile").exists() {
        return Err(match r {
            Some(r) if !r.contains('/') => format!(
                "no kernel build tree for {r} at {} (install linux-headers-{r})",
                dir.display()
            ),
            _ => format!("{} is not a kernel build tree (no Makefile)", dir.display()),
        });
    }
    let release = read_release(&dir)
        .ok_or_else(|| format!("{} has no include/generated/utsrelease.h", dir.display()))?;
    Ok(KernelTree { dir, release })
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

/// Every installed release with a build tree, oldest first.
pub fn installed() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/lib/modules")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.retain(|r| {
        Path::new("/lib/modules")
            .join(r)
            .join("build/Makefile")
            .exists()
    });
    v.sort_by(|a, b| crate::syntax::preprocess::version_cmp(a, b).then(a.cmp(b)));
    v
}

pub fn newest_installed() -> Option<PathBuf> {
    installed()
        .pop()
        .map(|r| Path::new("/lib/modules").join(r).join("build"))
}

fn read_release(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("include/generated/utsrelease.h")).ok()?;
    let start = text.find('"')? + 1;
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_string())
}

impl KernelTree {
    /// The tree's `.config` as NAME -> value (quotes removed).
    pub fn config(&self) -> Result<IndexMap<String, String>, String> {
        let text = std::fs::read_to_string(self.dir.join(".config"))
            .map_err(|e| format!("cannot read {}/.config: {e}", self.dir.display()))?;
        Ok(text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect())
    }
}
