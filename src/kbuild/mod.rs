//! Pass 4: building the generated C into a `.ko` with the kernel's own build system (kbuild),
//! in a temporary directory holding the C file, a Kbuild file and the runtime headers (which
//! are embedded in the binary, so an installed stp-hwbp is self-contained).

pub mod cache;
pub mod recipe;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::Command;
use tree::KernelTree;

/// The runtime headers, copied into every build directory's `runtime/`.
pub const RUNTIME: &[(&str, &str)] = &[
    (
        "stp_context.h",
        include_str!("../../runtime-c/stp_context.h"),
    ),
    (
        "stp_kcompat.h",
        include_str!("../../runtime-c/stp_kcompat.h"),
    ),
    ("stp_lang.h", include_str!("../../runtime-c/stp_lang.h")),
    ("stp_limits.h", include_str!("../../runtime-c/stp_limits.h")),
    ("stp_lock.h", include_str!("../../runtime-c/stp_lock.h")),
    ("stp_map.h", include_str!("../../runtime-c/stp_map.h")),
    ("stp_memory.h", include_str!("../../runtime-c/stp_memory.h")),
    ("stp_output.h", include_str!("../../runtime-c/stp_output.h")),
    (
        "stp_overload.h",
        include_str!("../../runtime-c/stp_overload.h"),
    ),
    (
        "stp_procdir.h",
        include_str!("../../runtime-c/stp_procdir.h"),
    ),
    ("stp_regex.h", include_str!("../../runtime-c/stp_regex.h")),
    ("stp_ring.h", include_str!("../../runtime-c/stp_ring.h")),
    (
        "stp_runtime.h",
        include_str!("../../runtime-c/stp_runtime.h"),
    ),
    (
        "stp_session.h",
        include_str!("../../runtime-c/stp_session.h"),
    ),
    ("stp_stat.h", include_str!("../../runtime-c/stp_stat.h")),
    (
        "stp_counter.h",
        include_str!("../../runtime-c/stp_counter.h"),
    ),
    ("stp_quote.h", include_str!("../../runtime-c/stp_quote.h")),
    ("stp_regs.h", include_str!("../../runtime-c/stp_regs.h")),
    ("stp_string.h", include_str!("../../runtime-c/stp_string.h")),
    ("stp_format.h", include_str!("../../runtime-c/stp_format.h")),
    ("stp_tapset.h", include_str!("../../runtime-c/stp_tapset.h")),
    (
        "stp_target_set.h",
        include_str!("../../runtime-c/stp_target_set.h"),
    ),
    ("stp_time.h", include_str!("../../runtime-c/stp_time.h")),
    ("stp_usym.h", include_str!("../../runtime-c/stp_usym.h")),
    (
        "stp_procmem.h",
        include_str!("../../runtime-c/stp_procmem.h"),
    ),
    ("stp_ns.h", include_str!("../../runtime-c/stp_ns.h")),
    ("stp_watch.h", include_str!("../../runtime-c/stp_watch.h")),
    (
        "stp_arbiter.h",
        include_str!("../../runtime-c/stp_arbiter.h"),
    ),
    ("stp_kprobe.h", include_str!("../../runtime-c/stp_kprobe.h")),
    (
        "stp_hwbp_arm64.h",
        include_str!("../../runtime-c/stp_hwbp_arm64.h"),
    ),
    (
        "stp_a64_store.h",
        include_str!("../../runtime-c/stp_a64_store.h"),
    ),
];

const KBUILD_TEMPLATE: &str = include_str!("../../templates/Kbuild.tera");

/// A module name the kernel accepts, derived from the script (stable across runs).
pub fn module_name(script_file: Option<&str>, script_text: &str) -> String {
    let stem = script_file
        .and_then(|f| Path::new(f).file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let base: String = match stem {
        Some(s) if s != "-" => s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect(),
        _ => {
            // FNV-1a: stable across runs and platforms, unlike std's hasher.
            let h = script_text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
            });
            format!("{:08x}", h as u32)
        }
    };
    format!("stphwbp_{base}")
}

/// `-m`: the name becomes `KBUILD_MODNAME`, a file name and a make target, so it must be a C
/// identifier, and short enough for the kernel's `MODULE_NAME_LEN`.
pub fn valid_module_name(n: &str) -> bool {
    n.len() <= 55 && crate::limits::is_c_ident(n)
}

/// Why pass 4 failed: the machine (no make, no space), or the module's C (a script's embedded C,
/// or a translator bug) that kbuild refused, with its messages.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Env(String),
    #[error("{0}")]
    Compile(String),
}

impl From<std::io::Error> for BuildError {
    fn from(e: std::io::Error) -> Self {
        BuildError::Env(format!("cannot write the build directory: {e}"))
    }
}

pub struct Built {
    pub ko: PathBuf,
    /// Kept alive so the directory exists until the caller is done (`-k` keeps it for good).
    pub dir: tempfile::TempDir,
    /// How: kbuild's recorded commands replayed (`recipe.rs`), or the full kbuild.
    pub replayed: bool,
    /// Why a recorded recipe was not replayed to the end (the full kbuild built it then).
    pub replay_failed: Option<String>,
}

/// Writes the build directory and runs kbuild. On failure, the error carries kbuild's
/// messages (errors in script-provided embedded C already point at the script, via #line).
/// With `recipes` (a directory of the module cache), a recipe recorded for this tree and Kbuild
/// file is replayed instead of the full kbuild, and a full kbuild that succeeds records one.
pub fn build(
    c_source: &str,
    module: &str,
    tree: &KernelTree,
    defines: &[String],
    recipes: Option<&Path>,
) -> Result<Built, BuildError> {
    let sources = [(module, c_source)];
    let recipe = match recipes {
        Some(r) => Some(r.join(cache::key("", "", tree, &kbuild_file(&["@"], defines)?))),
        None => None,
    };
    let recorded = recipe.as_ref().filter(|r| r.exists());
    let dir = prepare(&sources, defines)?;
    let ko = dir.path().join(format!("{module}.ko"));
    let mut replay_failed = None;
    if let Some(r) = recorded {
        match recipe::replay(r, dir.path(), module, &tree.dir) {
            Ok(()) => {
                return Ok(Built {
                    ko,
                    dir,
                    replayed: true,
                    replay_failed,
                });
            }
            Err(why) => replay_failed = Some(why),
        }
    }
    // Whatever a failed replay left is rebuilt from a fresh directory by the full kbuild.
    let dir = if replay_failed.is_some() {
        prepare(&sources, defines)?
    } else {
        dir
    };
    let ko = dir.path().join(format!("{module}.ko"));
    let out = make(dir.path(), tree, false)?;
    if !out.status.success() || !ko.exists() {
        return Err(BuildError::Compile(format!(
            "kbuild failed for kernel {} ({}):\n{}",
            tree.release,
            tree.dir.display(),
            relevant(&out)
        )));
    }
    // Recorded when there was none, and again when the replay failed where the full kbuild
    // succeeds (the recipe is stale: kept, it would cost every later build a failed replay).
    if let Some(r) = recipe
        .as_ref()
        .filter(|_| recorded.is_none() || replay_failed.is_some())
    {
        if replay_failed.is_some() {
            let _ = std::fs::remove_dir_all(r);
        }
        // A recipe that cannot be recorded only costs the next build its speed.
        let _ = recipe::record(dir.path(), module, r);
    }
    Ok(Built {
        ko,
        dir,
        replayed: false,
        replay_failed,
    })
}

/// How pass 4 used the module cache.
pub enum CacheUse {
    /// `--no-cache`, or no cache in this environment.
    Off,
    /// The module came from the cache entry at this directory.
    Hit(PathBuf),
    /// Built, and stored at this directory (or not, and why).
    Stored(Result<PathBuf, String>),
}

/// What pass 4 asks of the cache.
pub struct CachePolicy<'a> {
    pub cache: Option<&'a cache::Cache>,
    /// `-k`: the build directory is wanted, so the module is built even when cached.
    pub rebuild: bool,
    /// Told when a damaged entry was found (and is being rebuilt).
    pub on_damaged: &'a mut dyn FnMut(&str),
}

/// `build`, through the module cache: a hit copies the cached `.ko` into a fresh directory so
/// that the caller sees exactly what a build gives it.
pub fn build_cached(
    c_source: &str,
    module: &str,
    tree: &KernelTree,
    defines: &[String],
    policy: CachePolicy,
) -> Result<(Built, CacheUse), BuildError> {
    let Some(cache) = policy.cache else {
        return Ok((build(c_source, module, tree, defines, None)?, CacheUse::Off));
    };
    let key = cache::key(c_source, module, tree, &kbuild_file(&[module], defines)?);
    if !policy.rebuild {
        match cache.lookup(&key, module) {
            cache::Lookup::Hit(ko) => {
                let dir = build_dir()?;
                let dest = dir.path().join(format!("{module}.ko"));
                if std::fs::copy(&ko, &dest).is_ok() {
                    let entry = ko.parent().map(Path::to_path_buf).unwrap_or_default();
                    let built = Built {
                        ko: dest,
                        dir,
                        replayed: false,
                        replay_failed: None,
                    };
                    return Ok((built, CacheUse::Hit(entry)));
                }
            }
            cache::Lookup::Damaged(why) => (policy.on_damaged)(&format!(
                "the cached module {} was damaged ({why}); rebuilding it",
                cache.dir.join(&key).display()
            )),
            cache::Lookup::Miss => {}
        }
    }
    let built = build(c_source, module, tree, defines, Some(&cache.recipes()))?;
    let stored = cache
        .store(&key, module, &built.ko)
        .map_err(|e| format!("cannot store it in {}: {e}", cache.dir.display()));
    Ok((built, CacheUse::Stored(stored)))
}

fn build_dir() -> Result<tempfile::TempDir, BuildError> {
    tempfile::Builder::new()
        .prefix("stp-hwbp-")
        .tempdir()
        .map_err(|e| BuildError::Env(format!("cannot create a build directory: {e}")))
}

/// Several modules built by one kbuild run in one directory, which costs little more than
/// building one (make, the kernel's Makefiles and modpost run once): how the generated-script
/// fuzzer builds many scripts. `make -k` compiles every module past one that fails, but
/// modpost then links none, so each module says whether its C compiled.
pub struct Batch {
    pub modules: Vec<BatchModule>,
    /// kbuild's error and warning lines, for the modules that failed.
    pub messages: String,
    pub dir: tempfile::TempDir,
}

pub struct BatchModule {
    pub name: String,
    /// Its C compiled (the `.o` exists).
    pub compiled: bool,
    /// The module, if modpost made it.
    pub ko: Option<PathBuf>,
}

pub fn build_batch(
    sources: &[(&str, &str)],
    tree: &KernelTree,
    defines: &[String],
) -> Result<Batch, BuildError> {
    let dir = prepare(sources, defines)?;
    let out = make(dir.path(), tree, sources.len() > 1)?;
    let modules = sources
        .iter()
        .map(|(m, _)| {
            let ko = dir.path().join(format!("{m}.ko"));
            BatchModule {
                name: m.to_string(),
                compiled: dir.path().join(format!("{m}.o")).exists(),
                ko: ko.exists().then_some(ko),
            }
        })
        .collect();
    Ok(Batch {
        modules,
        messages: relevant(&out),
        dir,
    })
}

/// Writes the C files, a Kbuild file naming every module and the runtime headers into a new
/// directory.
fn prepare(sources: &[(&str, &str)], defines: &[String]) -> Result<tempfile::TempDir, BuildError> {
    let dir = build_dir()?;
    let p = dir.path();
    let rt = p.join("runtime");
    std::fs::create_dir(&rt)?;
    for (name, text) in RUNTIME {
        std::fs::write(rt.join(name), text)?;
    }
    for (module, c) in sources {
        std::fs::write(p.join(format!("{module}.c")), c)?;
    }
    let modules: Vec<&str> = sources.iter().map(|(m, _)| *m).collect();
    std::fs::write(p.join("Kbuild"), kbuild_file(&modules, defines)?)?;
    Ok(dir)
}

/// Runs kbuild in a directory `prepare` wrote (`keep_going`: `make -k`, for batches).
fn make(p: &Path, tree: &KernelTree, keep_going: bool) -> Result<std::process::Output, BuildError> {
    let mut make = kbuild_command(p, tree);
    if keep_going {
        make.arg("-k");
    }
    make.arg("modules")
        .output()
        .map_err(|e| BuildError::Env(format!("cannot run make: {e} (install make and gcc)")))
}

/// `make -C TREE M=DIR` with the architecture's variables, for kbuild in directory `p`.
fn kbuild_command(p: &Path, tree: &KernelTree) -> Command {
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&tree.dir)
        .arg(format!("M={}", p.display()));
    // Another architecture's tree is built with the cross toolchain `make setup` installs.
    if let Some(cross) = tree.arch.cross_compile() {
        make.arg(format!("ARCH={}", tree.arch.kbuild_arch()))
            .arg(format!("CROSS_COMPILE={cross}"));
    }
    // No BTF for the module, on a tree that would make it (6.12's, which has its vmlinux):
    // nothing uses a generated module's BTF (it describes the module's own types, for BPF
    // programs that attach inside it), and pahole and resolve_btfids, with the DWARF they
    // read, were a fifth of a one-probe module's full kbuild. A variable on make's command
    // line overrides the tree's `auto.conf` and reaches every sub-make.
    make.arg("CONFIG_DEBUG_INFO_BTF_MODULES=");
    // An outer make (`make test`) must not lend this one its jobserver or flags.
    make.env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL");
    make
}

fn kbuild_file(modules: &[&str], defines: &[String]) -> Result<String, BuildError> {
    let mut ctx = tera::Context::new();
    ctx.insert("modules", modules);
    ctx.insert("defines", defines);
    tera::Tera::one_off(KBUILD_TEMPLATE, &ctx, false)
        .map_err(|e| BuildError::Env(format!("Kbuild template: {e}")))
}

/// The lines of kbuild's output that say what went wrong (all of it if none stands out).
fn relevant(out: &std::process::Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("error")
                || l.contains("warning")
                || l.contains(".stp:")
                || l.contains("note:")
        })
        .collect();
    if lines.is_empty() {
        text.clone()
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kbuild_file_names_every_module() {
        let one = kbuild_file(&["stphwbp_a"], &["MAXACTION=5".into()]).unwrap();
        assert!(one.contains("obj-m := stphwbp_a.o\n"), "{one}");
        assert!(one.contains("-Werror -DMAXACTION=5"), "{one}");
        assert!(one.contains("ccflags-y += -g0"), "{one}");
        let two = kbuild_file(&["stphwbp_a", "stphwbp_b"], &[]).unwrap();
        assert!(two.contains("obj-m := stphwbp_a.o stphwbp_b.o\n"), "{two}");
    }
}
