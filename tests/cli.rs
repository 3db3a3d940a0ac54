//! The command line's generated documents stay in step with its definition: the committed man
//! page and completions are what the binary prints now (regenerate with `make docs`), and every
//! option `--help` shows is in the man page.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .args(args)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{args:?} failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_default()
}

#[test]
fn man_page_is_current() {
    assert_eq!(
        committed("docs/stp-hwbp.1"),
        run(&["--print-man"]),
        "docs/stp-hwbp.1 is stale: run `make docs`"
    );
}

#[test]
fn completions_are_current() {
    for sh in ["bash", "zsh", "fish"] {
        let file = format!("completions/stp-hwbp.{sh}");
        assert_eq!(
            committed(&file),
            run(&["--print-completions", sh]),
            "{file} is stale: run `make docs`"
        );
    }
}

#[test]
fn help_and_man_page_agree() {
    let help = run(&["--help"]);
    let man = run(&["--print-man"]).replace("\\-", "-");
    for word in help.split_whitespace() {
        let opt = word.trim_end_matches(',').trim_end_matches("...");
        if opt.starts_with('-')
            && opt.len() > 1
            && opt
                .chars()
                .nth(1)
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '-')
        {
            assert!(
                man.contains(opt),
                "`{opt}` is in --help but not in the man page"
            );
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .args(["-p", "9", "x.stp"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    // Refused before anything is built, not after pass 4.
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .args(["-x", "1", "-c", "true", "-e", "probe begin {}"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'-x <PID>' cannot be used with '-c <CMD>'"),
        "{err}"
    );
    // -G needs its `=` (it was taken as VAR= and refused only in pass 5).
    for g in ["limit", "=5"] {
        let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .args(["-G", g, "-p3", "-e", "probe begin {}"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "-G {g}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("expected VAR=VALUE"), "{err}");
    }
}

#[test]
fn missing_script_file_is_an_environment_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .args(["-p1", "/nonexistent/x.stp"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/x.stp"));
}

/// A kernel build tree to build with: the newest installed (CI installs two).
fn some_tree() -> String {
    stp_hwbp::kbuild::tree::installed()
        .pop()
        .expect("a kernel build tree in /lib/modules (run `make setup`)")
}

#[test]
fn build_errors_in_embedded_c_point_at_the_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("bad_c.stp");
    std::fs::write(&script, "function f:long(x:long) %{\n\tSTAP_RETVALUE = STAP_ARG_x + undefined_thing;\n%}\nprobe begin { println(f(1)) exit() }\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .current_dir(dir.path())
        .args(["-g", "-p4", "-r", &some_tree(), "bad_c.stp"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("bad_c.stp:2:"),
        "the error should name line 2 of the script:\n{err}"
    );
    assert!(err.contains("undefined_thing"), "{err}");
}

#[test]
fn running_without_matching_headers_says_what_to_do() {
    // The host's running kernel has no build tree here; the module would not load.
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if stp_hwbp::kbuild::tree::installed().contains(&running.trim().to_string()) {
        return; // this machine could really run it: nothing to check
    }
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .args(["-e", "probe begin { exit() }"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("--vm"), "{err}");
}

/// `stp-hwbp ARGS` in `dir`, without colours.
fn stp_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs")
}

fn stp(args: &[&str]) -> std::process::Output {
    stp_in(std::path::Path::new("."), args)
}

/// Runs `args`, checks the exit status, and returns stderr.
fn stp_status(args: &[&str], status: i32) -> String {
    let out = stp(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(status), "{args:?}: {err}");
    err
}

#[test]
fn timeouts_that_are_not_a_sane_number_of_seconds_are_usage_errors() {
    // Each of these used to reach Duration::from_secs_f64 and panic the binary.
    for t in ["-1", "1e300", "nan", "inf", "0", "-0", "31536001", "ten"] {
        let err = stp_status(&["-p1", "-T", t, "-e", "probe begin { exit() }"], 2);
        assert!(
            err.contains("expected a number of seconds above 0 and at most 31536000"),
            "-T {t} should say what is accepted: {err}"
        );
    }
    for t in ["0.5", "10", "31536000"] {
        stp_status(&["-p1", "-T", t, "-e", "probe begin { exit() }"], 0);
    }
}

#[test]
fn limits_out_of_range_are_refused_with_their_range() {
    let script = "probe begin { exit() }";
    // MAXMAPENTRIES=0 panicked a guest; MAXACTION=-1 meant no limit at all.
    for (d, range) in [
        ("MAXMAPENTRIES=0", "from 1 to 1048576"),
        ("MAXACTION=-1", "from 1 to 1000000"),
        ("MAXACTION=1000001", "from 1 to 1000000"),
        ("MAXNESTING=0", "from 1 to 32"),
        ("MAXBACKTRACE=1000", "from 1 to 64"),
        ("TRYLOCKDELAY=1000000", "from 0 to 100"),
        ("MAXACTION", "needs a value from 1 to 1000000"),
    ] {
        let err = stp_status(&["-p2", "-D", d, "-e", script], 3);
        assert!(err.contains(range), "-D {d} should give the range: {err}");
    }
    let err = stp_status(&["-p2", "-D", "BUFSIZE=5000", "-e", script], 3);
    assert!(err.contains("power of two"), "{err}");
    // Any other macro could change what the kernel's headers mean: guru mode only.
    let err = stp_status(&["-p2", "-D", "CONFIG_SMP=0", "-e", script], 3);
    assert!(err.contains("guru mode"), "{err}");
    stp_status(&["-p3", "-g", "-D", "MY_SETTING=1", "-e", script], 0);
    stp_status(&["-p3", "-D", "MAXACTION=1000000", "-e", script], 0);
}

/// Every text the user controls that reaches C goes through one escaping function per C
/// context (string literal, comment, identifier), or is refused. The script's file name ends
/// up in a comment, `MODULE_DESCRIPTION`, `#line`-less error locations and probe-point
/// strings; its strings and probe points in literals and comments. Each hostile name below
/// once put C at file scope or broke the build; now the module builds with -Werror on every
/// installed tree and its description is the name, byte for byte.
#[test]
fn hostile_text_stays_text_in_the_generated_c() {
    use std::os::unix::ffi::OsStrExt;
    let trees = stp_hwbp::kbuild::tree::installed();
    assert!(
        !trees.is_empty(),
        "no kernel build tree in /lib/modules (run `make setup`)"
    );
    let script = r#"# Strings that would end a C literal or comment if written as they are.
global s = "\"); int y = 1; (\" */ /* ??/ %n \\"
function f:string (x:string) { return x . "\\" }
probe begin {
  printf("%s|%s|%s\n", s, f("??="), "tab\there é \377 */ /*")
  exit()
}
probe kernel.data("pid_max").length(4).write { print("*/ hit\n") }
"#;
    let names: [&[u8]; 3] = [
        // The issue's example: C at file scope, without -g.
        br#"a"); int x = 42; MODULE_INFO(k, ".stp"#,
        // A trailing backslash escaped the description's closing quote.
        b"trailing\\",
        // A path (it is quoted in comments) with comment enders and openers, a trigraph, a
        // format, a newline and text that is not ASCII (names that are not UTF-8 are refused
        // with the other arguments).
        "c */ int z; /* ??/ %n%s \n \u{e9} \\.stp".as_bytes(),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for name in names {
        let file = std::ffi::OsStr::from_bytes(name);
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, script).expect("write the script");
        let base = path.file_name().expect("a file name").as_bytes();
        let shown = String::from_utf8_lossy(name);
        for kver in &trees {
            let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
                .current_dir(dir.path())
                .args(["-p4", "--no-cache", "-r", kver, "-m", "stphwbp_hostile"])
                .arg(file)
                .output()
                .expect("runs");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "a script named {shown:?} does not build for {kver}:\n{err}"
            );
            let ko = dir.path().join("stphwbp_hostile.ko");
            let info = stp_hwbp::run::modinfo::ModInfo::from_file(&ko).expect("modinfo");
            assert_eq!(
                info.get("description"),
                Some(format!("stp-hwbp script {}", String::from_utf8_lossy(base)).as_str()),
                "the description of a script named {shown:?} ({kver})"
            );
            assert_eq!(
                info.get("k"),
                None,
                "a script named {shown:?} added a modinfo entry of its own ({kver})"
            );
            std::fs::remove_file(&ko).expect("remove the module");
        }
    }
}

#[test]
fn module_names_and_defines_that_are_not_identifiers_are_refused() {
    let script = "probe begin { exit() }";
    for m in [r#"a"b"#, "9lives", "a-b", "a b", "x\\", ""] {
        let err = stp_status(&["-p3", "-m", m, "-e", script], 3);
        assert!(err.contains("a C identifier"), "-m {m:?}: {err}");
    }
    for d in [
        r#"MAXACTION=1"x"#,
        "MAXACTION=1 -DFOO",
        "MAXACTION=$(shell id)",
        "A-B=1",
    ] {
        stp_status(&["-p3", "-g", "-D", d, "-e", script], 3);
    }
}

#[test]
fn listing_probe_points_as_systemtap() {
    // A concrete point is checked and echoed; `*` stays within one component.
    assert_eq!(run(&["-l", "timer.ms(5)"]), "timer.ms(5)\n");
    assert_eq!(run(&["-l", "end(-1)"]), "end(-1)\n");
    let one = run(&["-l", "*"]);
    for p in ["begin", "end", "error", "oneshot", "never"] {
        assert!(one.lines().any(|l| l == p), "-l '*' lists {p}: {one}");
    }
    assert!(!one.contains("timer."), "-l '*' is one component: {one}");
    assert!(
        run(&["-l", "timer.*"])
            .lines()
            .all(|l| l.starts_with("timer."))
    );
    // Nothing matching, or a point that would not resolve, is an error.
    for p in ["nosuch", "nosuch.*", "timer.s(0)", "oneshot(1)"] {
        let err = stp_status(&["-l", p], 1);
        assert!(err.contains("no probe point matches"), "-l {p}: {err}");
    }
    assert!(
        run(&["--dump-probe-types"])
            .lines()
            .any(|l| l == "timer.ms(N)")
    );
}

#[test]
fn dump_functions_gives_signatures_and_contexts() {
    let d = run(&["--dump-functions"]);
    for l in [
        "ctime:string () /* context: any */",
        "ctime:string (epochsecs:long) /* context: any */",
        "user_string:string (addr:long, err_msg:string) /* context: any */",
        "data_value:long () /* context: data */",
        "sprint:string (...) /* context: any */",
        "sprintdln:string (delimiter:string, ...) /* context: any */",
    ] {
        assert!(d.lines().any(|x| x == l), "--dump-functions has {l}");
    }
    assert!(!d.contains("__"), "internal helpers stay out of the list");
}

/// The arm64 tree `make setup` unpacks (CI has it; elsewhere the arm64 tests say how to get it).
fn arm64_tree() -> String {
    stp_hwbp::kbuild::tree::foreign(stp_hwbp::target::Arch::Arm64)
        .pop()
        .expect("an arm64 kernel tree under /var/cache/stp-hwbp/arm64 (run `make setup`)")
}

#[test]
fn arm64_cross_build_makes_an_arm64_module() {
    let tree = arm64_tree();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "%( arch == \"arm64\" %? probe kernel.data(\"pid_max\").length(3).read { println(data_value()) } %)\nprobe begin { exit() }\n";
    // Named by -a, and found from the tree alone: both cross-build.
    for args in [vec!["-a", "aarch64", "-r", &tree], vec!["-r", &tree]] {
        let out = stp_in(
            dir.path(),
            &[&args[..], &["-p4", "-m", "stphwbp_a64", "-e", script]].concat(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let ko = std::fs::read(dir.path().join("stphwbp_a64.ko")).expect("the module");
        // ELF e_machine (little-endian u16 at offset 18): 183 is EM_AARCH64.
        assert_eq!(u16::from_le_bytes([ko[18], ko[19]]), 183, "{args:?}");
    }
}

#[test]
fn arch_mismatch_and_unknown_arch_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = stp_in(
        dir.path(),
        &["-a", "sparc64", "-p2", "-e", "probe begin {}"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x86_64 and arm64"));
    let out = stp_in(
        dir.path(),
        &[
            "-a",
            "arm64",
            "-r",
            &some_tree(),
            "-p4",
            "-e",
            "probe begin {}",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("is for x86_64, not arm64"), "{err}");
}

#[test]
fn arm64_modules_are_not_run_here() {
    // Without --vm an x86_64 machine cannot load it (with --vm an arm64 guest runs it: e2e).
    let dir = tempfile::tempdir().expect("tempdir");
    let out = stp_in(dir.path(), &["-a", "arm64", "-e", "probe begin { exit() }"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("-p4") && err.contains("--vm"), "{err}");
}

/// `-p1`, `-p2` and `-p3` (which writes the C as it goes): a reader that stops reading ends
/// the run quietly (`-p3 | head`), and any other write error is an environment error, not a
/// crash.
#[test]
fn pass_output_errors_end_the_run_cleanly() {
    use std::process::Stdio;
    // More text than a pipe holds, so that the run writes to the closed pipe whatever the
    // timing.
    let script = "probe begin { println(\"x\") }\n".repeat(3000);
    for (pass, what) in [
        ("-p1", "the script"),
        ("-p2", "the elaborated script"),
        ("-p3", "the C"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .args([pass, "-e", &script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{pass}: {err}");
        assert!(err.is_empty(), "{pass}: {err}");

        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .args([pass, "-e", "probe begin { exit() }"])
            .stdout(full)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{pass}: {err}");
        assert!(
            err.contains(&format!("cannot write {what} to stdout")),
            "{pass}: {err}"
        );
    }
}

/// What runs no pass (`--dump-functions`, `-l`, `--dump-probe-types`, the man page) ends
/// quietly too when its reader is gone: once a crash ("internal error") under `| head`.
#[test]
fn listing_output_to_a_closed_pipe_ends_quietly() {
    for args in [
        &["--dump-functions"][..],
        &["--dump-probe-types"],
        &["-l", "timer.*"],
        &["--print-man"],
    ] {
        // The read end is closed before the run starts: every write fails, whatever the
        // timing.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .args(args)
            .stdout(writer)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Diagnostics to a closed stderr (`-p2 bad.stp 2>&1 | head -1`) end the run with the status
/// its errors earn, not a panic; so does `-v`'s timing to a closed stderr with `-p3`'s C to a
/// closed stdout.
#[test]
fn closed_stderr_keeps_the_exit_status() {
    let script: String = (0..40)
        .map(|i| format!("probe begin {{ x = y{i} + ; }}\n"))
        .collect();
    for (args, status) in [
        (&["-p2", "-e", script.as_str()][..], 1),
        (&["-v", "-p3", "-e", "probe begin { exit() }"], 0),
    ] {
        // Both read ends are closed before the run starts: every write fails, whatever the
        // timing.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let (out_reader, out_writer) = std::io::pipe().expect("pipe");
        drop(out_reader);
        let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .args(args)
            .stdout(out_writer)
            .stderr(writer)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(status), "{:?}", &args[..2]);
    }
}

/// A script of 64 KiB or more has its heap mapped before the passes start (`prefault_heap` in
/// main.rs); one read from stdin does not (its size is not known first). Both translate to
/// the same C.
#[test]
fn a_prefaulted_heap_translates_the_same() {
    use std::io::Write;
    use std::process::Stdio;
    let script = "global n\n".to_string()
        + &"probe timer.s(1) { n++; printf(\"%d %s\\n\", n, execname()) }\n".repeat(1200);
    assert!(script.len() >= 64 << 10);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("big.stp");
    std::fs::write(&file, &script).expect("write");
    let from_file = stp_in(dir.path(), &["-p3", "big.stp"]);
    assert_eq!(
        from_file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .current_dir(dir.path())
        .args(["-p3", "-m", "stphwbp_big", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let from_stdin = child.wait_with_output().expect("runs");
    writer.join().expect("writer").expect("write");
    assert_eq!(from_stdin.status.code(), Some(0));
    assert!(from_file.stdout.len() > 100_000);
    // Only the name the script goes by differs.
    let renamed = String::from_utf8_lossy(&from_stdin.stdout)
        .replace("<stdin>", "big.stp")
        .replace("from -. Do", "from big.stp. Do")
        .replace("script -\")", "script big.stp\")");
    assert!(
        String::from_utf8_lossy(&from_file.stdout) == renamed,
        "the C differs"
    );
}

/// A -G that names no global of the script, gives a number global text, or a string global more
/// than the kernel passes to a module parameter (1023 bytes), is refused once
/// the module is built, before any guest boots: QEMU is never started (an impossible
/// `STPHWBP_QEMU` would fail otherwise with a different message).
#[test]
fn bad_set_globals_are_refused_before_the_guest_boots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = some_tree();
    let base = [
        "--vm",
        "-r",
        tree.as_str(),
        "-e",
        "global hits = 5, name = \"x\" probe begin { println(hits, name) exit() }",
    ];
    // The kernel refuses a string module parameter of 1024 bytes or more, naming only the
    // module's internal parameter (`g_name: string parameter too long`).
    let long = format!("name={}", "y".repeat(1500));
    for (g, want) in [
        (
            "nosuch=1",
            "no global 'nosuch' that can be set (settable: name, hits)",
        ),
        (
            "hits=abc",
            "global 'hits' is a number, and 'abc' is not one",
        ),
        (
            long.as_str(),
            "-G name=...: the value for global 'name' is 1500 bytes; the kernel passes at most 1023 bytes",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
            .current_dir(dir.path())
            .args(base)
            .args(["-G", g])
            .env("XDG_CACHE_HOME", dir.path())
            .env("STPHWBP_QEMU", "/nonexistent/qemu")
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{g}: {err}");
        assert!(err.contains(want), "{g}: {err}");
    }
}

/// An optional point of a kind stp-hwbp does not have is left out, with a note under -v
/// alone.
#[test]
fn optional_unknown_points_are_noted_under_v() {
    let script = "probe kernel.trace(\"sched_switch\")?, begin { println(1) }";
    let quiet = stp_status(&["-p2", "-e", script], 0);
    assert!(!quiet.contains("NOTE"), "{quiet}");
    let noted = stp_status(&["-v", "-p2", "-e", script], 0);
    assert!(
        noted.lines().any(|l| l
            == "NOTE: optional probe kernel.trace(\"sched_switch\") left out: no probe point has `trace` here"),
        "{noted}"
    );
}

/// Output that cannot be written (`-o` on a full device) is reported as such, with status 3,
/// not as a guest that failed to run. Boots a guest.
#[test]
fn unwritable_output_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = some_tree();
    let out = Command::new(env!("CARGO_BIN_EXE_stp-hwbp"))
        .current_dir(dir.path())
        .args(["--vm", "-r", tree.as_str(), "-o", "/dev/full", "-e"])
        .arg("probe begin { println(\"hi\") exit() }")
        .env("XDG_CACHE_HOME", dir.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("cannot write the output to /dev/full: No space left on device"),
        "{err}"
    );
}

/// The passes run on the main thread once its stack limit may grow to 64 MiB, else on a
/// thread of their own (src/stack.rs). Either way, the deepest nesting the parser accepts, in
/// the constructs that use the most stack per level, translates: under the usual 8 MiB soft
/// limit (raised for the passes) and under an 8 MiB hard limit (the thread).
#[test]
fn the_deepest_accepted_nesting_translates_under_any_stack_limit() {
    let calls = format!(
        "function f(a) {{ return a + 1 }} probe begin {{ x = {}1{}; println(x) }}",
        "f(".repeat(990),
        ")".repeat(990)
    );
    let nested = format!(
        "probe begin {{ x = {}\"a\"{}; println(x) }}",
        "sprintf(\"%s\", ".repeat(990),
        ")".repeat(990)
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in [("calls.stp", &calls), ("nested.stp", &nested)] {
        std::fs::write(dir.path().join(name), text).expect("writes");
        for limits in ["ulimit -S -s 8192", "ulimit -s 8192", "ulimit -S -s 1024"] {
            let out = Command::new("sh")
                .current_dir(dir.path())
                .arg("-c")
                .arg(format!("{limits} && exec \"$0\" -p3 {name}"))
                .arg(env!("CARGO_BIN_EXE_stp-hwbp"))
                .output()
                .expect("runs");
            assert!(
                out.status.success() && out.stdout.starts_with(b"/* Generated by stp-hwbp"),
                "{name} under `{limits}`: {:?}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
