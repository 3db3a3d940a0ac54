//! The module cache (src/kbuild/cache.rs) through the command line: a hit and a miss as `-v`
//! reports them, a damaged entry noticed and rebuilt, `--no-cache`, two runs building the same
//! module at once, and the least recently used entry dropped past the size bound; and kbuild's
//! recorded commands (src/kbuild/recipe.rs) replayed for a new script, giving the module the
//! full kbuild gives, on every installed tree. Every test builds real modules against the
//! oldest installed kernel tree (missing one fails) unless it says otherwise, and owns its
//! cache directory (`XDG_CACHE_HOME`), never the user's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SCRIPT: &str = "global n\nprobe kernel.data(0xffffffff82000000).length(4).write { n++ }\nprobe end { printf(\"%d\\n\", n) }\n";

fn tree() -> String {
    stp_hwbp::kbuild::tree::installed()
        .into_iter()
        .next()
        .expect("a kernel build tree in /lib/modules (run `make setup`)")
}

struct Env {
    work: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let e = Env {
            work: tempfile::tempdir().expect("tempdir"),
            cache: tempfile::tempdir().expect("tempdir"),
        };
        for (name, text) in [
            ("one.stp", SCRIPT.to_string()),
            ("two.stp", SCRIPT.replace("%d", "n=%d")),
        ] {
            std::fs::write(e.work.path().join(name), text).expect("write a script");
        }
        e
    }

    /// `stp-hwbp -v -p4 -r TREE ARGS` in the work directory, with this cache.
    fn p4(&self, args: &[&str], max: Option<&str>) -> Command {
        self.p4_on(&tree(), args, max)
    }

    fn p4_on(&self, tree: &str, args: &[&str], max: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"));
        c.current_dir(self.work.path())
            .env("XDG_CACHE_HOME", self.cache.path())
            .env_remove("STP_HWBP_CACHE_MAX")
            .env("NO_COLOR", "1")
            .args(["-v", "-p4", "-r", tree])
            .args(args);
        if let Some(m) = max {
            c.env("STP_HWBP_CACHE_MAX", m);
        }
        c
    }

    /// Runs and returns stderr, checking that the module was written here.
    fn run(&self, args: &[&str], max: Option<&str>) -> String {
        ok(self.p4(args, max).output().expect("runs"))
    }

    fn dir(&self) -> PathBuf {
        self.cache.path().join("stp-hwbp")
    }

    /// The cache's entries (directories named by their key; `recipes` holds no modules).
    fn entries(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir())
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && name != "recipes"
        });
        v.sort();
        v
    }
}

fn ok(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stp-hwbp -p4 failed:\n{err}");
    err
}

fn hit(err: &str) -> bool {
    err.contains("Pass 4: cache hit")
}

fn miss(err: &str) -> bool {
    err.contains("Pass 4: cache miss, built by") && err.contains(" and stored in")
}

/// The module's code and metadata as tools show them, without its file name.
fn shape(ko: &Path) -> String {
    let tool = |cmd: &str, args: &[&str]| {
        let out = Command::new(cmd)
            .args(args)
            .arg(ko)
            .output()
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        assert!(out.status.success(), "{cmd} {}", ko.display());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let name = ko.display().to_string();
        text.lines()
            .filter(|l| !l.contains(&name))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sections: String = tool("objdump", &["-h"])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && f[0].parse::<u32>().is_ok()).then(|| format!("{} {}\n", f[1], f[2]))
        })
        .collect();
    format!(
        "{}\n{}\n{sections}",
        tool("objdump", &["-d"]),
        tool("modinfo", &[])
    )
}

#[test]
fn a_new_script_replays_kbuilds_recorded_commands_on_every_tree() {
    let trees = stp_hwbp::kbuild::tree::installed();
    assert!(!trees.is_empty(), "no kernel tree (run `make setup`)");
    for tree in &trees {
        let e = Env::new();
        let run = |args: &[&str]| ok(e.p4_on(tree, args, None).output().expect("runs"));
        let first = run(&["one.stp"]);
        assert!(
            first.contains("built by kbuild and stored"),
            "{tree}: {first}"
        );
        let second = run(&["two.stp"]);
        assert!(
            second.contains("built by replaying kbuild's recorded commands"),
            "{tree}: {second}"
        );
        let ko = e.work.path().join("stphwbp_two.ko");
        let replayed = shape(&ko);
        let full = run(&["--no-cache", "two.stp"]);
        assert!(full.contains("module cache not used"), "{tree}: {full}");
        assert_eq!(
            replayed,
            shape(&ko),
            "{tree}: the replayed build differs from the full kbuild"
        );
        // A recipe that no longer works (here: its compile command) costs only the speed.
        let recipes = e.dir().join("recipes");
        for r in std::fs::read_dir(&recipes).expect("recipes").flatten() {
            let file = r.path().join("recipe");
            let text = std::fs::read_to_string(&file).expect("recipe");
            let broken: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.contains("-c -o") {
                        "run false".into()
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            std::fs::write(&file, broken.join("\n") + "\n").expect("write");
        }
        std::fs::write(
            e.work.path().join("three.stp"),
            SCRIPT.replace("%d", "three %d"),
        )
        .expect("write");
        let third = run(&["three.stp"]);
        assert!(
            third.contains("by kbuild (replaying its recorded commands failed:"),
            "{tree}: {third}"
        );
        assert!(e.work.path().join("stphwbp_three.ko").exists());
        // That full kbuild recorded the recipe anew: the next script replays again.
        std::fs::write(
            e.work.path().join("four.stp"),
            SCRIPT.replace("%d", "four %d"),
        )
        .expect("write");
        let fourth = run(&["four.stp"]);
        assert!(
            fourth.contains("built by replaying kbuild's recorded commands"),
            "{tree}: {fourth}"
        );
    }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

#[test]
fn a_second_run_hits_and_gives_the_same_module() {
    let e = Env::new();
    let ko = e.work.path().join("stphwbp_one.ko");
    let first = e.run(&["one.stp"], None);
    assert!(miss(&first), "{first}");
    let built = read(&ko);
    std::fs::remove_file(&ko).expect("rm");
    let second = e.run(&["one.stp"], None);
    assert!(hit(&second), "{second}");
    assert_eq!(read(&ko), built, "a hit gives other bytes than the build");
    // The module's name is part of the key: the same C under another name is built anew.
    let renamed = e.run(&["-m", "stphwbp_other", "one.stp"], None);
    assert!(miss(&renamed), "{renamed}");
    assert!(e.work.path().join("stphwbp_other.ko").exists());
    // So are the -D limits that reach kbuild.
    let limited = e.run(&["-D", "MAXACTION=500", "one.stp"], None);
    assert!(miss(&limited), "{limited}");
    assert_eq!(e.entries().len(), 3, "{:?}", e.entries());
}

#[test]
fn a_damaged_entry_is_rebuilt() {
    let e = Env::new();
    assert!(miss(&e.run(&["one.stp"], None)));
    let [entry] = &e.entries()[..] else {
        panic!("one entry expected: {:?}", e.entries())
    };
    let cached = entry.join("stphwbp_one.ko");
    // One byte changed: the checksum catches it.
    let mut bytes = read(&cached);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&cached, &bytes).expect("write");
    let err = e.run(&["one.stp"], None);
    assert!(
        err.contains("was damaged") && err.contains("checksum"),
        "{err}"
    );
    assert!(miss(&err), "{err}");
    assert!(hit(&e.run(&["one.stp"], None)));
    // Truncated, as a crash mid-copy would leave it.
    let [entry] = &e.entries()[..] else {
        panic!("one entry expected: {:?}", e.entries())
    };
    let cached = entry.join("stphwbp_one.ko");
    let bytes = read(&cached);
    std::fs::write(&cached, &bytes[..bytes.len() / 3]).expect("write");
    let err = e.run(&["one.stp"], None);
    assert!(
        err.contains("was damaged") && err.contains("bytes"),
        "{err}"
    );
    assert!(miss(&err), "{err}");
    let rebuilt = read(&e.work.path().join("stphwbp_one.ko"));
    assert!(
        rebuilt.len() > bytes.len() / 2,
        "the truncated module was used"
    );
    assert!(hit(&e.run(&["one.stp"], None)));
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let e = Env::new();
    let err = e.run(&["--no-cache", "one.stp"], None);
    assert!(err.contains("Pass 4: module cache not used"), "{err}");
    assert!(e.entries().is_empty(), "{:?}", e.entries());
    assert!(miss(&e.run(&["one.stp"], None)));
    let err = e.run(&["--no-cache", "one.stp"], None);
    assert!(!hit(&err) && err.contains("not used"), "{err}");
    // A size bound of 0 turns the cache off too; a malformed one is refused.
    let err = e.run(&["two.stp"], Some("0"));
    assert!(err.contains("not used"), "{err}");
    let out = e.p4(&["two.stp"], Some("lots")).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("STP_HWBP_CACHE_MAX=lots"), "{err}");
}

#[test]
fn concurrent_runs_of_one_script_both_succeed() {
    let e = Env::new();
    let spawn = || {
        e.p4(&["-m", "stphwbp_same", "one.stp"], None)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let err = ok(child.expect("spawn").wait_with_output().expect("wait"));
        assert!(miss(&err) || hit(&err), "{err}");
    }
    assert_eq!(e.entries().len(), 1, "{:?}", e.entries());
    let third = e.run(&["-m", "stphwbp_same", "one.stp"], None);
    assert!(hit(&third), "{third}");
}

#[test]
fn the_least_recently_used_entry_is_dropped_past_the_bound() {
    let e = Env::new();
    assert!(miss(&e.run(&["one.stp"], None)));
    let one = std::fs::metadata(e.work.path().join("stphwbp_one.ko"))
        .expect("built")
        .len();
    // A bound that holds one module but not two.
    let bound = format!("{}", one + one / 2);
    assert!(miss(&e.run(&["two.stp"], Some(&bound))));
    assert_eq!(e.entries().len(), 1, "{:?}", e.entries());
    assert!(hit(&e.run(&["two.stp"], Some(&bound))));
    assert!(miss(&e.run(&["one.stp"], Some(&bound))), "one.stp was kept");
}
