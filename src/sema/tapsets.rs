//! The standard library: tapset scripts embedded in the binary (so an installed `stp-hwbp` is
//! self-contained), plus any `*.stp` files from `-I` directories.

use std::borrow::Cow;
use std::path::Path;

/// The embedded tapsets, as (name, text), in a fixed order.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "<tapset>/context.stp",
        include_str!("../../tapsets/context.stp"),
    ),
    (
        "<tapset>/control.stp",
        include_str!("../../tapsets/control.stp"),
    ),
    (
        "<tapset>/memory.stp",
        include_str!("../../tapsets/memory.stp"),
    ),
    (
        "<tapset>/string.stp",
        include_str!("../../tapsets/string.stp"),
    ),
    ("<tapset>/time.stp", include_str!("../../tapsets/time.stp")),
    ("<tapset>/task.stp", include_str!("../../tapsets/task.stp")),
    ("<tapset>/user.stp", include_str!("../../tapsets/user.stp")),
    ("<tapset>/ansi.stp", include_str!("../../tapsets/ansi.stp")),
    (
        "<tapset>/numbers.stp",
        include_str!("../../tapsets/numbers.stp"),
    ),
    (
        "<tapset>/regex.stp",
        include_str!("../../tapsets/regex.stp"),
    ),
    (
        "<tapset>/functions.stp",
        include_str!("../../tapsets/functions.stp"),
    ),
    (
        "<tapset>/stopwatch.stp",
        include_str!("../../tapsets/stopwatch.stp"),
    ),
    (
        "<tapset>/queue_stats.stp",
        include_str!("../../tapsets/queue_stats.stp"),
    ),
    (
        "<tapset>/target_set.stp",
        include_str!("../../tapsets/target_set.stp"),
    ),
    ("<tapset>/this.stp", include_str!("../../tapsets/this.stp")),
    (
        "<tapset>/procmem.stp",
        include_str!("../../tapsets/procmem.stp"),
    ),
    (
        "<tapset>/symbols.stp",
        include_str!("../../tapsets/symbols.stp"),
    ),
];

/// Macro libraries (`.stpm`: only `@define`s, visible to every file), embedded ones first;
/// `-I` directories may bring more.
pub const EMBEDDED_MACROS: &[(&str, &str)] = &[(
    "<tapset>/macros.stpm",
    include_str!("../../tapsets/macros.stpm"),
)];

/// Every tapset source: the embedded ones, then each `-I` directory's `*.stp` files sorted by
/// name, so that later ones may override earlier functions deterministically.
pub fn sources(include_dirs: &[impl AsRef<Path>]) -> std::io::Result<Vec<Source>> {
    with_ext(EMBEDDED, include_dirs, "stp")
}

/// Every macro library: the embedded ones, then each `-I` directory's `*.stpm` files by name
/// (a later definition of a name replaces an earlier one).
pub fn macro_sources(include_dirs: &[impl AsRef<Path>]) -> std::io::Result<Vec<Source>> {
    with_ext(EMBEDDED_MACROS, include_dirs, "stpm")
}

/// A tapset file's name and text: an embedded one's are the program's own (not copied, as
/// most are never parsed), a `-I` directory's are read.
pub type Source = (Cow<'static, str>, Cow<'static, str>);

fn with_ext(
    embedded: &[(&'static str, &'static str)],
    include_dirs: &[impl AsRef<Path>],
    ext: &str,
) -> std::io::Result<Vec<Source>> {
    let mut out: Vec<Source> = embedded
        .iter()
        .map(|&(n, t)| (Cow::Borrowed(n), Cow::Borrowed(t)))
        .collect();
    for dir in include_dirs {
        let mut files: Vec<_> = std::fs::read_dir(dir.as_ref())?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)?;
            out.push((f.display().to_string().into(), text.into()));
        }
    }
    Ok(out)
}

pub use super::tapset_scan::declared;

mod index {
    include!(concat!(env!("OUT_DIR"), "/tapset_index.rs"));
}

/// The names an embedded tapset (named as in `EMBEDDED`) declares, from the index `build.rs`
/// makes with `declared`; None when it is always parsed (it has a probe alias, or is not an
/// embedded tapset).
pub fn embedded_declares(name: &str) -> Option<&'static [&'static str]> {
    let file = name.strip_prefix("<tapset>/")?;
    index::DECLARED
        .iter()
        .find(|(n, _)| *n == file)
        .and_then(|(_, names)| *names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_of_every_embedded_tapset() {
        for (name, text) in EMBEDDED {
            let d = declared(text).unwrap_or_else(|| panic!("{name} has a probe"));
            let heads = text
                .lines()
                .filter(|l| {
                    let l = l.trim_start();
                    l.starts_with("function ") || l.starts_with("private function ")
                })
                .count();
            assert!(d.len() >= heads.min(1), "{name}");
        }
        let d = declared(
            "function a:long(x) { }\nprivate function b() %{ %}\nglobal c, d = 1, e%[3]\n",
        )
        .unwrap();
        for n in ["a", "b", "c", "d", "e"] {
            assert!(d.contains(n), "{n}");
        }
        assert!(declared("probe x = begin { }").is_none());
    }

    /// The build's index is the scan of the text embedded now.
    #[test]
    fn index_matches_the_embedded_text() {
        for (name, text) in EMBEDDED {
            let indexed =
                embedded_declares(name).map(|n| n.iter().map(|s| s.to_string()).collect());
            assert_eq!(indexed, declared(text), "{name}");
        }
    }
}
