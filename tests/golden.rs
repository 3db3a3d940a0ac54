//! Golden tests: one trial per (pass, script), compared byte for byte with files checked in next
//! to the script. `BLESS=1 cargo nextest run` (or `cargo test`) rewrites the expected files;
//! review is `git diff tests/golden`.
//!
//! For every `tests/golden/NAME.stp`:
//! - `p1::NAME`, `p2::NAME`, `p3::NAME`: stdout of `-p1`/`-p2`/`-p3` against `NAME.p1`, `NAME.p2`,
//!   `NAME.c`; the run must exit 0 with nothing on stderr (unless a `NAME.stderr` says what).
//!   `p3::` trials are listed as ignored while pass 3 does not exist and no `.c` is checked in.
//! - `err_*.stp`: one trial `stderr::NAME` instead, comparing stderr with `NAME.stderr` and
//!   requiring exit status 1 (or the one in `NAME.status`).
//! - `warn_*.stp` (or any script with a `NAME.stderr`): the p1/p2/p3 trials plus `stderr::NAME`
//!   comparing `-p2` stderr with exit status 0 (or `NAME.status`).
//! - `NAME.args`: script arguments, one per line. `NAME.flags`: extra options (whitespace
//!   separated), e.g. `-g`; a `-pN` there sets the pass of the `stderr::` trial (default 2).
//! - `kbuild::KVER::NAME` for every `NAME.c` and every kernel tree `/lib/modules/KVER/build`,
//!   and every arm64 tree `make setup` unpacked (cross-built): the C plus `runtime-c/` built
//!   with kbuild and `-Werror`. `kbuild::arm64_trees` fails in CI when there is none.
//! - `examples::NAME`: every `examples/NAME.stp` must pass `-p2` (arguments from `NAME.args`).
//! - `kbuild::KVER::example_NAME`, `kbuild::KVER::stap_hw_watch_*`: every example, and
//!   SystemTap's `hw_watch_addr.stp`/`hw_watch_sym.stp` unchanged, build with `-p4` on each tree
//!   (arm64 ones included).
//! - `kbuild::KVER::bench_hitcost`: the hit-cost benchmark's modules (`bench/hitcost`) build
//!   with `-Werror` on each tree (`make bench` runs them; no test does).
//! - `generated::*`: inputs too big or too odd to check in (deep nesting), written to a
//!   temporary directory at run time; their stderr is compared with `tests/golden/gen_*.stderr`.
//!
//! Scripts run with the working directory `tests/golden` and a bare file name, so the paths in
//! diagnostics do not depend on where the repository is checked out.

mod common;

use common::{KBUILD_SLOTS, arm64_trees, in_ci, kernel_trees};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_stp-hwbp");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn golden_dir() -> PathBuf {
    Path::new(ROOT).join("tests/golden")
}

fn bless() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

fn read_opt(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// One script with its side files.
#[derive(Clone)]
struct Script {
    dir: PathBuf,
    name: String,
    args: Vec<String>,
    flags: Vec<String>,
}

impl Script {
    fn load(dir: &Path, name: &str) -> Script {
        let args = read_opt(&dir.join(format!("{name}.args")))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default();
        let flags = read_opt(&dir.join(format!("{name}.flags")))
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Script {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            args,
            flags,
        }
    }

    fn side(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.name))
    }

    /// `stp-hwbp FLAGS [-pN] NAME.stp ARGS`, run in the script's directory.
    fn run(&self, pass: Option<u8>) -> Output {
        let mut c = Command::new(BIN);
        c.current_dir(&self.dir).args(&self.flags);
        if let Some(p) = pass {
            c.arg(format!("-p{p}"));
        }
        c.arg(format!("{}.stp", self.name)).args(&self.args);
        c.env_remove("CLICOLOR_FORCE").env("NO_COLOR", "1");
        c.output()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
    }

    /// The pass for the stderr trial: a `-pN` in the flags wins, else 2.
    fn stderr_pass(&self) -> Option<u8> {
        if self.flags.iter().any(|f| f.starts_with("-p")) {
            None
        } else {
            Some(2)
        }
    }

    fn expected_status(&self, default: i32) -> i32 {
        read_opt(&self.side("status"))
            .map(|s| s.trim().parse().expect("NAME.status holds an exit status"))
            .unwrap_or(default)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn status_of(o: &Output) -> String {
    match o.status.code() {
        Some(c) => format!("exit status {c}"),
        None => format!("{}", o.status),
    }
}

/// Compares `actual` with the file `expected`; with BLESS, (re)writes it instead.
fn compare(expected: &Path, actual: &str) -> Result<(), Failed> {
    let old = read_opt(expected);
    if old.as_deref() == Some(actual) {
        return Ok(());
    }
    if bless() {
        std::fs::write(expected, actual)
            .map_err(|e| format!("cannot write {}: {e}", expected.display()))?;
        return Ok(());
    }
    let shown = expected
        .strip_prefix(ROOT)
        .unwrap_or(expected)
        .display()
        .to_string();
    match old {
        None => Err(format!(
            "{shown} is missing; run with BLESS=1 to create it. Actual output:\n{actual}"
        )
        .into()),
        Some(old) => Err(format!(
            "{shown} differs (BLESS=1 rewrites it)\n{}",
            diff(&old, actual)
        )
        .into()),
    }
}

/// A small line diff: the first differing line with some context, enough to see what changed.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let first = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut out = format!(
        "first difference at line {} ({} lines expected, {} actual)\n",
        first + 1,
        a.len(),
        b.len()
    );
    let from = first.saturating_sub(3);
    for (i, l) in a.iter().enumerate().take(first).skip(from) {
        out += &format!("  {:>5}  {l}\n", i + 1);
    }
    for l in a.iter().skip(first).take(8) {
        out += &format!("- {l}\n");
    }
    for l in b.iter().skip(first).take(8) {
        out += &format!("+ {l}\n");
    }
    if old.ends_with('\n') != new.ends_with('\n') {
        out += "(the final newline differs)\n";
    }
    out
}

/// A pass trial: exit 0, stdout compared, stderr empty unless the script expects stderr.
fn pass_trial(s: &Script, pass: u8, ext: &str, stderr_expected: bool) -> Result<(), Failed> {
    let o = s.run(Some(pass));
    let want = s.expected_status(0);
    if o.status.code() != Some(want) {
        return Err(format!(
            "-p{pass} {}.stp: {} (expected {want})\nstderr:\n{}",
            s.name,
            status_of(&o),
            text(&o.stderr)
        )
        .into());
    }
    if !stderr_expected && !o.stderr.is_empty() {
        return Err(format!(
            "-p{pass} {}.stp wrote to stderr (name it warn_*.stp or add a .stderr):\n{}",
            s.name,
            text(&o.stderr)
        )
        .into());
    }
    compare(&s.side(ext), &text(&o.stdout))
}

/// A diagnostics trial: stderr compared, exit status checked even when blessing.
fn stderr_trial(s: &Script, default_status: i32) -> Result<(), Failed> {
    let o = s.run(s.stderr_pass());
    let want = s.expected_status(default_status);
    if o.status.code() != Some(want) {
        return Err(format!(
            "{}.stp: {} (expected {want})\nstderr:\n{}",
            s.name,
            status_of(&o),
            text(&o.stderr)
        )
        .into());
    }
    compare(&s.side("stderr"), &text(&o.stderr))
}

/// Whether this build has pass 3: `-p3` on a trivial script succeeds.
fn have_pass3() -> bool {
    Command::new(BIN)
        .args(["-p3", "-e", "probe begin { exit() }"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds tests/golden/NAME.c against one kernel tree with pass 4 itself
/// (`stp_hwbp::kbuild::build`: the same build directory, Kbuild file and runtime headers),
/// named as pass 4 names a module built from NAME.stp.
fn kbuild_trial(kver: &str, name: &str) -> Result<(), Failed> {
    let c = std::fs::read_to_string(golden_dir().join(format!("{name}.c")))
        .map_err(|e| format!("read {name}.c: {e}"))?;
    let tree = stp_hwbp::kbuild::tree::find(Some(kver), None)?;
    let module = stp_hwbp::kbuild::module_name(Some(&format!("{name}.stp")), "");
    let _slot = KBUILD_SLOTS.take();
    let built = stp_hwbp::kbuild::build(&c, &module, &tree, &[], None)
        .map_err(|e| format!("kbuild of {name}.c against {kver} failed: {e}"))?;
    if !built.ko.exists() {
        return Err(format!("kbuild of {name}.c made no {module}.ko").into());
    }
    Ok(())
}

/// Builds bench/hitcost (the benchmark target and the hand-written reference handler) against
/// one kernel tree with `-Werror`, in a copy so that the source folder stays clean.
fn bench_hitcost_trial(kver: &str) -> Result<(), Failed> {
    let _slot = KBUILD_SLOTS.take();
    let fail = |e: String| format!("kbuild of bench/hitcost against {kver} failed:\n{e}");
    let tmp = common::build_external(
        kver,
        &Path::new(ROOT).join("bench/hitcost"),
        &["Kbuild", "hitcost_bench.c", "hitcost_ref.c"],
        &["KCFLAGS=-Werror"],
    )
    .map_err(fail)?;
    for m in ["hitcost_bench.ko", "hitcost_ref.ko"] {
        if !tmp.path().join(m).exists() {
            return Err(fail(format!("{m} was not made")).into());
        }
    }
    Ok(())
}

fn generated() -> Vec<(&'static str, String)> {
    const N: usize = 5000;
    vec![
        (
            "deep_parens",
            format!(
                "probe begin {{\n  x = {}1{}\n  println(x)\n}}\n",
                "(\n".repeat(N),
                ")".repeat(N)
            ),
        ),
        (
            "deep_blocks",
            format!(
                "probe begin {}\n  exit()\n{}\n",
                "{\n".repeat(N + 1),
                "}".repeat(N + 1)
            ),
        ),
        (
            "deep_unary",
            format!(
                "probe begin {{\n  x = {}1\n  println(x)\n}}\n",
                "-\n".repeat(N)
            ),
        ),
        (
            "deep_ifs",
            format!("probe begin {{\n{}  exit()\n}}\n", "if (1)\n".repeat(N)),
        ),
        // Each `else if` nests the rest of its chain one level deeper.
        (
            "deep_else_ifs",
            format!(
                "probe begin {{\n  x = 0\n  if (x == 0) x = 1\n{}  exit()\n}}\n",
                (1..N)
                    .map(|i| format!("  else if (x == {i}) x = 1\n"))
                    .collect::<String>()
            ),
        ),
        // One byte over the 8 MiB limit, mostly one comment.
        (
            "too_large",
            format!(
                "probe begin {{ exit() }}\n/*{}*/\n",
                " ".repeat((8 << 20) - 27)
            ),
        ),
    ]
}

fn generated_trial(name: &str, script: &str) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    std::fs::write(tmp.path().join(format!("{name}.stp")), script)
        .map_err(|e| format!("write: {e}"))?;
    let s = Script {
        dir: tmp.path().to_path_buf(),
        name: name.to_string(),
        args: vec![],
        flags: vec![],
    };
    let o = s.run(Some(2));
    if o.status.code() != Some(1) {
        return Err(format!(
            "{name}.stp: {} (expected 1)\nstderr:\n{}",
            status_of(&o),
            text(&o.stderr)
        )
        .into());
    }
    compare(
        &golden_dir().join(format!("gen_{name}.stderr")),
        &text(&o.stderr),
    )
}

fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(&format!(".{ext}")).map(str::to_string))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn main() {
    let args = Arguments::from_args();
    let gdir = golden_dir();
    let scripts = stems(&gdir, "stp");
    let cfiles = stems(&gdir, "c");
    let pass3 = have_pass3();
    // Without pass 3 and with no C checked in yet, the p3 trials are shown as ignored; once any
    // NAME.c exists they always run, so a pass 3 that breaks fails rather than vanishes.
    let skip_p3 = !pass3 && cfiles.is_empty();
    let mut trials = vec![];

    for name in &scripts {
        let s = Script::load(&gdir, name);
        if name.starts_with("err_") {
            trials.push(Trial::test(format!("stderr::{name}"), move || {
                stderr_trial(&s, 1)
            }));
            continue;
        }
        let warns = name.starts_with("warn_") || s.side("stderr").exists();
        for (pass, ext) in [(1u8, "p1"), (2, "p2"), (3, "c")] {
            let s = s.clone();
            let t = Trial::test(format!("p{pass}::{name}"), move || {
                pass_trial(&s, pass, ext, warns)
            });
            trials.push(if pass == 3 {
                t.with_ignored_flag(skip_p3)
            } else {
                t
            });
        }
        if warns {
            trials.push(Trial::test(format!("stderr::{name}"), move || {
                stderr_trial(&s, 0)
            }));
        }
    }

    for (name, script) in generated() {
        trials.push(Trial::test(format!("generated::{name}"), move || {
            generated_trial(name, &script)
        }));
    }

    let trees = kernel_trees();
    let ci = in_ci();
    {
        let few = trees.len() < 3;
        let trees = trees.clone();
        // Always listed, so a machine without trees says so; in CI it fails.
        let t = Trial::test("kbuild::trees", move || {
            if trees.len() < 3 {
                return Err(format!("kernel build trees found: {trees:?}; at least 3 are needed (install linux-headers-amd64, linux-headers-6.12-amd64 and linux-headers-rt-amd64, or run `make setup`)").into());
            }
            Ok(())
        });
        trials.push(t.with_ignored_flag(!ci && few));
    }
    // The arm64 trees (cross builds): every golden C and every example builds there too.
    let arm = arm64_trees();
    {
        let none = arm.is_empty();
        let t = Trial::test("kbuild::arm64_trees", move || {
            if none {
                return Err(format!("no arm64 kernel build tree under {} (run `make setup`, which unpacks linux-headers-6.12.117+deb12-arm64 there)", stp_hwbp::kbuild::tree::foreign_root(stp_hwbp::target::Arch::Arm64).display()).into());
            }
            Ok(())
        });
        trials.push(t.with_ignored_flag(!ci && none));
    }
    let all_trees: Vec<String> = trees.iter().chain(&arm).cloned().collect();
    for kver in &all_trees {
        for name in &cfiles {
            let (k, n) = (kver.clone(), name.clone());
            trials.push(Trial::test(format!("kbuild::{kver}::{name}"), move || {
                kbuild_trial(&k, &n)
            }));
        }
    }

    // The hit-cost benchmark's modules (bench/hitcost, run by `make bench`, never by a test)
    // must still build, warning-free, on every tree.
    for kver in &trees {
        let k = kver.clone();
        trials.push(Trial::test(
            format!("kbuild::{kver}::bench_hitcost"),
            move || bench_hitcost_trial(&k),
        ));
    }

    let edir = Path::new(ROOT).join("examples");
    for name in stems(&edir, "stp") {
        let s = Script::load(&edir, &name);
        trials.push(Trial::test(format!("examples::{name}"), move || {
            let o = s.run(Some(2));
            if !o.status.success() {
                return Err(format!(
                    "-p2 examples/{name}.stp: {}\n{}",
                    status_of(&o),
                    text(&o.stderr)
                )
                .into());
            }
            Ok(())
        }));
    }

    // Every example, and SystemTap's own hardware-watchpoint examples unchanged, build with
    // -p4 on every tree (named kbuild:: so they share the kbuild test group).
    let stap_examples = Path::new("/usr/share/systemtap/examples/memory");
    let mut builds: Vec<(String, PathBuf, Vec<String>)> = stems(&edir, "stp")
        .into_iter()
        .map(|n| {
            let args = std::fs::read_to_string(edir.join(format!("{n}.args")))
                .map(|a| a.lines().map(str::to_string).collect())
                .unwrap_or_default();
            (format!("example_{n}"), edir.join(format!("{n}.stp")), args)
        })
        .collect();
    builds.push((
        "stap_hw_watch_addr".into(),
        stap_examples.join("hw_watch_addr.stp"),
        vec!["0xffffffff82000000".into()],
    ));
    builds.push((
        "stap_hw_watch_sym".into(),
        stap_examples.join("hw_watch_sym.stp"),
        vec!["pid_max".into()],
    ));
    for kver in &all_trees {
        for (name, script, args) in &builds {
            let (k, script, args) = (kver.clone(), script.clone(), args.clone());
            trials.push(Trial::test(format!("kbuild::{kver}::{name}"), move || {
                if !script.exists() {
                    return Err(format!(
                        "{} is missing (install systemtap-doc, or run `make setup`)",
                        script.display()
                    )
                    .into());
                }
                let _slot = KBUILD_SLOTS.take();
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let o = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
                    .current_dir(dir.path())
                    .args(["-p4", "-r", &k, "-m", "stphwbp_example"])
                    .arg(&script)
                    .args(&args)
                    .output()
                    .map_err(|e| e.to_string())?;
                if !o.status.success() || !dir.path().join("stphwbp_example.ko").exists() {
                    return Err(format!(
                        "-p4 {}: {}\n{}",
                        script.display(),
                        status_of(&o),
                        text(&o.stderr)
                    )
                    .into());
                }
                Ok(())
            }));
        }
    }

    libtest_mimic::run(&args, trials).exit();
}
