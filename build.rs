//! Indexes the embedded tapsets at build time: the names each one declares
//! (`src/sema/tapset_scan.rs`), so that a run decides which tapsets a script needs without
//! scanning their text.

#[path = "src/sema/tapset_scan.rs"]
mod tapset_scan;

use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=tapsets");
    println!("cargo:rerun-if-changed=src/sema/tapset_scan.rs");
    let mut files: Vec<_> = std::fs::read_dir("tapsets")
        .expect("the tapsets directory")
        .map(|e| e.expect("a tapsets entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "stp"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The names each embedded tapset declares, by file name (`None`: always parsed).\n\
         pub const DECLARED: &[(&str, Option<&[&str]>)] = &[\n",
    );
    for f in files {
        let text = std::fs::read_to_string(&f).expect("a readable tapset");
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name");
        match tapset_scan::declared(&text) {
            Some(names) => {
                let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                let _ = writeln!(out, "    ({name:?}, Some(&[{}])),", list.join(", "));
            }
            None => {
                let _ = writeln!(out, "    ({name:?}, None),");
            }
        }
    }
    out.push_str("];\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("tapset_index.rs");
    std::fs::write(dest, out).expect("write the tapset index");
}
