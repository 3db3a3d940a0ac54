//! The declaration scan of a tapset file, shared by the crate and by `build.rs` (which includes
//! this file by path, so it uses nothing but `std`): the build indexes the embedded tapsets
//! with it, and the crate runs it on nothing at run time but checks the index against it in a
//! test.

use std::collections::BTreeSet;

/// The functions and globals a tapset declares, found by a scan of its lines (`function NAME`,
/// `global A, B = 1, C%`, each optionally `private`), so that a script that names none of them
/// does not pay for parsing it. None when the file holds something the scan cannot see through
/// (a probe alias): it is then always parsed. A name too many only costs a parse; the embedded
/// tapsets are written one declaration head per line.
pub fn declared(text: &str) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_start();
        let l = l.strip_prefix("private ").map(str::trim_start).unwrap_or(l);
        if l.starts_with("probe ") || l.starts_with("probe\t") {
            return None;
        }
        let ident = |rest: &str| -> String {
            rest.trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(rest) = l.strip_prefix("function ") {
            names.insert(ident(rest));
        } else if let Some(rest) = l.strip_prefix("global ") {
            names.extend(rest.split(',').map(ident));
        }
    }
    Some(names)
}
